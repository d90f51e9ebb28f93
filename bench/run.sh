#!/usr/bin/env bash
# Lazy compilation benchmark: jitcore lazy vs eager, and lli-22 orc-lazy vs
# orc, on the same 3,000-function module where main calls 200 functions.
# Prints times and ratios taken in one run. Usage: bench/run.sh (after make
# build); BENCH_REPS=N takes the best of N runs of each. Then the real-program
# corpus through jitcore-run and lli-22 (scripts/check-programs.sh).
# Note: jitcore's eager mode runs the session's default IR pipeline
# (default<O2>) on the whole module; lli runs no IR passes, only codegen at
# -O2 (as jitcore-run does, and a session after JitcoreSessionSetIRPipeline
# with JITCORE_IR_PIPELINE_NONE).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"
python3 bench/gen_lazy_ir.py "$out/lazy3000.ll" 3000 200
${CC:-cc} -std=c11 -O2 -Iinclude bench/lazy_vs_eager.c -o "$out/lazy_vs_eager" \
    -Ltarget/release -Wl,-rpath,"$PWD/target/release" -ljitcore
"$out/lazy_vs_eager" "$out/lazy3000.ll" | tee "$out/jitcore.txt"

reps=${BENCH_REPS:-1}
best() { # best wall time of $reps runs of "$@" (exit status ignored: it is main's)
    local b=999
    for _ in $(seq "$reps"); do
        local s e
        s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
        b=$(python3 -c "print(min($b, $e - $s))")
    done
    echo "$b"
}
if command -v lli-22 >/dev/null; then
    eager=$(best lli-22 -jit-kind=orc "$out/lazy3000.ll")
    lazy=$(best lli-22 -jit-kind=orc-lazy "$out/lazy3000.ll")
    printf 'lli-22 orc (eager): %.3f s\nlli-22 orc-lazy:    %.3f s\nlli-22 lazy/eager: %.2f\n' \
        "$eager" "$lazy" "$(python3 -c "print($lazy / $eager)")"
    j_lazy=$(awk '/jitcore lazy:/ {print $3}' "$out/jitcore.txt")
    j_eager=$(awk '/jitcore eager:/ {print $3}' "$out/jitcore.txt")
    printf 'jitcore lazy vs lli-22 orc-lazy: %.2f\njitcore eager vs lli-22 orc:     %.2f\n' \
        "$(python3 -c "print($j_lazy / $lazy)")" "$(python3 -c "print($j_eager / $eager)")"
else
    echo "lli-22 not installed: no peer figures"
fi

# The real-program corpus through jitcore-run and lli-22, each -jit-kind:
# whole-corpus wall time as a ratio, taken in one run (issue 10).
if command -v lli-22 >/dev/null && [ -d ../shared/testsuite ]; then
    echo "real programs (../shared/testsuite), jitcore-run vs lli-22:"
    bash scripts/check-programs.sh || true
fi

# The cost of a call through the stub that stands for a function of another
# dylib inside a link-order cycle, against a direct call (issue 10.4).
${CC:-cc} -std=c11 -O2 -Iinclude bench/cycle_calls.c -o "$out/cycle_calls" \
    -Ltarget/release -Wl,-rpath,"$PWD/target/release" -ljitcore
"$out/cycle_calls"

# Call overhead from each language (issue 11): one lookup of a compiled
# symbol and one add+compile of a tiny module, through each binding, against
# the library installed to a temporary prefix, as ratios to the same from C.
echo "languages (bindings against an installed prefix; ratio to C):"
lang_tmp=$(mktemp -d)
if cmake -S . -B "$lang_tmp/build" -DBUILD_TESTING=OFF -DCMAKE_INSTALL_LIBDIR=lib \
    -DJITCORE_CARGO_TARGET_DIR="$PWD/target" >/dev/null 2>&1 &&
    cmake --build "$lang_tmp/build" >/dev/null 2>&1 &&
    cmake --install "$lang_tmp/build" --prefix "$lang_tmp/prefix" >/dev/null 2>&1; then
    prefix=$lang_tmp/prefix
    declare -A lookup add
    run_lang() { # <name> <command...>: reads its lookup_ns / add_compile_us lines
        local name=$1 out
        shift
        out=$("$@" 2>/dev/null) || { echo "  $name: not measured (its benchmark failed)"; return; }
        # Python's benchmark also compares numba on jitcore and on llvmlite.
        [ "$name" = Python ] && grep -vE '^(lookup_ns|add_compile_us) ' <<<"$out" | sed 's/^/  numba: /'
        lookup[$name]=$(awk '$1 == "lookup_ns" {print $2}' <<<"$out" | tail -1)
        add[$name]=$(awk '$1 == "add_compile_us" {print $2}' <<<"$out" | tail -1)
    }
    run_lang C bash examples/c/bench.sh "$prefix"
    run_lang C++ bash bindings/cpp/bench.sh "$prefix"
    run_lang Go bash bindings/go/bench.sh "$prefix"
    run_lang Zig bash bindings/zig/bench.sh "$prefix"
    if python3 -c "import numba, llvmlite" 2>/dev/null; then
        run_lang Python env PYTHONPATH=bindings/python/src JITCORE_LIBRARY="$prefix/lib/libjitcore.so.0.1" \
            python3 bindings/python/bench.py
    else
        echo "  Python: not measured (numba and llvmlite are not installed; bindings/python/run-tests.sh installs them in its venv)"
    fi
    c_l=${lookup[C]:-0} c_a=${add[C]:-0}
    for name in C C++ Go Zig Python; do
        [ -n "${lookup[$name]:-}" ] || continue
        printf '  %-7s lookup %8s ns (%s x C)   add+compile %8s us (%s x C)\n' "$name" \
            "${lookup[$name]}" "$(awk -v a="${lookup[$name]}" -v b="$c_l" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
            "${add[$name]}" "$(awk -v a="${add[$name]}" -v b="$c_a" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    done
else
    echo "  not measured: the library could not be installed to a temporary prefix"
fi
rm -rf "$lang_tmp"
