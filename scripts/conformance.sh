#!/usr/bin/env bash
# Runs LLVM's own ExecutionEngine tests (conformance/llvm-ee, a copy of
# ../shared/conformance) through target/release/jitcore-run and prints the
# tally. Fails on any failure not listed, with its reason, in
# conformance/known-failures.txt, and on a listed row that now passes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(bash conformance/run-llvm-ee.sh --lli target/release/jitcore-run -v 2>&1)
echo "$out" | tail -n 1
known=$(grep -v '^#' conformance/known-failures.txt | grep -v '^$' | sort)
failed=$(echo "$out" | awk '/^(FAIL|TIMEOUT) / {print $2}' | sort)
unexpected=$(comm -13 <(echo "$known") <(echo "$failed") | grep -v '^$' || true)
fixed=$(comm -23 <(echo "$known") <(echo "$failed") | grep -v '^$' || true)
status=0
if [[ -n "$unexpected" ]]; then
    echo "conformance: unexpected failures:"
    echo "$out" | grep -F -f <(echo "$unexpected") | sed 's/^/    /'
    status=1
fi
if [[ -n "$fixed" ]]; then
    echo "conformance: rows listed as known failures now pass (remove them): $fixed"
    status=1
fi
[[ $status -eq 0 ]] && echo "conformance: OK (known failures: $(echo "$known" | wc -l), see conformance/known-failures.txt)"
exit $status
