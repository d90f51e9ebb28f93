#!/usr/bin/env python3
"""The llvmlite peer of bench/harness (same figures, same output): llvmlite
0.50's MCJIT ExecutionEngine on the same IR text, each module parsed
(llvmlite's one global context) and verified, optionally run through
llvmlite's own pass builder (default<On> at the opt level, --passes; one
per module), added,
finalized and looked up; entries are called through ctypes. Times are of
the measured part only, and include Python's own overhead per call.

usage: llvmlite_peer.py cold|lookup|memory [-O0..-O3] [--passes] [--sym NAME]
       [--names A,B] [--iters N] [--cycles N] [--rename] FILE...
"""
import ctypes
import json
import os
import sys
import time

import llvmlite.binding as llvm

CALL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class Peer:
    def __init__(self, opt, passes):
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        self.tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                               features=llvm.get_host_cpu_features().flatten(),
                                               opt=opt, reloc="pic", codemodel="small", jit=True)
        self.ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self.pto = llvm.create_pipeline_tuning_options(speed_level=opt) if passes else None

    def add(self, ir):
        mod = llvm.parse_assembly(ir)
        mod.verify()
        if self.pto:
            # A pass builder per module: llvmlite 0.50's module pass
            # manager at O2 aborts when run on a second module.
            pb = llvm.create_pass_builder(self.tm, self.pto)
            pb.getModulePassManager().run(mod, pb)
        self.ee.add_module(mod)
        self.ee.finalize_object()
        return mod

    def lookup(self, name):
        address = self.ee.get_function_address(name)
        if not address:
            sys.exit(f"llvmlite_peer: {name} not found")
        return address


def clock():
    return time.perf_counter(), time.process_time()


def report(figure, subject, start, per, **extra):
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    print(json.dumps({"figure": figure, "subject": subject, "wall": wall / per, "cpu": cpu / per, "per": per, **extra}))


def main():
    args = sys.argv[1:]
    figure = args.pop(0)
    opt, passes, names, iters, cycles, rename, sym, files = 2, False, "f0", 1000, 10000, False, None, []
    while args:
        a = args.pop(0)
        if a in ("-O0", "-O1", "-O2", "-O3"):
            opt = int(a[2])
        elif a == "--passes":
            passes = True
        elif a == "--rename":
            rename = True
        elif a == "--sym":
            sym = args.pop(0)
        elif a == "--names":
            names = args.pop(0)
        elif a == "--iters":
            iters = int(args.pop(0))
        elif a == "--cycles":
            cycles = int(args.pop(0))
        else:
            files.append(a)
    subject = "llvmlite+passes" if passes else "llvmlite"
    inputs = []
    for path in files:
        with open(path) as f:
            inputs.append((sym or os.path.basename(path).split(".")[0], f.read()))
    peer = Peer(opt, passes)
    if figure == "cold":
        start, total = clock(), 0
        for entry, ir in inputs:
            peer.add(ir)
            total += CALL(peer.lookup(entry))(3)
        report("cold", subject, start, len(inputs), checksum=total)
    elif figure == "lookup":
        peer.add(inputs[0][1])
        for name in names.split(","):
            first = peer.lookup(name)
            start = clock()
            for _ in range(iters):
                peer.lookup(name)
            report("lookup", subject, start, iters, name=name)
            assert peer.lookup(name) == first
    elif figure == "memory":
        entry, ir = inputs[0]
        before, start = 0, None
        for i in range(100 + cycles):
            if i == 100:
                before, start = rss_kb(), clock()
            name = f"{entry}_{i}" if rename else entry
            mod = peer.add(ir.replace(f"@{entry}(", f"@{name}(") if rename else ir)
            CALL(peer.lookup(name))(3)
            peer.ee.remove_module(mod)
        report("memory", subject, start, cycles, rss_before_kb=before, growth_kb=rss_kb() - before)
    else:
        sys.exit(f"llvmlite_peer: no figure {figure}")


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024


if __name__ == "__main__":
    main()
