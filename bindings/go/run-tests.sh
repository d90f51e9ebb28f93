#!/usr/bin/env bash
# bindings/go/run-tests.sh <prefix>: the Go binding's checks against a
# jitcore installed under <prefix> (cmake --install ... --prefix <prefix>).
#
# Copies bindings/go and examples/go to a temporary directory outside the
# source tree and, with nothing but the prefix on the search paths
# (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig and an rpath to <prefix>/lib,
# CGO_LDFLAGS=-Wl,-rpath,<prefix>/lib), offline (GOPROXY=off, no module is
# needed outside the standard library), runs:
#   1. go vet ./...              (the binding)
#   2. go test -race ./...       (the binding's tests; -race turns checkptr on)
#   3. go vet, go build -race and a run of examples/go (the job every
#      language's example does), its output checked against job.expected
# Prints a summary line per step and "go: N passed, M failed"; exits nonzero
# on any failure. go-env.sh sets up the directory and the environment.
# Needs Go >= 1.19 (Debian 12's golang-go; scripts/install-deps.sh).
set -u
. "$(dirname "$0")/go-env.sh" "${1:-}" jitcore-go-tests

echo "go: $(go version), jitcore $(pkg-config --modversion jitcore) from $prefix, in $work"
passed=0
failed=0
step() { # step NAME LOG COMMAND...: runs COMMAND, prints NAME's outcome and time
    local name=$1 log=$2 t0 rc
    shift 2
    t0=$(date +%s.%N)
    "$@" >"$log" 2>&1
    rc=$?
    local secs
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "go: PASS $name (${secs}s)"
    else
        failed=$((failed + 1))
        echo "go: FAIL $name (${secs}s, exit $rc):"
        grep -vE '^(=== RUN|=== PAUSE|=== CONT|--- PASS)' "$log" | tail -n 60 | sed 's/^/    /'
    fi
    return $rc
}

cd "$work/bindings/go" || exit 1
step "go vet ./... (bindings/go)" "$work/vet.log" go vet ./...
step "go test -race ./... (bindings/go)" "$work/test.log" go test -race -count=1 -v ./...
tests_passed=$(grep -c '^--- PASS' "$work/test.log")
tests_failed=$(grep -c '^--- FAIL' "$work/test.log")
echo "go:   $tests_passed tests passed, $tests_failed failed; $(grep -E '^(ok|FAIL|\?)[[:space:]]' "$work/test.log" | tr '\n' ';' | sed 's/;$//')"

cd "$work/examples/go" || exit 1
run_example() {
    go vet . || return 1
    go build -race -o "$work/job" . || return 1
    (cd / && "$work/job") >"$work/job.out" || { cat "$work/job.out"; return 1; }
    cat "$work/job.out"
    sed -e 's/jitcore [0-9][0-9.]*$/jitcore <VERSION>/' \
        -e 's/CodeBytesLive [0-9]* after the calls/CodeBytesLive <N> after the calls/' \
        "$work/job.out" | diff -u job.expected - || return 1
}
if step "examples/go (the job: session and engine, object cache, errors, removal)" "$work/example.log" run_example; then
    sed 's/^/    /' "$work/job.out"
fi

echo "go: $passed passed, $failed failed"
[ $failed -eq 0 ]
