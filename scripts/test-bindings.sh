#!/usr/bin/env bash
# Installs the library to a temporary prefix and runs every binding's own
# tests and every example against the installed library, from a directory
# outside the source tree, with nothing but the prefix on the search paths
# (each runner takes the prefix and sets PKG_CONFIG_PATH / CMAKE_PREFIX_PATH
# / an rpath from it). Prints the time each runner took.
#
#   scripts/test-bindings.sh [runner...]   default: all of them
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RUNNERS=(examples/c/run.sh bindings/cpp/run-tests.sh bindings/go/run-tests.sh bindings/zig/run-tests.sh bindings/python/run-tests.sh)
[ $# -gt 0 ] && RUNNERS=("$@")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-bindings.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
t0=$(date +%s)
cmake_args=(-S "$root" -B "$tmp/build" -DBUILD_TESTING=OFF -DCMAKE_INSTALL_LIBDIR=lib)
if [ -n "${JITCORE_CARGO_TARGET_DIR:-}" ]; then
    cmake_args+=("-DJITCORE_CARGO_TARGET_DIR=$(realpath -m "$JITCORE_CARGO_TARGET_DIR")")
fi
{ cmake "${cmake_args[@]}" && cmake --build "$tmp/build" && cmake --install "$tmp/build" --prefix "$prefix"; } \
    >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; echo "bindings: install failed"; exit 1; }
echo "bindings: installed to a temporary prefix in $(($(date +%s) - t0)) s"
# Nothing of the build tree on the search paths.
unset LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH
status=0
summary=()
for r in "${RUNNERS[@]}"; do
    if [ ! -f "$root/$r" ]; then
        echo "bindings: $r is missing"
        status=1
        summary+=("$r: MISSING")
        continue
    fi
    mkdir -p "$tmp/run"
    t1=$(date +%s)
    if (cd "$tmp/run" && bash "$root/$r" "$prefix"); then
        summary+=("$r: passed in $(($(date +%s) - t1)) s")
    else
        status=1
        summary+=("$r: FAILED after $(($(date +%s) - t1)) s")
    fi
done
echo "bindings summary:"
printf '  %s\n' "${summary[@]}"
exit $status
