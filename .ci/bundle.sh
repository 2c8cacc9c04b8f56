#!/usr/bin/env bash
# Build the PyInstaller bundle and check that it behaves like the development install
# (issue 6's acceptance list). Exits non-zero on the first failure.
#   bash .ci/bundle.sh
# Needs .venv with the app installed (.ci/run's set-up), and for the keyring steps
# gnome-keyring + dbus (.ci/with-keyring.sh installs them when run as root).
# RECON_BUNDLE_SKIP_BUILD=1 checks an existing dist/recon-console/ without rebuilding.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
py=.venv/bin/python
app=dist/recon-console/recon-console
dev=.venv/bin/recon-console
t0=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "bundle: FAILED: $*" >&2; exit 1; }
step() { echo "== bundle: $* ($((SECONDS - t0)) s)"; }

if [ "${RECON_BUNDLE_SKIP_BUILD:-0}" != 1 ]; then
  step "build (packaging/build.sh)"
  PYTHON=$py bash packaging/build.sh
fi
[ -x "$app" ] || fail "$app is missing"
archive=$(ls -t dist/recon-console-*.tar.gz 2>/dev/null | head -n1)
[ -n "$archive" ] && tar -tzf "$archive" recon-console/recon-console >/dev/null ||
  fail "no archive in dist/ holding recon-console/recon-console"

step "contents: what pyqtgraph needs is in, what the app never uses is out"
internal=dist/recon-console/_internal
for f in PySide6/QtOpenGL.abi3.so PySide6/QtOpenGLWidgets.abi3.so PySide6/QtSvg.abi3.so \
         PySide6/Qt/plugins/platforms/libqoffscreen.so PySide6/Qt/plugins/platforms/libqxcb.so \
         console/_build_info.json console/store/migrations/env.py \
         console/store/migrations/script.py.mako \
         console/resources/styles/dark.qss console/resources/styles/light.qss \
         console/resources/icons/recon-console.svg console/resources/icons/png/recon-console-16.png \
         console/resources/icons/png/recon-console-512.png console/resources/recon-console.desktop \
         console/resources/grafana/recon-console.json; do
  [ -e "$internal/$f" ] || fail "missing from the bundle: $f"
done
# resources/ arrives whole: every file the wheel carries (pyproject.toml's package data).
"$py" - "$internal" <<'PY' || fail "resources/ differs between the source tree and the bundle"
import pathlib, sys, tomllib
internal = pathlib.Path(sys.argv[1]) / "console" / "resources"
with open("pyproject.toml", "rb") as f:
    patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["console.resources"]
src = pathlib.Path("resources")
want = sorted({p.relative_to(src) for pattern in patterns for p in src.glob(pattern)})
bad = [str(rel) for rel in want
       if not (internal / rel).is_file() or (internal / rel).read_bytes() != (src / rel).read_bytes()]
if bad:
    sys.exit(f"missing or different in {internal}: {bad}")
print(f"{len(want)} resource files, identical to resources/")
PY
ls "$internal"/console/store/migrations/versions/0001_*.py >/dev/null 2>&1 ||
  fail "missing from the bundle: the Alembic revisions"
ls -d "$internal"/keyring-*.dist-info >/dev/null 2>&1 ||
  fail "keyring's metadata (its backends' entry points) is missing"
.venv/bin/pyi-archive_viewer -r -b "$app" > "$work/modules.txt" 2>/dev/null ||
  fail "cannot list the bundle's Python modules"
"$py" - "$work/modules.txt" "$internal" <<'PY'
import pathlib, re, sys
listing, internal = sys.argv[1], pathlib.Path(sys.argv[2])
mods = {line.strip() for line in open(listing) if line.strip()}
need = ["console.sim.scenarios", "console.sim.bybit.server", "console.bootstrap_gui",
        "console.sim.binance.server", "console.venues.binance.client",
        "ccxt.async_support.binance", "ccxt.async_support.binanceusdm",
        "console.version", "console.ui.assets",
        "keyring.backends.SecretService", "secretstorage",
        "jeepney.io.blocking", "alembic.op", "pybit.unified_trading", "aiohttp",
        "prometheus_client", "platformdirs", "tenacity", "qasync", "pyqtgraph", "numpy",
        "psycopg", "sqlalchemy.dialects.postgresql.psycopg"]
banned = re.compile(r"^(pytest|_pytest|pytestqt|hypothesis|keyrings|tkinter|_tkinter|"
                    r"setuptools|pkg_resources|PyQt5|PyQt6|PySide2)(\.|$)")
