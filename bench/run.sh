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
