#!/usr/bin/env bash
# The real-program corpus (../shared/testsuite: LLVM test-suite programs as
# IR, with their native output) through jitcore-run and through lli-22,
# under each -jit-kind. Prints, per kind, each runner's pass count and
# whole-corpus wall time, and the time ratio jitcore-run / lli-22; fails if
# jitcore-run passes fewer programs than lli-22 under any kind, or fails a
# program lli-22 passes.
#
#   scripts/check-programs.sh            all three kinds
#   KINDS="orc" JOBS=2 scripts/check-programs.sh
#   EXTRA="-compile-threads=2" ...       extra jitcore-run flags
set -uo pipefail
cd "$(dirname "$0")/.."
SUITE=${TESTSUITE:-../shared/testsuite}
RUN=$SUITE/run.sh
JITCORE_RUN=${JITCORE_RUN:-target/release/jitcore-run}
LLI=${LLI:-$(command -v lli-22 || echo /usr/lib/llvm-22/bin/lli)}
KINDS=${KINDS:-mcjit orc orc-lazy}
export JOBS=${JOBS:-2}
EXTRA=${EXTRA:-}
if [ ! -x "$RUN" ] && [ ! -f "$RUN" ]; then
    echo "check-programs: no corpus at $SUITE (set TESTSUITE=)" >&2
    exit 2
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for kind in $KINDS; do
    for who in lli jitcore; do
        if [ $who = lli ]; then runner=("$LLI" "-jit-kind=$kind"); else
            # shellcheck disable=SC2206
            runner=("$JITCORE_RUN" "-jit-kind=$kind" $EXTRA)
        fi
        t0=$(date +%s%N)
        RESULTS=$out/$who.$kind.tsv bash "$RUN" "${runner[@]}" >"$out/$who.$kind.log" 2>&1
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000)) >"$out/$who.$kind.ms"
    done
    lp=$(awk -F'\t' '$2 == "PASS"' "$out/lli.$kind.tsv" | wc -l)
    jp=$(awk -F'\t' '$2 == "PASS"' "$out/jitcore.$kind.tsv" | wc -l)
    n=$(wc -l <"$out/jitcore.$kind.tsv")
    lms=$(cat "$out/lli.$kind.ms")
    jms=$(cat "$out/jitcore.$kind.ms")
    ratio=$(awk -v a="$jms" -v b="$lms" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf 'check-programs: -jit-kind=%-8s jitcore-run %3d/%d passed (%.1f s), lli-22 %3d passed (%.1f s), time ratio %s\n' \
        "$kind" "$jp" "$n" "$(awk -v m="$jms" 'BEGIN{print m/1000}')" "$lp" "$(awk -v m="$lms" 'BEGIN{print m/1000}')" "$ratio"
    # Programs lli passes and jitcore-run does not.
    worse=$(join -t $'\t' <(awk -F'\t' '$2 == "PASS" {print $1}' "$out/lli.$kind.tsv" | sort) \
        <(awk -F'\t' '$2 != "PASS" {print $1}' "$out/jitcore.$kind.tsv" | sort))
    if [ -n "$worse" ]; then
        status=1
        echo "check-programs: jitcore-run fails what lli-22 passes under -jit-kind=$kind:"
        for id in $worse; do grep -a "^FAIL $id:" "$out/jitcore.$kind.log" | sed 's/^/    /'; done
    fi
    if [ "$jp" -lt "$lp" ]; then status=1; fi
    better=$(join -t $'\t' <(awk -F'\t' '$2 == "PASS" {print $1}' "$out/jitcore.$kind.tsv" | sort) \
        <(awk -F'\t' '$2 != "PASS" {print $1}' "$out/lli.$kind.tsv" | sort) | tr '\n' ' ')
    [ -n "$better" ] && echo "check-programs:   jitcore-run passes, lli-22 fails: $better"
done
exit $status
