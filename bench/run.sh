#!/usr/bin/env bash
# The benchmark suite of issue 13 (`make bench`; about 10 minutes on 2
# cores): jitcore against raw LLJIT, LLJIT + default<O2>, MCJIT, llvmlite
# 0.50 and lli-22 on the same IR. Writes BENCHMARKS.md and BENCHMARKS.png
# (to $BENCH_OUT, default the tree's root), target/bench/work/results.json,
# and prints the table. Not a test: it asserts nothing about time.
#
# Parts, in this order (the first four are quoted in BENCHMARKS.md):
#   lazy_vs_eager   bench/lazy_vs_eager.c in process, and lli-22 orc/orc-lazy
#                   (1,000 functions, main calls 100)
#   cycle_calls     bench/cycle_calls.c (calls through a link-order cycle's stub)
#   corpus          ../shared/testsuite through jitcore-run vs lli-22
#                   (scripts/check-programs.sh; -jit-kind $BENCH_CORPUS_KINDS,
#                   default orc: each kind is about a minute)
#   languages       call overhead from C, C++, Go, Zig, Python (bindings)
#   suite           bench/suite.py: every figure, interleaved, medians,
#                   callgrind counts, load average, goals met / not met
#
# Environment:
#   JITCORE_BENCH_LIBDIR  the library to measure (default target/release):
#                         linked by the C programs (and their rpath), its
#                         jitcore-run runs the programs; another build's
#                         target/release gives its "before" table (the
#                         languages part installs from the tree that owns it)
#   BENCH_REPS, BENCH_CYCLES, BENCH_CALLGRIND   see bench/suite.py
#   BENCH_CORPUS_KINDS    -jit-kind values for the corpus (default orc)
#   BENCH_PARTS           the parts before the suite: lazy_vs_eager cycle_calls
#                         corpus languages (default: the last three; the
#                         suite's lazy figure covers lazy_vs_eager; "" none)
#   BENCH_OUT             where BENCHMARKS.md and .png go (default .)
# Installs what it needs: llvmlite 0.50, numba 0.68 and matplotlib into the
# Python venv the Python binding's tests use
# (${JITCORE_PY_VENV:-${XDG_CACHE_HOME:-~/.cache}/jitcore-python}); a peer it
# cannot get is reported as "not measured" with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
LIBDIR=$(realpath "${JITCORE_BENCH_LIBDIR:-target/release}")
JITCORE_RUN=$LIBDIR/jitcore-run
out=target/bench
work=$out/work
parts=$out/parts
BENCH_OUT=${BENCH_OUT:-.}
rm -rf "$parts"
mkdir -p "$out" "$work" "$parts" "$BENCH_OUT"
LLI=$(command -v lli-22 || true)
LLVM_FLAGS=(-I/usr/lib/llvm-22/include -L/usr/lib/llvm-22/lib -lLLVM-22)
JITCORE_FLAGS=(-Iinclude -L"$LIBDIR" -Wl,-rpath,"$LIBDIR" -ljitcore)
STRICT=(-std=c11 -Wall -Wextra -Werror -O2)
[ -x "$JITCORE_RUN" ] || { echo "bench: no $JITCORE_RUN (make build, or set JITCORE_BENCH_LIBDIR)" >&2; exit 2; }
echo "bench: library $LIBDIR"

# A Python with llvmlite 0.50 (the peer), numba 0.68 (the Python binding's
# benchmark) and matplotlib (the plot): the bindings' venv, extended; without
# the venv module, pip --target.
cache=${JITCORE_PY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jitcore-python}
pkgs=("llvmlite==0.50.*" "numba==0.68.*" matplotlib)
have_py() { "$1" -c 'import llvmlite, numba, matplotlib; assert llvmlite.__version__.startswith("0.50.")' 2>/dev/null; }
PY=""
if have_py "$cache/venv/bin/python"; then
    PY=$cache/venv/bin/python
elif { [ -x "$cache/venv/bin/python" ] || python3 -m venv "$cache/venv" >/dev/null 2>&1; } &&
    "$cache/venv/bin/python" -m pip install -q "${pkgs[@]}" && have_py "$cache/venv/bin/python"; then
    PY=$cache/venv/bin/python
elif mkdir -p "$cache/bench-site" && export PYTHONPATH="$cache/bench-site${PYTHONPATH:+:$PYTHONPATH}" &&
    { have_py python3 || python3 -m pip install -q --target "$cache/bench-site" "${pkgs[@]}" ||
        python3 -m pip install -q --break-system-packages --target "$cache/bench-site" "${pkgs[@]}"; } &&
    have_py python3; then
    PY=python3
else
    echo "bench: llvmlite 0.50 / numba / matplotlib could not be installed: those figures are not measured"
fi

