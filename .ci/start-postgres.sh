#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the integration tests; idempotent.
#   usage: .ci/start-postgres.sh [DATA_DIR] [PORT]     (defaults: /tmp/recon-pg 55432)
# Run as root on Debian: installs the `postgresql` package when no initdb is found,
# initialises DATA_DIR (trust auth, owned by `postgres`) unless it already holds a cluster,
# starts the server on 127.0.0.1:PORT unless it is running, creates database recon_test,
# and prints the SQLAlchemy URL as its last line, e.g. for
#   export RECON_TEST_PG_URL=$(.ci/start-postgres.sh | tail -n 1)
set -euo pipefail

data_dir=${1:-${RECON_PG_DATA:-/tmp/recon-pg}}
port=${2:-${RECON_PG_PORT:-55432}}
db=recon_test

log() { echo "start-postgres: $*" >&2; }

find_bin() {
    # The newest installed major version.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL is not installed and installing it needs root"; exit 1
    fi
    log "installing postgresql with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
fi
bin=$(find_bin)
[ -x "$bin/initdb" ] || { log "initdb not found under /usr/lib/postgresql"; exit 1; }

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

if [ ! -s "$data_dir/PG_VERSION" ]; then
    log "initialising a cluster in $data_dir"
    mkdir -p "$data_dir"
    chown postgres:postgres "$data_dir"
    chmod 700 "$data_dir"
    as_postgres "$bin/initdb" -D "$data_dir" -A trust -U postgres -E UTF8 >&2
fi

if as_postgres "$bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1; then
    log "server already running in $data_dir"
else
    log "starting the server on 127.0.0.1:$port"
    # The socket goes into the data dir: /var/run/postgresql may not exist or be writable.
    as_postgres "$bin/pg_ctl" -D "$data_dir" -w -t 60 -l "$data_dir/server.log" \
        -o "-h 127.0.0.1 -p $port -k $data_dir -c fsync=off -c max_connections=200" start >&2
fi

psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE $db" >&2
fi

echo "postgresql+psycopg://postgres@127.0.0.1:$port/$db"
