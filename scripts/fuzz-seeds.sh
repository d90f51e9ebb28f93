#!/usr/bin/env bash
# Regenerates the seed corpora under fuzz/corpus/<target>/ (committed; run
# this only to refresh them): IR text and bitcode of small test programs,
# objects llc-22 makes of them, and, from the built fuzz targets themselves
# (JITCORE_FUZZ_WRITE_SEEDS), the exact object jitcore compiles for the
# known module and its genuine disk-cache entry. Needs the targets built
# (scripts/fuzz.sh builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${JITCORE_FUZZ_BIN:-target/fuzz/x86_64-unknown-linux-gnu/release}
C=fuzz/corpus
rm -rf "$C"
mkdir -p "$C"/{ir,object,getbuffer,disk_entry}
srcs=(tests-c/data/arith.ll conformance/llvm-ee/2010-01-15-UndefValue.ll conformance/llvm-ee/frem.ll
      conformance/llvm-ee/test-interp-vec-arithm_int.ll conformance/llvm-ee/MCJIT/2003-01-04-LoopTest.ll
      conformance/llvm-ee/MCJIT/2003-05-06-LivenessClobber.ll conformance/llvm-ee/MCJIT/2005-12-02-TailCallBug.ll)
printf 'define i32 @f() {\n  ret i32 42\n}\n' > "$C/ir/known.ll"
for s in "${srcs[@]}"; do
    n=$(basename "$s" .ll)
    cp "$s" "$C/ir/$n.ll"
    llvm-as-22 "$s" -o "$C/ir/$n.bc"
    llc-22 -O2 -filetype=obj -relocation-model=pic "$s" -o "$C/object/$n.o"
done
llc-22 -filetype=obj "$C/ir/known.ll" -o "$C/object/known-llc.o"
cp "$C/object/known-llc.o" "$C/object/arith.o" "$C/getbuffer/"
tmp=$(mktemp -d)
JITCORE_FUZZ_WRITE_SEEDS=$tmp "$BIN/getbuffer" -runs=1 >/dev/null 2>&1
JITCORE_FUZZ_WRITE_SEEDS=$tmp "$BIN/disk_entry" -runs=1 "$C/object/known-llc.o" >/dev/null 2>&1
cp "$tmp/known.o" "$C/object/known.o"
cp "$tmp/known.o" "$C/getbuffer/known.o"
cp "$tmp/genuine-entry" "$tmp/wrapped-object" "$C/disk_entry/"
printf '\0' > "$C/disk_entry/empty-file"
rm -rf "$tmp"
du -sh "$C"/*