"${CC:-cc}" "${STRICT[@]}" bench/harness/*.c -o "$out/harness" "${JITCORE_FLAGS[@]}" "${LLVM_FLAGS[@]}" -lpthread
python3 bench/gen_workloads.py "$work"

# lazy_vs_eager: a 1,000-function module where main calls 100, jitcore's
# session lazy vs eager in process (default<O2> when eager: at 3,000
# functions that alone took minutes on a loaded machine), then lli-22.
part_lazy_vs_eager() {
    python3 bench/gen_lazy_ir.py "$out/lazy1000.ll" 1000 100
    "${CC:-cc}" "${STRICT[@]}" -Iinclude bench/lazy_vs_eager.c -o "$out/lazy_vs_eager" "${JITCORE_FLAGS[@]}"
    "$out/lazy_vs_eager" "$out/lazy1000.ll" | tee "$out/jitcore.txt" || echo "lazy_vs_eager failed"
    if [ -n "$LLI" ]; then
        secs() { # wall time of "$@" (exit status ignored: it is main's)
            local s e
            s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
            python3 -c "print($e - $s)"
        }
        eager=$(secs "$LLI" -jit-kind=orc "$out/lazy1000.ll")
        lazy=$(secs "$LLI" -jit-kind=orc-lazy "$out/lazy1000.ll")
        printf 'lli-22 orc (eager): %.3f s\nlli-22 orc-lazy:    %.3f s\nlli-22 lazy/eager: %.2f\n' \
            "$eager" "$lazy" "$(python3 -c "print($lazy / $eager)")"
        j_lazy=$(awk '/jitcore lazy:/ {print $3}' "$out/jitcore.txt")
        j_eager=$(awk '/jitcore eager:/ {print $3}' "$out/jitcore.txt")
        printf 'jitcore lazy vs lli-22 orc-lazy: %.2f\njitcore eager (default<O2>) vs lli-22 orc (codegen only): %.2f\n' \
            "$(python3 -c "print($j_lazy / $lazy)")" "$(python3 -c "print($j_eager / $eager)")"
    else
        echo "lli-22: not measured (not installed)"
    fi
}

# cycle_calls: a call through the stub that stands for a function of another
# dylib inside a link-order cycle, against a direct call (issue 10.4).
part_cycle_calls() {
    "${CC:-cc}" "${STRICT[@]}" -Iinclude bench/cycle_calls.c -o "$out/cycle_calls" "${JITCORE_FLAGS[@]}"
    "$out/cycle_calls" || echo "cycle_calls failed"
}

# corpus: the real programs through jitcore-run and lli-22 (issue 10).
part_corpus() {
    if [ -z "$LLI" ]; then
        echo "not measured: lli-22 is not installed"
    elif [ ! -d ../shared/testsuite ]; then
        echo "not measured: no corpus at ../shared/testsuite"
    else
        KINDS=${BENCH_CORPUS_KINDS:-orc} JITCORE_RUN=$JITCORE_RUN LLI=$LLI bash scripts/check-programs.sh || true
    fi
}

# languages: one lookup of a compiled symbol and one add+compile of a tiny
# module through each binding, against the library installed to a
# temporary prefix (from the tree that owns $LIBDIR), as ratios to C.
lang_tmp=$(mktemp -d)
trap 'rm -rf "$lang_tmp"' EXIT
src=$(dirname "$(dirname "$LIBDIR")")
part_languages() {
    echo "languages (bindings against an installed prefix; ratio to C):"
    if [ -f "$src/CMakeLists.txt" ] &&
        cmake -S "$src" -B "$lang_tmp/build" -DBUILD_TESTING=OFF -DCMAKE_INSTALL_LIBDIR=lib \
            -DJITCORE_CARGO_TARGET_DIR="$(dirname "$LIBDIR")" >/dev/null 2>&1 &&
        cmake --build "$lang_tmp/build" >/dev/null 2>&1 &&
        cmake --install "$lang_tmp/build" --prefix "$lang_tmp/prefix" >/dev/null 2>&1; then
        prefix=$lang_tmp/prefix
        declare -A lookup add
        run_lang() { # <name> <command...>: reads its lookup_ns / add_compile_us lines
            local name=$1 res
            shift
            res=$("$@" 2>/dev/null) || { echo "  $name: not measured (its benchmark failed)"; return; }
            # Python's benchmark also compares numba on jitcore and on llvmlite.
            [ "$name" = Python ] && grep -vE '^(lookup_ns|add_compile_us) ' <<<"$res" | sed 's/^/  numba: /'
            lookup[$name]=$(awk '$1 == "lookup_ns" {print $2}' <<<"$res" | tail -1)
            add[$name]=$(awk '$1 == "add_compile_us" {print $2}' <<<"$res" | tail -1)
        }
        run_lang C bash examples/c/bench.sh "$prefix"
        run_lang C++ bash bindings/cpp/bench.sh "$prefix"
        run_lang Go bash bindings/go/bench.sh "$prefix"
        run_lang Zig bash bindings/zig/bench.sh "$prefix"
        if [ -n "$PY" ]; then
            run_lang Python env PYTHONPATH="bindings/python/src${PYTHONPATH:+:$PYTHONPATH}" \
                JITCORE_LIBRARY="$prefix/lib/libjitcore.so.0.1" "$PY" bindings/python/bench.py
        else
            echo "  Python: not measured (numba and llvmlite could not be installed)"
        fi
        c_l=${lookup[C]:-0} c_a=${add[C]:-0}
        for name in C C++ Go Zig Python; do
            [ -n "${lookup[$name]:-}" ] || continue
            printf '  %-7s lookup %8s ns (%s x C)   add+compile %8s us (%s x C)\n' "$name" \
                "${lookup[$name]}" "$(awk -v a="${lookup[$name]}" -v b="$c_l" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
                "${add[$name]}" "$(awk -v a="${add[$name]}" -v b="$c_a" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
        done
    else
        echo "  not measured: the library could not be installed to a temporary prefix (from $src)"
    fi
}

for part in ${BENCH_PARTS-cycle_calls corpus languages}; do
    echo "== $part"
    "part_$part" 2>&1 | tee "$parts/$part.txt"
done

# The suite: every figure (bench/suite.py).
BENCH_COMMAND=${BENCH_COMMAND:-"JITCORE_BENCH_LIBDIR=$LIBDIR make bench"} "${PY:-python3}" bench/suite.py \
    --work "$work" --harness "$out/harness" --jitcore-run "$JITCORE_RUN" --out "$BENCH_OUT" --parts "$parts" \
    ${PY:+--python-peer "$PY"} ${LLI:+--lli "$LLI"}
