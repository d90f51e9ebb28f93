#!/usr/bin/env bash
# bindings/cpp/run-tests.sh <prefix>: builds and runs the C++ binding's tests
# (bindings/cpp/tests, ctest) and the C++ example (examples/cpp) with CMake
# against the jitcore installed in <prefix>: -DCMAKE_PREFIX_PATH=<prefix> is
# the only search path, the build directories are in a temporary directory
# outside the source tree, and the programs run without LD_LIBRARY_PATH (the
# build rpath CMake sets finds the library). Prints a summary; exits nonzero
# on failure.
#
#   JITCORE_CPP_VALGRIND=1   run each test under valgrind's leak checker
#                            (definite leaks and memory errors fail; slow)
#   JOBS=N                   parallel build and ctest jobs (default: nproc)
#   KEEP_TMP=1               keep the temporary directory
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <install prefix>" >&2; exit 2; }
prefix=$(realpath "$1")
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
fail() { echo "bindings/cpp: FAIL: $*" >&2; exit 1; }

[[ -f $prefix/include/jitcore.hpp ]] || fail "$prefix/include/jitcore.hpp is missing (install jitcore to $prefix first)"
cmp -s "$prefix/include/jitcore.hpp" "$here/jitcore.hpp" \
  || fail "$prefix/include/jitcore.hpp differs from bindings/cpp/jitcore.hpp (reinstall)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-cpp.XXXXXX")
cleanup() { if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "bindings/cpp: kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
unset LD_LIBRARY_PATH CPATH CPLUS_INCLUDE_PATH LIBRARY_PATH
cd "$tmp"

cmake_args=(-DCMAKE_PREFIX_PATH="$prefix")
if [[ ${JITCORE_CPP_VALGRIND:-0} == 1 ]]; then
  cmake_args+=("-DJITCORE_CPP_TEST_LAUNCHER=valgrind;--leak-check=full;--errors-for-leak-kinds=definite;--show-leak-kinds=definite;--error-exitcode=99;--quiet")
fi

build() { # <source dir> <build dir> <what>
  if ! cmake -S "$1" -B "$2" "${cmake_args[@]}" > "$2.log" 2>&1 || ! cmake --build "$2" -j "$jobs" >> "$2.log" 2>&1; then
    cat "$2.log" >&2
    fail "$3 does not build against $prefix"
  fi
}

build "$here/tests" "$tmp/tests" "the C++ tests"
if ! (cd "$tmp/tests" && ctest -j "$jobs" --output-on-failure) > "$tmp/ctest.out" 2>&1; then
  cat "$tmp/ctest.out"
  fail "C++ binding tests failed"
fi
summary=$(grep -E '^[0-9]+% tests passed' "$tmp/ctest.out")
cases=$(grep -hE '^[0-9]+ passed, [0-9]+ failed$' "$tmp/tests/Testing/Temporary/LastTest.log" | awk '{ n += $1 } END { print n + 0 }')

build "$root/examples/cpp" "$tmp/example" "examples/cpp"
if ! "$tmp/example/job" > "$tmp/job.out" 2>&1; then
  cat "$tmp/job.out"
  fail "examples/cpp/job exited with an error"
fi
cat "$tmp/job.out"
grep -qxF "job: all checks passed" "$tmp/job.out" || fail "examples/cpp/job printed no 'job: all checks passed'"

echo "bindings/cpp: ctest: $summary ($cases test cases)"
echo "bindings/cpp: examples/cpp/job passed"
