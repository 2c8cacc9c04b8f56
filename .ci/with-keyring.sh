#!/usr/bin/env bash
# Run a command inside a fresh D-Bus session with an unlocked gnome-keyring (Secret Service),
# so that keyring's default backend selection finds SecretService, as on a desktop.
#   bash .ci/with-keyring.sh CMD [ARGS...]     exits with CMD's status
# Installs gnome-keyring and dbus with apt when missing (as root). The keyring lives in a
# throwaway directory and its daemon is stopped afterwards: a user's real keyring is never
# touched and nothing is left running.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: bash .ci/with-keyring.sh CMD [ARGS...]" >&2
  exit 2
fi

missing() {
  ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null ||
    ! command -v dbus-send >/dev/null
}
if missing; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "with-keyring: installing gnome-keyring and dbus" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnome-keyring dbus dbus-bin >/dev/null
  else
    echo "with-keyring: gnome-keyring-daemon, dbus-run-session or dbus-send is missing;" \
         "install them as root: apt-get install gnome-keyring dbus dbus-bin" >&2
    exit 127
  fi
fi

keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
mkdir -p "$keyring_home/data" "$keyring_home/run"
chmod 700 "$keyring_home/run"
# The daemon keeps its files under XDG_DATA_HOME / XDG_RUNTIME_DIR; CMD gets the caller's.
export WK_HOME="$keyring_home" WK_DATA_HOME="${XDG_DATA_HOME-}" WK_RUNTIME_DIR="${XDG_RUNTIME_DIR-}"
export WK_HAD_DATA_HOME="${XDG_DATA_HOME+1}" WK_HAD_RUNTIME_DIR="${XDG_RUNTIME_DIR+1}"

# Inside the session: start the daemon in the foreground (so that its pid is ours to stop)
# with a known password, which creates and unlocks the default "login" collection; wait
# until it owns org.freedesktop.secrets (otherwise D-Bus activation could start a second,
# locked one); run CMD; stop the daemon; exit with CMD's status.
# shellcheck disable=SC2016
XDG_DATA_HOME="$keyring_home/data" XDG_RUNTIME_DIR="$keyring_home/run" \
dbus-run-session -- sh -c '
  printf %s ci-keyring | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >/dev/null 2>"$WK_HOME/daemon.log" &
  daemon=$!
  tries=0
  until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
          org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q "boolean true"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$daemon" 2>/dev/null; then
      echo "with-keyring: gnome-keyring-daemon did not come up:" >&2
      cat "$WK_HOME/daemon.log" >&2
      kill "$daemon" 2>/dev/null
      exit 1
    fi
    sleep 0.1
  done
  if [ -n "$WK_HAD_DATA_HOME" ]; then export XDG_DATA_HOME="$WK_DATA_HOME"; else unset XDG_DATA_HOME; fi
  if [ -n "$WK_HAD_RUNTIME_DIR" ]; then export XDG_RUNTIME_DIR="$WK_RUNTIME_DIR"; else unset XDG_RUNTIME_DIR; fi
  unset WK_HOME WK_DATA_HOME WK_RUNTIME_DIR WK_HAD_DATA_HOME WK_HAD_RUNTIME_DIR
  status=0
  "$@" || status=$?
  kill "$daemon" 2>/dev/null
  wait "$daemon" 2>/dev/null
  exit "$status"
' with-keyring "$@"