missing = [m for m in need if m not in mods]
present = sorted(m for m in mods if banned.match(m))
qt_out = ["QtQml", "QtQuick", "QtNetwork", "QtWebEngineCore", "QtMultimedia", "Qt3DCore",
          "QtPrintSupport", "QtDesigner"]
present += [f"PySide6.{q}" for q in qt_out
            if list(internal.glob(f"PySide6/{q}.*")) or list(internal.glob(f"PySide6/Qt/lib/libQt6{q[2:]}.*"))]
present += [p.name for p in internal.glob("libgtk-3*")]
if missing or present:
    sys.exit(f"bundle: FAILED: modules missing {missing}; excluded but present {present}")
print(f"{len(mods)} modules; required ones present, excluded ones absent")
PY

step "frozen self-test, offscreen, no keyring"
# It also proves the frozen app finds its resources: ensure_app() sets the window icon and
# the theme applies its stylesheet, both read through importlib.resources, and either
# raises when its file is missing.
"$app" --self-test > "$work/selftest.txt" 2>&1 || { cat "$work/selftest.txt"; fail "self-test"; }
grep -E "^(reconciliation|self-test|keyring)" "$work/selftest.txt" | cut -c1-160

step "frozen self-test inside D-Bus with an unlocked gnome-keyring"
bash .ci/with-keyring.sh "$app" --self-test > "$work/selftest-kr.txt" 2>&1 ||
  { cat "$work/selftest-kr.txt"; fail "self-test under with-keyring"; }
grep -q "keyring backend: keyring.backends.SecretService.Keyring (secure)" \
  "$work/selftest-kr.txt" || { cat "$work/selftest-kr.txt"; fail "SecretService not in use"; }
grep "keyring backend" "$work/selftest-kr.txt"

step "frozen app stores, reads and deletes a credential in the Secret Service"
cat > "$work/credentials.sh" <<EOF
set -eu
export RECON_CONSOLE_CONFIG="$work/profiles.toml"
"$app" profiles add bundle-ci --venue bybit --network testnet
printf 'BUNDLEKEY4242\nbundle-secret-value\n' | "$app" credentials set bundle-ci
"$app" credentials check bundle-ci
echo "dev install reads it: \$("$dev" credentials check bundle-ci)"
"$app" credentials delete bundle-ci
if "$app" credentials check bundle-ci 2>/dev/null; then echo "still there after delete"; exit 1; fi
EOF
bash .ci/with-keyring.sh bash "$work/credentials.sh" > "$work/credentials.txt" 2>"$work/credentials.err" ||
  { cat "$work/credentials.txt" "$work/credentials.err"; fail "credential round trip"; }
cat "$work/credentials.txt"
[ "$(grep -c "key BUND… in keyring.backends.SecretService.Keyring" "$work/credentials.txt")" = 2 ] ||
  fail "the stored key was not read back from SecretService (frozen and dev)"
grep -q "Stored the key BUND… for profile 'bundle-ci' in keyring.backends.SecretService.Keyring" \
  "$work/credentials.txt" || fail "the credential was not stored in SecretService"
grep -q "Deleted the credentials of profile 'bundle-ci'" "$work/credentials.txt" ||
  fail "the credential was not deleted"

step "reconcile restart-with-position: frozen app vs development install"
scen=(reconcile --once --venue sim --scenario restart-with-position --json)
rc_frozen=0 rc_dev=0 rc_again=0
"$app" "${scen[@]}" --db "sqlite:///$work/frozen.db" > "$work/frozen.json" || rc_frozen=$?
"$dev" "${scen[@]}" --db "sqlite:///$work/dev.db" > "$work/dev.json" || rc_dev=$?
"$app" "${scen[@]}" --db "sqlite:///$work/frozen.db" > "$work/frozen-again.json" || rc_again=$?
"$py" - "$work" "$rc_frozen" "$rc_dev" "$rc_again" <<'PY'
import difflib, json, re, sys
work, rc_frozen, rc_dev, rc_again = sys.argv[1], *map(int, sys.argv[2:])
VOLATILE = ("run_id", "started_at", "finished_at", "duration_ms", "fills_window")
EPOCH_MS = re.compile(r"\b1\d{12}\b")                       # wall-clock timestamps
ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")  # the same, as text
CLIENT_ID = re.compile(r"\b(rc-[A-Za-z0-9]+-[a-z]+-)[0-9a-z]{6,}(-\d+)\b")  # time-based ids

