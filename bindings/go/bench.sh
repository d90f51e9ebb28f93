#!/usr/bin/env bash
# bindings/go/bench.sh <prefix>: the Go binding's costs against a jitcore
# installed under <prefix>, for make bench's ratios to C. Prints
#   lookup_ns <N>        one Session.Lookup of an already compiled symbol
#   add_compile_us <N>   ParseIRString + Dylib.AddModule + the compiling Lookup
#                        of a tiny module (removal untimed)
# and, for information, engine_lookup_ns and call_ns (one call of a jitted
# int64(int64, int64) through Func). Built without -race, from a copy
# outside the source tree, with only the prefix on the search paths, offline.
# BENCHTIME (default 1s) is passed to -benchtime.
set -u
. "$(dirname "$0")/go-env.sh" "${1:-}" jitcore-go-bench
cd "$work/bindings/go" || exit 1
out=$(go test -run '^$' -bench 'Lookup|AddCompile|CallInt64' -benchtime "${BENCHTIME:-1s}" . 2>&1) || {
    echo "$out" >&2
    exit 1
}
# ns/op of benchmark $1 (name without the -GOMAXPROCS suffix)
nsop() { echo "$out" | awk -v b="Benchmark$1" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") print $i }'; }
lookup=$(nsop Lookup)
add=$(nsop AddCompile)
if [ -z "$lookup" ] || [ -z "$add" ]; then
    echo "$out" >&2
    echo "bench.sh: no result" >&2
    exit 1
fi
echo "lookup_ns $(printf '%.0f' "$lookup")"
echo "add_compile_us $(awk -v n="$add" 'BEGIN { printf "%.1f", n / 1000 }')"
echo "engine_lookup_ns $(printf '%.0f' "$(nsop EngineLookup)")"
echo "call_ns $(printf '%.0f' "$(nsop CallInt64)")"
