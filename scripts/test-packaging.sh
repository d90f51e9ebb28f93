#!/usr/bin/env bash
# Builds and installs libjitcore with CMake into a temporary prefix, checks
# the installed layout and exported symbols, then builds and runs an
# out-of-tree C consumer (tests-c/consumer/) through pkg-config and through
# find_package(jitcore CONFIG).
#
#   bash scripts/test-packaging.sh
#
# JITCORE_CARGO_TARGET_DIR=<dir>  reuse an existing cargo target dir instead
#                                 of compiling the crate from scratch.
# KEEP_TMP=1                      keep the temporary directory (for debugging).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitcore-packaging.XXXXXX")
cleanup() {
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "packaging: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

fail() {
  echo "packaging: FAIL: $*" >&2
  exit 1
}
step() {
  echo "==> $*"
}

# The version, from Cargo.toml's [package] section (as CMakeLists.txt does).
version=$(awk '
  /^[[:space:]]*\[/ { in_pkg = ($0 ~ /^[[:space:]]*\[package\][[:space:]]*$/); next }
  in_pkg && /^[[:space:]]*version[[:space:]]*=/ {
    if (match($0, /"[0-9]+\.[0-9]+\.[0-9]+/)) { print substr($0, RSTART + 1, RLENGTH - 1); exit }
  }' "$root/Cargo.toml")
[[ -n "$version" ]] || fail "no version in $root/Cargo.toml"
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
# The ABI rule: in 0.x a minor bump may break it, so the SONAME carries the
# minor version (libjitcore.so.0.MINOR); from 1.0 the major one.
if [[ "$major" == 0 ]]; then soname="libjitcore.so.0.$minor"; else soname="libjitcore.so.$major"; fi
echo "packaging: jitcore $version (SONAME $soname)"

# --- Configure, build, install ---------------------------------------------
cmake_args=(-S "$root" -B "$tmp/build" -DBUILD_TESTING=OFF -DCMAKE_INSTALL_LIBDIR=lib)
if [[ -n "${JITCORE_CARGO_TARGET_DIR:-}" ]]; then
  cmake_args+=("-DJITCORE_CARGO_TARGET_DIR=$(realpath -m "$JITCORE_CARGO_TARGET_DIR")")
fi
step "cmake ${cmake_args[*]}"
cmake "${cmake_args[@]}"
step "cmake --build $tmp/build"
cmake --build "$tmp/build"
prefix="$tmp/prefix"
step "cmake --install $tmp/build --prefix $prefix"
cmake --install "$tmp/build" --prefix "$prefix"

# --- Installed layout -------------------------------------------------------
step "checking the installed layout"
lib="$prefix/lib"
real="libjitcore.so.$version"
[[ -f "$lib/$real" && ! -L "$lib/$real" ]] || fail "$lib/$real is missing or not a regular file"
[[ -x "$lib/$real" ]] || fail "$lib/$real is not executable"
[[ -L "$lib/$soname" ]] || fail "$lib/$soname is missing or not a symlink"
[[ "$(readlink "$lib/$soname")" == "$real" ]] || fail "$lib/$soname -> $(readlink "$lib/$soname"), expected $real"
[[ -L "$lib/libjitcore.so" ]] || fail "$lib/libjitcore.so is missing or not a symlink"
[[ "$(readlink "$lib/libjitcore.so")" == "$soname" ]] || fail "$lib/libjitcore.so -> $(readlink "$lib/libjitcore.so"), expected $soname"
[[ -e "$lib/libjitcore.so" ]] || fail "$lib/libjitcore.so is a dangling symlink"

actual_soname=$(readelf -d "$lib/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ "$actual_soname" == "$soname" ]] || fail "SONAME of $real is '$actual_soname', expected $soname"
if readelf -d "$lib/$real" | grep -E '\((RPATH|RUNPATH)\)' | grep -qF "$tmp"; then
  fail "$real has an RPATH/RUNPATH into the build tree"
fi

[[ -f "$prefix/include/jitcore.h" ]] || fail "$prefix/include/jitcore.h is missing"
cmp -s "$prefix/include/jitcore.h" "$root/include/jitcore.h" || fail "installed jitcore.h differs from include/jitcore.h"
[[ -f "$lib/pkgconfig/jitcore.pc" ]] || fail "$lib/pkgconfig/jitcore.pc is missing"
[[ -f "$lib/cmake/jitcore/jitcoreConfig.cmake" ]] || fail "$lib/cmake/jitcore/jitcoreConfig.cmake is missing"
[[ -f "$lib/cmake/jitcore/jitcoreConfigVersion.cmake" ]] || fail "$lib/cmake/jitcore/jitcoreConfigVersion.cmake is missing"

export PKG_CONFIG_PATH="$lib/pkgconfig"
pc_version=$(pkg-config --modversion jitcore)
[[ "$pc_version" == "$version" ]] || fail "pkg-config --modversion jitcore = $pc_version, expected $version"
pc_prefix=$(pkg-config --variable=prefix jitcore)
[[ "$pc_prefix" == "$prefix" ]] || fail "jitcore.pc has prefix=$pc_prefix, expected $prefix"

# --- Exported symbols -------------------------------------------------------
step "checking the exported symbols"
nm -D --defined-only "$lib/$real" | awk 'NF { print $NF }' | sort -u > "$tmp/exported"
[[ -s "$tmp/exported" ]] || fail "$real exports no symbols"
if grep -v '^Jitcore' "$tmp/exported" > "$tmp/stray"; then
  fail "$real exports symbols not starting with Jitcore: $(tr '\n' ' ' < "$tmp/stray")"
fi
# Every function the header declares is exported, and nothing else (a
# function name is followed by `(`; a function pointer type's return type by `(*`).
"${CC:-cc}" -E -P -x c "$root/include/jitcore.h" \
  | grep -oE '\bJitcore[A-Za-z0-9_]*[[:space:]]*\(([^*]|$)' | sed 's/[[:space:]]*(.*$//' | sort -u > "$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/symdiff"; then
  cat "$tmp/symdiff" >&2
  fail "functions declared in jitcore.h (-) and symbols exported by $real (+) differ"
fi
echo "packaging: $(wc -l < "$tmp/exported") exported symbols, all declared in jitcore.h"

# --- Consumer through pkg-config -------------------------------------------
step "building the consumer with pkg-config"
# shellcheck disable=SC2046  # word splitting of pkg-config output is intended
gcc -std=c11 -Wall -Wextra -Werror -pedantic \
  "$root/tests-c/consumer/consumer.c" $(pkg-config --cflags --libs jitcore) \
  -o "$tmp/consumer-pc"
# Built against a non-standard prefix, the program does not find the library
# at run time by itself (README, "Finding the library at run time")...
if err=$(env -u LD_LIBRARY_PATH "$tmp/consumer-pc" 2>&1); then
  fail "consumer (pkg-config, no rpath, no LD_LIBRARY_PATH) started; expected the loader to miss $soname"
fi
grep -qF "$soname: cannot open shared object file" <<< "$err" || fail "unexpected failure without a search path: $err"
echo "packaging: without rpath or LD_LIBRARY_PATH the loader misses $soname, as documented"
# ...it does with LD_LIBRARY_PATH, or with an rpath from pkg-config's libdir.
out=$(LD_LIBRARY_PATH="$lib" "$tmp/consumer-pc") || fail "consumer (pkg-config) exited with $?"
echo "$out"
grep -qxF "consumer: sum(2,-5) = -3" <<< "$out" || fail "consumer (pkg-config) printed no 'consumer: sum(2,-5) = -3'"
needed=$(readelf -d "$tmp/consumer-pc" | sed -n 's/.*(NEEDED).*\[\(libjitcore[^]]*\)\].*/\1/p')
[[ "$needed" == "$soname" ]] || fail "consumer (pkg-config) needs '$needed', expected $soname"
# shellcheck disable=SC2046
gcc -std=c11 "$root/tests-c/consumer/consumer.c" $(pkg-config --cflags --libs jitcore) \
  -Wl,-rpath,"$(pkg-config --variable=libdir jitcore)" -o "$tmp/consumer-rpath"
out=$(env -u LD_LIBRARY_PATH "$tmp/consumer-rpath") || fail "consumer (pkg-config, rpath) exited with $?"
grep -qxF "consumer: sum(2,-5) = -3" <<< "$out" || fail "consumer (rpath) printed no 'consumer: sum(2,-5) = -3'"
echo "packaging: with -Wl,-rpath,\$(pkg-config --variable=libdir jitcore) it starts"

# --- Version compatibility of the CMake package -----------------------------
# In 0.x a minor bump breaks the ABI: find_package(jitcore 0.MINOR.x) accepts
# this package only for the same minor version.
step "checking the CMake package's version rule"
check_find() { # <requested version> <expected: found|not>
  local d="$tmp/find-$1"
  mkdir -p "$d"
  printf 'cmake_minimum_required(VERSION 3.16)\nproject(v NONE)\nfind_package(jitcore %s CONFIG QUIET)\nmessage(STATUS "found=${jitcore_FOUND}")\n' "$1" > "$d/CMakeLists.txt"
  local got
  got=$(cmake -S "$d" -B "$d/b" -DCMAKE_PREFIX_PATH="$prefix" 2>&1 | sed -n 's/.*found=\(.*\)$/\1/p')
  if [[ "$2" == found ]]; then [[ "$got" == 1 ]] || fail "find_package(jitcore $1) did not accept $version"
  else [[ "$got" != 1 ]] || fail "find_package(jitcore $1) accepted $version"; fi
}
check_find "$version" found
if [[ "$major" == 0 ]]; then
  check_find "0.$minor.0" found
  check_find "0.$((minor + 1)).0" not
  [[ "$minor" -gt 0 ]] && check_find "0.$((minor - 1)).0" not
fi
check_find "$((major + 1)).0.0" not
echo "packaging: find_package accepts $version only within $( [[ $major == 0 ]] && echo "0.$minor.x" || echo "$major.x")"

# --- Consumer through find_package(jitcore CONFIG) ---------------------------
run_cmake_consumer() { # <prefix> <build dir>
  cmake -S "$root/tests-c/consumer" -B "$2" -DCMAKE_PREFIX_PATH="$1"
  cmake --build "$2"
  # No LD_LIBRARY_PATH: the build RPATH CMake sets must find the library.
  out=$(env -u LD_LIBRARY_PATH "$2/consumer") || fail "consumer (CMake, prefix $1) exited with $?"
  echo "$out"
  grep -qxF "consumer: sum(2,-5) = -3" <<< "$out" || fail "consumer (CMake) printed no 'consumer: sum(2,-5) = -3'"
}
step "building the consumer with find_package(jitcore CONFIG)"
run_cmake_consumer "$prefix" "$tmp/consumer-cmake"

# The CMake package must be relocatable: move the prefix and build again.
step "building the consumer against a relocated prefix"
mv "$prefix" "$tmp/relocated"
run_cmake_consumer "$tmp/relocated" "$tmp/consumer-cmake-relocated"

echo "packaging: OK"
