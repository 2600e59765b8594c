#!/bin/sh
# Builds the one-folder Photolens bundle with PyInstaller: dist/photolens/photolens.
#
#   packaging/build.sh            sets up .venv (make setup) when needed, then builds
#   PYTHON=/path/python packaging/build.sh   builds with another prepared environment
#
# The bundle carries ONNX Runtime, hnswlib, Qt's plugins and the built-in model; it needs
# neither torch nor a network to run.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -z "${PYTHON:-}" ]; then
    if [ ! -x .venv/bin/python ] || [ ! -f models/builtin/manifest.json ]; then
        command -v make >/dev/null 2>&1 || { echo "error: make is not installed; run the steps in README 'Without make' first" >&2; exit 1; }
        make setup
    fi
    PYTHON=.venv/bin/python
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "installing PyInstaller into $("$PYTHON" -c 'import sys; print(sys.prefix)')" >&2
    "$PYTHON" -m pip install --quiet -e '.[package]'
fi

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/photolens.spec"

size=$(du -sh "$ROOT/dist/photolens" | cut -f1)
echo "built $ROOT/dist/photolens/photolens ($size)"
