#!/usr/bin/env bash
# Build the desktop bundle: dist/recon-console/ (one-dir, executable dist/recon-console/recon-console)
# and dist/recon-console-<version>-<platform>.tar.gz (.zip on Windows).
#   bash packaging/build.sh            # uses $PYTHON, else the active venv, else ./.venv
# Installs PyInstaller into that venv when missing. Environment:
#   PYTHON=path/to/python   the interpreter whose site-packages are bundled
#   RECON_BUILD_CLEAN=1     discard PyInstaller's caches first (slower; CI need not)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -n "${PYTHON:-}" ]; then py=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ]; then py=$VIRTUAL_ENV/bin/python
elif [ -x .venv/bin/python ]; then py=.venv/bin/python
else
  echo "build.sh: no Python: set PYTHON, activate a venv or create .venv (README set-up)" >&2
  exit 1
fi
"$py" -c 'import console, PySide6, pyqtgraph' 2>/dev/null || {
  echo "build.sh: $py lacks the app or its dependencies: pip install -e . into it first" >&2
  exit 1
}
if ! "$py" -c 'import PyInstaller' 2>/dev/null; then
  echo "== installing PyInstaller into $("$py" -c 'import sys; print(sys.prefix)')"
  "$py" -m pip install -q 'pyinstaller>=6.10,<7'
fi

version=$("$py" -c 'import console; print(console.__version__)')
plat=$("$py" -c 'import platform, sys; print(f"{sys.platform}-{platform.machine().lower()}")')
case $plat in
  win32-*) archive="dist/recon-console-$version-$plat.zip" ;;   # Git Bash on Windows
  *) archive="dist/recon-console-$version-$plat.tar.gz" ;;
esac

# Build info, packed into the bundle as console/_build_info.json (read by console/version.py).
# It lives under build/, never in the source tree.
info_dir=build/recon-console-info
mkdir -p "$info_dir"
commit=unknown dirty=false
if git rev-parse --git-dir >/dev/null 2>&1; then
  commit=$(git rev-parse HEAD)
  [ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=true
fi
export RECON_BUILD_INFO="$root/$info_dir/_build_info.json"
"$py" - "$RECON_BUILD_INFO" "$version" "$commit" "$dirty" "$plat" <<'PY'
import json, platform, sys
from datetime import UTC, datetime
path, version, commit, dirty, plat = sys.argv[1:]
json.dump({"version": version, "commit": commit, "dirty": dirty == "true",
           "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "python": platform.python_version(), "platform": plat},
          open(path, "w"), indent=2)
PY
echo "== build info: version $version, commit $commit$([ "$dirty" = true ] && echo ' (uncommitted changes)'), $plat"

echo "== PyInstaller (one-dir)"
start=$SECONDS
clean=()
[ "${RECON_BUILD_CLEAN:-0}" = 1 ] && clean=(--clean)
rm -rf dist/recon-console "$archive"
"$py" -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/recon-console.spec
[ -x dist/recon-console/recon-console ] || { echo "build.sh: no executable produced" >&2; exit 1; }
echo "== PyInstaller took $((SECONDS - start)) s"

echo "== archive"
if [ "${archive%.zip}" != "$archive" ]; then
  "$py" -c 'import shutil, sys; shutil.make_archive(sys.argv[1][:-4], "zip", "dist", "recon-console")' "$archive"
else
  gz=gzip
  command -v pigz >/dev/null && gz=pigz
  tar -C dist -cf - recon-console | $gz -6 > "$archive"
fi

echo "== sizes"
echo "bundle:  $(du -sh dist/recon-console | cut -f1)  ($(du -sm dist/recon-console | cut -f1) MB) dist/recon-console/"
echo "archive: $(du -sh "$archive" | cut -f1)  ($(du -sm "$archive" | cut -f1) MB) $archive"
