#!/usr/bin/env bash
# bindings/zig/run-tests.sh <prefix>: the Zig binding's tests (`zig build test`)
# and the Zig example (examples/zig, built and run), against the jitcore
# installed in <prefix>, as an outside consumer builds them: jitcore found
# through pkg-config alone (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig; no other
# search path), run through the rpath Zig records for pkg-config's -L
# (checked), from a temporary directory, with the local Zig cache and the
# install prefix there too, so nothing is written into the source tree
# (checked). The global Zig cache is Zig's default (~/.cache/zig) unless
# ZIG_GLOBAL_CACHE_DIR (Zig's own variable) names another.
#
# Zig 0.17 comes from PyPI (`ziglang==0.17.1`, run as `python3 -m ziglang`);
# zig-env.sh installs it with pip when missing. The first build on a machine
# compiles Zig's build runner into the global cache: minutes on 2 cores.
# Prints a summary and the time of each part; exits nonzero on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <install prefix>" >&2; exit 2; }
prefix=$(realpath "$1")
fail() { echo "bindings/zig: FAIL: $*" >&2; exit 1; }

# shellcheck source=bindings/zig/zig-env.sh
source "$here/zig-env.sh" # PKG_CONFIG_PATH, zig
libdir=$(pkg-config --variable=libdir jitcore)
have=$(zig version)

work=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-zig.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# Files the builds might write into the source tree, to show they do not.
in_tree() {
  find "$here" "$root/examples/zig" \( -name .zig-cache -o -name zig-out \) -prune -print 2> /dev/null
}
before=$(in_tree)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
# 0. The sources are as `zig fmt` writes them.
zig fmt --check "$here" "$root/examples/zig" > "$work/fmt.log" 2>&1 || { cat "$work/fmt.log"; fail "zig fmt --check: these files need zig fmt"; }

# 1. The binding's tests.
if ! zig build test --build-file "$here/build.zig" --cache-dir "$work/cache" \
  --prefix "$work/out-binding" --summary all > "$work/test.log" 2>&1; then
  cat "$work/test.log"
  fail "zig build test failed"
fi
t1=$(now)
tests=$(grep -o '[0-9]* pass ([0-9]* total)' "$work/test.log" | head -1 || true)
[[ -n $tests ]] || { cat "$work/test.log"; fail "zig build test reported no test count"; }
echo "bindings/zig: zig build test: $tests ($(secs "$t0" "$t1") s)"

# 2. The example: built and installed into the temporary prefix, then run
#    directly (outside zig build) with no library path: the rpath finds jitcore.
if ! zig build --build-file "$root/examples/zig/build.zig" --cache-dir "$work/cache" \
  --prefix "$work/out-example" > "$work/example-build.log" 2>&1; then
  cat "$work/example-build.log"
  fail "examples/zig does not build"
fi
t2=$(now)
job=$work/out-example/bin/job
[[ -x $job ]] || fail "examples/zig installed no bin/job"
readelf -d "$job" | grep -q "R.*PATH.*\[$libdir\]" || fail "examples/zig's job has no rpath to $libdir"
if ! env -u LD_LIBRARY_PATH "$job" > "$work/job.out" 2>&1; then
  cat "$work/job.out"
  fail "examples/zig's job exited with an error"
fi
t3=$(now)
cat "$work/job.out"
grep -qxF "job: all checks passed" "$work/job.out" || fail "job printed no 'job: all checks passed'"

after=$(in_tree)
[[ $before == "$after" ]] || fail "the builds wrote into the source tree: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"

echo "bindings/zig: 2 passed, 0 failed (zig fmt clean; zig build test: $tests; examples/zig built in $(secs "$t1" "$t2") s, ran in $(secs "$t2" "$t3") s; Zig $have, jitcore $(pkg-config --modversion jitcore), total $(secs "$t0" "$t3") s)"
