#!/usr/bin/env bash
# Installs what building and testing jitcore needs on Debian 12, if missing:
# LLVM 22 (libLLVM-22.so, headers, llvm-config, FileCheck/llc/opt/llvm-as),
# a C compiler, cmake, pkg-config, valgrind and python3 (benchmark and demo
# IR generators), Go (golang-go, for the Go binding), pip (python3-pip: the Zig
# binding's runner installs Zig 0.17, PyPI's ziglang, with it when missing).
# Rust (cargo) must be present.
set -euo pipefail

packages=(llvm-22 llvm-22-dev llvm-22-tools libllvm22 clang-22 libclang-rt-22-dev gcc g++ make cmake pkg-config valgrind binutils python3 python3-pip golang-go)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo (Rust 1.82 or newer) is required and was not found" >&2
  exit 1
fi
test -x /usr/lib/llvm-22/bin/llvm-config || { echo "install-deps: /usr/lib/llvm-22/bin/llvm-config missing" >&2; exit 1; }
