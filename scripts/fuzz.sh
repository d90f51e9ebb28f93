#!/usr/bin/env bash
# Fuzzes jitcore with libFuzzer through cargo-fuzz (fuzz/, its own workspace).
#
#   scripts/fuzz.sh smoke            a fixed number of inputs per target,
#                                    about a minute in all on 2 cores
#   scripts/fuzz.sh deep [SECONDS]   each target for SECONDS (default 600)
#
# Installs cargo-fuzz if missing (crates.io). The toolchain is stable:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly flags. Sanitizer:
# JITCORE_FUZZ_SANITIZER (default address; "none" to go without).
# First every input under fuzz/regressions/<target>/ is run once (a crash
# fails); inputs under fuzz/regressions/<target>/pending/ (crashes whose fix
# is being written elsewhere) are run too and reported, without failing.
# Then each target runs from its seed corpus (fuzz/corpus/<target>, read
# only) plus a work corpus in target/fuzz-corpus/<target> that grows across
# runs. Crash inputs land in target/fuzz-artifacts/. Prints, per target, the
# inputs executed and crashes; exits nonzero on any crash, except those
# listed in fuzz/known-crashes.txt (fixes pending elsewhere), which are
# reported and the target restarted (JITCORE_FUZZ_STRICT=1: fail on them).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-smoke}
SECONDS_PER_TARGET=${2:-600}
TARGETS=(ir object getbuffer disk_entry)
# smoke: inputs per target (measured rates: ir ~350/s, every bitcode
# input is parsed in a forked child, object ~200/s,
# getbuffer ~70/s, disk_entry ~60/s on one core; all four about a minute)
declare -A SMOKE_RUNS=([ir]=1000 [object]=3000 [getbuffer]=1000 [disk_entry]=800)

case "$MODE" in
smoke | deep) ;;
*)
    echo "usage: $0 smoke|deep [SECONDS]" >&2
    exit 2
    ;;
esac

export LLVM_SYS_221_PREFIX=${LLVM_SYS_221_PREFIX:-/usr/lib/llvm-22}
export RUSTC_BOOTSTRAP=1
SANITIZER=${JITCORE_FUZZ_SANITIZER:-address}
TARGET_DIR=$ROOT/target/fuzz
BIN=$TARGET_DIR/x86_64-unknown-linux-gnu/release
WORK=$ROOT/target/fuzz-corpus
ART=$ROOT/target/fuzz-artifacts
# LLVM's own allocations live until exit by design; ASan's leak checker
# would report them (and jitcore's leak checks are the valgrind suite).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    t0=$(date +%s)
    cargo install cargo-fuzz --locked || exit 1
    echo "fuzz: cargo-fuzz installed in $(($(date +%s) - t0)) s"
fi

t0=$(date +%s)
(cd fuzz && cargo fuzz build -O --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR") || exit 1
echo "fuzz: targets built in $(($(date +%s) - t0)) s (sanitizer: $SANITIZER)"

dict_for() { [ "$1" = ir ] && echo "-dict=$ROOT/fuzz/ir.dict"; }

status=0
summary=()
mkdir -p "$ART"

# Regression inputs: each executed once.
for t in "${TARGETS[@]}"; do
    dir=fuzz/regressions/$t
    [ -d "$dir" ] || continue
    mapfile -t files < <(find "$dir" -maxdepth 1 -type f ! -name '*.md' | sort)
    if [ ${#files[@]} -gt 0 ]; then
        if "$BIN/$t" -runs=1 "${files[@]}" >"$ART/$t.regressions.log" 2>&1; then
            echo "fuzz: $t: ${#files[@]} regression input(s) pass"
        else
            echo "fuzz: $t: a regression input crashes (log: $ART/$t.regressions.log):"
            grep -aE "Running:|panicked|ERROR|SUMMARY" "$ART/$t.regressions.log" | tail -5
            status=1
        fi
    fi
    if [ -d "$dir/pending" ]; then
        for f in "$dir"/pending/*; do
            [ -f "$f" ] && [[ $f != *.md ]] || continue
            if "$BIN/$t" -runs=1 "$f" >/dev/null 2>&1; then
                echo "fuzz: $t: pending $(basename "$f") passes now: move it up to $dir/"
            else
                echo "fuzz: $t: pending $(basename "$f") still crashes (expected until its fix lands)"
            fi
        done
    fi
done

# Which known crash (fuzz/known-crashes.txt) a log shows, if any.
known_crash() {
    local t=$1 log=$2 kt re what
    [ "${JITCORE_FUZZ_STRICT:-0}" = 1 ] && return 1
    while IFS='|' read -r kt re what; do
        [[ -z $kt || $kt == \#* ]] && continue
        if [ "$kt" = "$t" ] && grep -aqE -- "$re" "$log"; then
            echo "$what"
            return 0
        fi
    done <"$ROOT/fuzz/known-crashes.txt"
    return 1
}

for t in "${TARGETS[@]}"; do
    mkdir -p "$WORK/$t" "$ART"
    total=0 crashes=0 known=0 runs=0
    t1=$(date +%s)
    # A known crash ends a libFuzzer run: start again (up to 10 times)
    # with what is left of the budget.
    while [ $runs -lt 10 ]; do
        runs=$((runs + 1))
        if [ "$MODE" = smoke ]; then
            left=$((SMOKE_RUNS[$t] - total))
            # A fixed seed: the smoke runs the same inputs on every machine
            # (a fresh clone starts from the same corpus).
            limit=(-runs="$left" -seed=1)
        else
            left=$((SECONDS_PER_TARGET - ($(date +%s) - t1)))
            limit=(-max_total_time="$left")
        fi
        [ "$left" -gt 0 ] || break
        log=$ART/$t.$runs.log
        # shellcheck disable=SC2046
        "$BIN/$t" $(dict_for "$t") "${limit[@]}" -timeout=30 -rss_limit_mb=3072 -print_final_stats=1 \
            -artifact_prefix="$ART/$t-" "$WORK/$t" "$ROOT/fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
        execs=$(grep -aoE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
        [ -n "$execs" ] || execs=$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
        total=$((total + ${execs:-0}))
        [ $rc -eq 0 ] && break
        crashes=$((crashes + 1))
        if what=$(known_crash "$t" "$log"); then
            known=$((known + 1))
            echo "fuzz: $t: KNOWN crash after ${execs:-0} inputs: $what ($(grep -aoE 'Test unit written to .*' "$log" | sed 's/Test unit written to //'))"
            [ "${execs:-0}" -gt 0 ] || break
        else
            status=1
            echo "fuzz: $t: NEW crash after ${execs:-0} inputs (log: $log):"
            grep -aE "panicked|ERROR: |SUMMARY|Test unit written" "$log" | head -6 | sed 's/^/    /'
            break
        fi
    done
    secs=$(($(date +%s) - t1))
    line="$t: $total inputs executed, $crashes crash(es) ($known known), ${secs} s"
    summary+=("$line")
    echo "fuzz: $line"
done

echo "fuzz ($MODE) summary:"
printf '  %s\n' "${summary[@]}"
exit $status
