#!/usr/bin/env bash
# Runs the Python binding's tests and examples/python/job.py against an
# installed libjitcore, from a directory outside the source tree.
#
#   bindings/python/run-tests.sh <prefix>
#
# <prefix> holds lib/libjitcore.so.0.1 and lib/pkgconfig/jitcore.pc. Uses
# $PYTHON (default python3, CPython >= 3.9 with pip). If pytest, llvmlite
# 0.50 or numba 0.68 is missing it pip-installs them into a virtual
# environment cached in ${JITCORE_PY_VENV:-${XDG_CACHE_HOME:-~/.cache}/jitcore-python}
# (or, without the venv module, with pip --target there), so later runs are
# quick. The package itself is pip-installed afresh into a temporary
# directory each run. Exits nonzero on any failure.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 <prefix>" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=$(cd "$1" && pwd)
PY=${PYTHON:-python3}
t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-python.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

have_deps() {
    "$1" - <<'PY' 2>/dev/null
import pytest, llvmlite, numba
assert llvmlite.__version__.startswith("0.50."), llvmlite.__version__
assert numba.__version__.startswith("0.68."), numba.__version__
PY
}

deps_path=""
if have_deps "$PY"; then
    echo "python: using $("$PY" -c 'import sys; print(sys.executable)') (pytest, llvmlite 0.50, numba 0.68 present)"
else
    cache=${JITCORE_PY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jitcore-python}
    if [ -x "$cache/venv/bin/python" ] && have_deps "$cache/venv/bin/python"; then
        PY=$cache/venv/bin/python
    elif "$PY" -m venv "$cache/venv" >/dev/null 2>&1 && "$cache/venv/bin/python" -m pip --version >/dev/null 2>&1; then
        echo "python: installing pytest, llvmlite 0.50, numba 0.68 into $cache/venv"
        "$cache/venv/bin/python" -m pip install -q pytest "llvmlite==0.50.*" "numba==0.68.*"
        PY=$cache/venv/bin/python
    else
        echo "python: no venv module; pip --target $cache/site"
        mkdir -p "$cache/site"
        PYTHONPATH="$cache/site" have_deps "$PY" || \
            "$PY" -m pip install -q --target "$cache/site" pytest "llvmlite==0.50.*" "numba==0.68.*" || \
            "$PY" -m pip install -q --break-system-packages --target "$cache/site" pytest "llvmlite==0.50.*" "numba==0.68.*"
        deps_path=$cache/site
    fi
fi

# The package, installed (not the source tree) into a temporary directory.
"$PY" -m pip install -q --no-deps --target "$tmp/pkg" "$here" >"$tmp/pip.log" 2>&1 || \
    "$PY" -m pip install -q --no-deps --no-build-isolation --target "$tmp/pkg" "$here" >>"$tmp/pip.log" 2>&1 || \
    { cat "$tmp/pip.log"; echo "python: pip install of the package failed"; exit 1; }

export PYTHONPATH="$tmp/pkg${deps_path:+:$deps_path}"
export JITCORE_LIBRARY="$prefix/lib/libjitcore.so.0.1"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export JITCORE_PY_EXPECT_PACKAGE="$tmp/pkg"
export JITCORE_PY_EXAMPLES="$root/examples/python"
export NUMBA_CACHE_DIR="$tmp/numba-cache"
mkdir -p "$tmp/run"
cd "$tmp/run"
status=0
"$PY" -m pytest -q -p no:cacheprovider --rootdir "$tmp/run" "$here/tests" || status=1
"$PY" "$root/examples/python/job.py" || status=1
# The library is found through pkg-config too.
JITCORE_LIBRARY= "$PY" -c "import jitcore; assert jitcore.library_path.startswith('$prefix'), jitcore.library_path; print('python: found through pkg-config:', jitcore.library_path)" || status=1
echo "python: $([ $status -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0)) s"
exit $status