def norm(value):
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [norm(v) for v in value]
    if isinstance(value, str):
        return CLIENT_ID.sub(r"\1<t>\2", ISO_TIME.sub("<time>", EPOCH_MS.sub("<ms>", value)))
    if isinstance(value, int) and not isinstance(value, bool) and 10**12 <= value < 10**13:
        return "<ms>"
    return value

def load(name):
    text = open(f"{work}/{name}.json").read()
    try:
        return json.loads(text)
    except ValueError:
        sys.exit(f"bundle: FAILED: {name} printed no JSON: {text[:500]!r}")

frozen, dev, again = load("frozen"), load("dev"), load("frozen-again")
def key(run):
    return {"status": run["status"], "mode": run["mode"],
            "by_kind": run["discrepancies"]["by_kind"],
            "planned_by_kind": run["actions"]["planned_by_kind"],
            "applied_by_kind": run["actions"]["applied_by_kind"],
            "venue_calls": run["venue_calls"]}
print("frozen:", json.dumps(key(frozen)))
print("dev:   ", json.dumps(key(dev)))
a = json.dumps(norm(frozen), indent=1, sort_keys=True).splitlines()
b = json.dumps(norm(dev), indent=1, sort_keys=True).splitlines()
if a != b or rc_frozen != rc_dev:
    print("\n".join(difflib.unified_diff(b, a, "development install", "frozen app", lineterm="")))
    sys.exit(f"bundle: FAILED: the frozen app's result differs from the development install's "
             f"(exit codes: frozen {rc_frozen}, dev {rc_dev}; diff above, volatile fields removed)")
if frozen["discrepancies"]["by_kind"].get("position_missing_locally") != 1:
    sys.exit("bundle: FAILED: the scenario's position discrepancy was not found")
if again["discrepancies"]["total"] != 0 or rc_again != 0:
    sys.exit(f"bundle: FAILED: a second frozen run on the same ledger still found "
             f"{again['discrepancies']['by_kind']} (exit {rc_again})")
print(f"identical after removing volatile fields (exit {rc_frozen}); "
      "second frozen run on the same ledger: nothing to do")
PY

step "frozen app serves the Binance sim (both markets from the front-end registry)"
for market in usdm spot; do
  "$app" sim --venue binance --market "$market" > "$work/sim-$market.txt" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 100); do
    [ -s "$work/sim-$market.txt" ] && break
    sleep 0.2
  done
  kill "$sim_pid" 2>/dev/null || true
  wait "$sim_pid" 2>/dev/null || true
  "$py" - "$work/sim-$market.txt" "$market" <<'PY' || fail "frozen sim --venue binance --market $market"
import json, sys
info = json.loads(open(sys.argv[1]).readline())
path = {"usdm": "/private/ws", "spot": "/ws-api/v3"}[sys.argv[2]]
assert info["venue"] == "binance" and info["ws_private_url"].endswith(path), info
print(f"{sys.argv[2]}: {info['rest_url']} {info['ws_private_url']}")
PY
done

step "frozen app loads the PostgreSQL driver (psycopg binary + libpq)"
rc=0
"$app" reconcile --once --venue sim --db "postgresql+psycopg://ci@127.0.0.1:1/none" \
  > /dev/null 2> "$work/pg.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "database is unreachable (connection failed" "$work/pg.txt" ||
  { cat "$work/pg.txt"; fail "psycopg in the bundle (expected 'unreachable' from libpq)"; }
echo "libpq answered: port 1 refused, as expected"

step "--version"
"$app" --version > "$work/version.txt"
cat "$work/version.txt"
if grep -q version_report console/__main__.py; then
  commit=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["commit"])' \
           "$internal/console/_build_info.json")
  grep -q "^commit $commit" "$work/version.txt" || fail "--version does not name commit $commit"
  for lib in Qt PySide6 pybit ccxt SQLAlchemy; do
    grep -q "^$lib " "$work/version.txt" || fail "--version does not name $lib"
  done
else
  echo "SKIP: --version is not wired to console.version.version_report yet"
fi

step "done"
echo "bundle size: $(du -sm dist/recon-console | cut -f1) MB (dist/recon-console/)"
echo "archive: $(du -sm "$archive" | cut -f1) MB ($archive)"
echo "bundle: all checks passed in $((SECONDS - t0)) s"
