#!/usr/bin/env bash
# Refresh the committed screenshots in docs/screenshots/ from the GUI tests (offscreen,
# DejaVu fonts). A plain test run writes them to build/screenshots/ instead, so that
# tests never rewrite tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen RECON_SCREENSHOTS_DIR="$PWD/docs/screenshots"
bash .ci/with-keyring.sh .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/gui/test_screenshots.py tests/gui/test_credentials.py \
    tests/gui/test_workspace_screenshots.py tests/gui/test_preview_and_coverage_widgets.py \
    tests/gui/test_plan_screenshots.py
git status --short docs/screenshots
