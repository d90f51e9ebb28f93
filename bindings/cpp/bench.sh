#!/usr/bin/env bash
# bindings/cpp/bench.sh <prefix>: the C++ binding's benchmark
# (bindings/cpp/bench.cpp) built with CMake against the jitcore installed in
# <prefix>; prints
#   lookup_ns <N>
#   add_compile_us <N>
# examples/c/bench.sh <prefix> prints the same two lines for C.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <install prefix>" >&2; exit 2; }
prefix=$(realpath "$1")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-bench-cpp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! { cmake -S "$here/tests" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
       && cmake --build "$tmp/b" --target jitcore_cpp_bench; } > "$tmp/log" 2>&1; then
  cat "$tmp/log" >&2
  exit 1
fi
"$tmp/b/jitcore_cpp_bench"
