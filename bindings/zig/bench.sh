#!/usr/bin/env bash
# bindings/zig/bench.sh <prefix>: what examples/c/bench.c measures, through
# the Zig binding (bindings/zig/bench/bench.zig, ReleaseFast), against the
# jitcore installed in <prefix>; prints
#   lookup_ns <N>
#   add_compile_us <N>
# Builds as run-tests.sh does (pkg-config only, caches and output in a
# temporary directory; the global Zig cache is Zig's default unless
# ZIG_GLOBAL_CACHE_DIR names another). Build output goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <install prefix>" >&2; exit 2; }
prefix=$(realpath "$1")
# shellcheck source=bindings/zig/zig-env.sh
source "$here/zig-env.sh" # PKG_CONFIG_PATH, zig
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-bench-zig.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
zig build --build-file "$here/build.zig" --cache-dir "$tmp/cache" \
  --prefix "$tmp/out" install-bench >&2
"$tmp/out/bin/jitcore-zig-bench"
