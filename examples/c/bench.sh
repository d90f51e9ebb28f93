#!/usr/bin/env bash
# examples/c/bench.sh <prefix>: the C baseline of the bindings' benchmarks
# (examples/c/bench.c) against the jitcore installed in <prefix>; prints
#   lookup_ns <N>
#   add_compile_us <N>
# (bindings/cpp/bench.sh prints the same two lines for C++.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <install prefix>" >&2; exit 2; }
prefix=$(realpath "$1")
pcdir=$prefix/lib/pkgconfig
[[ -f $pcdir/jitcore.pc ]] || pcdir=$(dirname "$(find "$prefix" -path '*/pkgconfig/jitcore.pc' -print -quit)")
export PKG_CONFIG_PATH=$pcdir
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-bench-c.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
"${CC:-cc}" -std=c11 -O2 -Wall -Wextra -Werror -pedantic "$here/bench.c" $(pkg-config --cflags --libs jitcore) \
  -Wl,-rpath,"$(pkg-config --variable=libdir jitcore)" -o "$tmp/bench"
"$tmp/bench"
