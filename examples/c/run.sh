#!/usr/bin/env bash
# examples/c/run.sh <prefix>: builds and runs the C examples (job.c, hello.c)
# against the jitcore installed in <prefix>, as an outside consumer does:
# through pkg-config (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig, nothing else on
# the search paths) with an rpath from pkg-config's libdir, in a temporary
# directory outside the source tree. Prints a summary; exits nonzero on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <install prefix>" >&2; exit 2; }
prefix=$(realpath "$1")
fail() { echo "examples/c: FAIL: $*" >&2; exit 1; }

pcdir=$prefix/lib/pkgconfig
[[ -f $pcdir/jitcore.pc ]] || pcdir=$(dirname "$(find "$prefix" -path '*/pkgconfig/jitcore.pc' -print -quit)")
[[ -f $pcdir/jitcore.pc ]] || fail "no jitcore.pc under $prefix"
export PKG_CONFIG_PATH=$pcdir
unset PKG_CONFIG_LIBDIR LD_LIBRARY_PATH CPATH C_INCLUDE_PATH LIBRARY_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-examples-c.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

cc=${CC:-cc}
# shellcheck disable=SC2207  # pkg-config output is meant to be split
flags=($(pkg-config --cflags --libs jitcore))
rpath=-Wl,-rpath,$(pkg-config --variable=libdir jitcore)
passed=0
for ex in job hello; do
  "$cc" -std=c11 -Wall -Wextra -Werror -pedantic "$here/$ex.c" "${flags[@]}" "$rpath" -o "$tmp/$ex" \
    || fail "$ex.c does not build with pkg-config's flags"
  if ! "$tmp/$ex" > "$tmp/$ex.out" 2>&1; then
    cat "$tmp/$ex.out"
    fail "$ex exited with an error"
  fi
  passed=$((passed + 1))
done
cat "$tmp/job.out"
grep -qxF "job: all checks passed" "$tmp/job.out" || fail "job printed no 'job: all checks passed'"
echo "examples/c: $passed passed, 0 failed (job.c, hello.c through pkg-config, jitcore $(pkg-config --modversion jitcore))"
