#!/usr/bin/env bash
# check-deep.sh: the long campaigns of `make check-deep` (tests-deep/):
#   stress       8 threads on one session and one engine, every result checked
#                (JITCORE_STRESS_SECONDS, default 120)
#   faults       read-only, vanishing, full and concurrently corrupted disk
#                caches; hostile object cache callbacks
#   error_paths  every error path K times (JITCORE_ERROR_PATHS_ITERATIONS,
#                default 200) with an RSS bound, then a few under valgrind's
#                leak checker (JITCORE_DEEP_VALGRIND_ITERATIONS, default 2;
#                JITCORE_DEEP_VALGRIND=0 skips it)
# It needs target/release/libjitcore.so (make build). The read-only and
# full-disk scenarios mount tmpfs file systems (root); without mount they
# are skipped with a message. Every mount and temporary directory is removed
# on exit, failure included. Prints a summary; exits nonzero if anything
# failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIBDIR=$ROOT/target/release
OUT=${JITCORE_DEEP_BUILD_DIR:-$ROOT/build/deep}
CC=${CC:-cc}
CFLAGS="-std=c11 -Wall -Wextra -Werror -pedantic -pthread -O1 -g"
SECONDS_STRESS=${JITCORE_STRESS_SECONDS:-120}
export JITCORE_STRESS_SECONDS=$SECONDS_STRESS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-deep-XXXXXX")
MOUNTS=()
cleanup() {
    local m
    for m in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
declare -A STATUS
FAILED=0
fail() { STATUS[$1]="FAILED ($2)"; FAILED=1; }

if [ ! -e "$LIBDIR/libjitcore.so" ]; then
    echo "check-deep: $LIBDIR/libjitcore.so is missing: run 'make build' first" >&2
    exit 2
fi
soname=$(readelf -d "$LIBDIR/libjitcore.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ -e "$LIBDIR/$soname" ] || ln -sf libjitcore.so "$LIBDIR/$soname"

# ---------------------------------------------------------------- build
mkdir -p "$OUT"
for prog in stress faults error_paths; do
    if ! $CC $CFLAGS -I"$ROOT/include" "$ROOT/tests-deep/$prog.c" -o "$OUT/$prog" \
        -L"$LIBDIR" -Wl,-rpath,"$LIBDIR" -ljitcore; then
        echo "check-deep: cannot build tests-deep/$prog.c" >&2
        exit 2
    fi
done
echo "check-deep: built stress, faults, error_paths in $OUT"

# Runs "$@" with a time limit; logs to $TMP/<name>.log and to stdout.
run() {
    local name=$1 limit=$2
    shift 2
    echo "check-deep: running $name (limit ${limit}s)"
    timeout --signal=KILL "$limit" "$@" >"$TMP/$name.log" 2>&1
    local rc=$?
    cat "$TMP/$name.log"
    cp "$TMP/$name.log" "$OUT/$name.log"
    if [ $rc -eq 137 ]; then
        fail "$name" "hung: killed after ${limit}s"
    elif [ $rc -gt 128 ]; then
        fail "$name" "crashed: signal $((rc - 128))"
    elif [ $rc -ne 0 ]; then
        fail "$name" "exit status $rc"
    else
        STATUS[$name]="passed"
    fi
    return $rc
}

# ---------------------------------------------------------------- stress
run stress $((SECONDS_STRESS * 3 + 180)) "$OUT/stress"

# ---------------------------------------------------------------- faults
RO=$TMP/ro FULL=$TMP/full
mkdir -p "$RO" "$FULL"
FAULT_ENV=()
if mount -t tmpfs -o size=16m,mode=0700 jitcore-deep-ro "$RO" 2>/dev/null; then
    MOUNTS+=("$RO")
    if "$OUT/faults" populate "$RO" && mount -o remount,ro "$RO" 2>/dev/null; then
        FAULT_ENV+=("FAULTS_RO_DIR=$RO")
    else
        echo "check-deep: faults: readonly: cannot populate or remount $RO read-only"
    fi
else
    echo "check-deep: faults: readonly and fulldisk: mount not permitted here, skipped"
fi
if mount -t tmpfs -o size=64k,mode=0700 jitcore-deep-full "$FULL" 2>/dev/null; then
    MOUNTS+=("$FULL")
    FAULT_ENV+=("FAULTS_FULL_DIR=$FULL")
fi
run faults 900 env "${FAULT_ENV[@]+"${FAULT_ENV[@]}"}" TMPDIR="$TMP" "$OUT/faults"

# ---------------------------------------------------------------- error paths
run error_paths 900 env TMPDIR="$TMP" "$OUT/error_paths"
VG_RESULT="skipped (JITCORE_DEEP_VALGRIND=0)"
if [ "${JITCORE_DEEP_VALGRIND:-1}" != 0 ]; then
    if command -v valgrind >/dev/null; then
        run error_paths_valgrind 1800 env TMPDIR="$TMP" \
            JITCORE_ERROR_PATHS_ITERATIONS="${JITCORE_DEEP_VALGRIND_ITERATIONS:-2}" \
            valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
            "$OUT/error_paths"
        VG_RESULT=$(grep -E "definitely lost|ERROR SUMMARY" "$TMP/error_paths_valgrind.log" | sed 's/^==[0-9]*== *//' | tail -n 2 | paste -sd';' -)
        [ -n "$VG_RESULT" ] || VG_RESULT="no leak summary (see $OUT/error_paths_valgrind.log)"
    else
        fail error_paths_valgrind "valgrind is not installed"
        VG_RESULT="valgrind missing"
    fi
fi

# ---------------------------------------------------------------- summary
elapsed=$(($(date +%s) - started))
echo
echo "================ check-deep summary ================"
printf '%-24s %s\n' "program" "result"
for name in stress faults error_paths error_paths_valgrind; do
    [ -n "${STATUS[$name]+x}" ] && printf '%-24s %s\n' "$name" "${STATUS[$name]}"
done
echo "---------------- stress (JITCORE_STRESS_SECONDS=$SECONDS_STRESS)"
grep -E '^stress: [a-z_]+ +[0-9]+ operations|^stress: [0-9]+ operations' "$TMP/stress.log" | sed 's/^stress: /  /'
if ! grep -q '^stress: [0-9]* operations' "$TMP/stress.log"; then
    echo "  (no final count: the program did not finish; counts when it crashed:)"
    grep -E '^stress: CRASH|^stress: \(before the crash\)' "$TMP/stress.log" | sed 's/^stress: /  /'
fi
echo "---------------- faults"
grep -E '^faults: [a-z_]+: ' "$TMP/faults.log" | sed -e 's/^faults: /  /' -e 's/; disk cache.*//' -e 's/; rejected.*//'
grep -E '^faults: [0-9]+ scenarios' "$TMP/faults.log" | sed 's/^faults: /  /'
echo "---------------- error paths"
grep -E '^error_paths: [0-9]+ iterations' "$TMP/error_paths.log" | sed 's/^error_paths: /  /'
echo "  valgrind: $VG_RESULT"
echo "---------------- time: ${elapsed}s; logs in $OUT"
if [ $FAILED -ne 0 ]; then
    echo "check-deep: FAILED"
    exit 1
fi
echo "check-deep: all passed"
