"""Benchmark input for the lead's cross-language table (issue 12, "Measured").

One run prints, for numba 0.68 on jitcore (jitcore.llvmlite.install()) and
on llvmlite 0.50's MCJIT, each in a fresh subprocess:
  - the compile time of a few numba functions (first call, per function;
    the fastest of 5 compiles of fresh copies, as the machine may be shared),
  - resident memory growth over repeated compile-and-drop cycles (numba
    keeps what it compiled, on either engine), and over add/call/remove
    cycles of the engine itself (MCJIT never frees removed code),
as ratios jitcore/llvmlite (below 1: jitcore is faster / leaner), and, for
the binding itself:
  lookup_ns       one lookup of a compiled symbol through jitcore.Session.lookup
  add_compile_us  add + compile (+ remove) of a tiny module through the binding

  python3 bindings/python/bench.py [--cycles N]
"""

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time

FUNCTIONS = {
    "loop_arith": """
def loop_arith(n):
    s = 0
    for i in range(n):
        s += (i * 7) % 13
    return s
""",
    "array_stats": """
def array_stats(a):
    m = a.mean()
    return ((a - m) ** 2).sum() / a.shape[0]
""",
    "nested_lists": """
def nested_lists(n):
    out = []
    for i in range(n):
        out.append([j * i for j in range(4)])
    return len(out)
""",
}
ARGS = {"loop_arith": "100", "array_stats": "np.arange(100.0)", "nested_lists": "10"}
REPEATS = 5


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(engine, cycles):
    if engine == "jitcore":
        import jitcore.llvmlite as jl
        jl.install()
    import numpy as np
    from numba import njit
    njit(lambda x: x + 1)(1)            # numba's own start-up, not measured
    out = {"compile_ms": {}}
    for name, src in FUNCTIONS.items():
        samples = []
        for _ in range(REPEATS):           # a fresh function object compiles afresh
            ns = {"np": np}
            exec(src, ns)
            f = njit(ns[name])
            arg = eval(ARGS[name], ns)
            t = time.perf_counter()
            f(arg)
            samples.append((time.perf_counter() - t) * 1e3)
        out["compile_ms"][name] = min(samples)   # the least disturbed compile
    # compile-and-drop cycles: a new function each time, compiled, called, dropped
    def cycle(i):
        ns = {}
        exec("def g_%d(x):\n    return x * %d + %d\n" % (i, i, i), ns)
        f = njit(ns["g_%d" % i])
        assert f(2) == 2 * i + i
        del f, ns
    for i in range(20):                  # warm-up
        cycle(i)
    gc.collect()
    before = rss_kb()
    t = time.perf_counter()
    for i in range(20, 20 + cycles):
        cycle(i)
    gc.collect()
    out["cycle_ms"] = (time.perf_counter() - t) * 1e3 / cycles
    out["rss_growth_kb"] = rss_kb() - before
    out["cycles"] = cycles
    # the engine itself: add, look up, call, remove a module, many times
    # (numba never removes modules; hosts that do see the difference here)
    import llvmlite.binding as llvm
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    ir = "define i64 @k%d(i64 %%x) {\n  %%y = mul i64 %%x, %d\n  ret i64 %%y\n}\n"
    fn_t = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)

    def engine_cycle(i):
        m = llvm.parse_assembly(ir % (i, i))
        ee.add_module(m)
        assert fn_t(ee.get_function_address("k%d" % i))(2) == 2 * i
        ee.remove_module(m)
        m.close()
    for i in range(200):
        engine_cycle(i)
    gc.collect()
    before = rss_kb()
    t = time.perf_counter()
    n = cycles * 10
    for i in range(200, 200 + n):
        engine_cycle(i)
    gc.collect()
    out["engine_cycle_us"] = (time.perf_counter() - t) * 1e6 / n
    out["engine_rss_growth_kb"] = rss_kb() - before
    out["engine_cycles"] = n
    print(json.dumps(out))


def binding_micro():
    import jitcore
    s = jitcore.Session(opt_level=2)
    s.add_module("define i32 @f(i32 %x) {\n  %y = add i32 %x, 1\n  ret i32 %y\n}\n")
    s.lookup("f")
    n = 20000
    t = time.perf_counter()
    for _ in range(n):
        s.lookup("f")
    lookup_ns = (time.perf_counter() - t) * 1e9 / n
    m, ir = 300, "define i32 @tiny(i32 %x) {\n  %y = mul i32 %x, 3\n  ret i32 %y\n}\n"
    for _ in range(10):
        with s.add_module(ir):
            s.lookup("tiny")
    t = time.perf_counter()
    for _ in range(m):
        with s.add_module(ir):
            s.lookup("tiny")
    add_compile_us = (time.perf_counter() - t) * 1e6 / m
    s.close()
    return lookup_ns, add_compile_us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=["jitcore", "llvmlite"])
    ap.add_argument("--cycles", type=int, default=300)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.cycles)
        return 0
    res = {}
    for engine in ("jitcore", "llvmlite"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", engine,
                              "--cycles", str(a.cycles)], capture_output=True, text=True,
                             env=dict(os.environ, NUMBA_DISABLE_PERFORMANCE_WARNINGS="1"))
        if out.returncode != 0:
            print(out.stdout, out.stderr, file=sys.stderr)
            return 1
        res[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    j, l = res["jitcore"], res["llvmlite"]
    for name in FUNCTIONS:
        print("numba_compile_ms %-12s jitcore %7.1f  llvmlite %7.1f  ratio %.2f"
              % (name, j["compile_ms"][name], l["compile_ms"][name],
                 j["compile_ms"][name] / l["compile_ms"][name]))
    print("numba_cycle_ms   %-12s jitcore %7.2f  llvmlite %7.2f  ratio %.2f"
          % ("compile+drop", j["cycle_ms"], l["cycle_ms"], j["cycle_ms"] / l["cycle_ms"]))
    jr, lr = j["rss_growth_kb"], l["rss_growth_kb"]
    print("numba_rss_growth_kb over %d cycles: jitcore %d  llvmlite %d  ratio %s"
          % (j["cycles"], jr, lr, "%.2f" % (jr / lr) if lr > 0 else "n/a"))
    jr, lr = j["engine_rss_growth_kb"], l["engine_rss_growth_kb"]
    print("engine_add_remove_us  jitcore %7.1f  llvmlite %7.1f  ratio %.2f"
          % (j["engine_cycle_us"], l["engine_cycle_us"], j["engine_cycle_us"] / l["engine_cycle_us"]))
    print("engine_rss_growth_kb over %d add/remove cycles: jitcore %d  llvmlite %d  ratio %s"
          % (j["engine_cycles"], jr, lr, "%.2f" % (jr / lr) if lr > 0 else "n/a"))
    lookup_ns, add_compile_us = binding_micro()
    print("lookup_ns %.0f" % lookup_ns)
    print("add_compile_us %.0f" % add_compile_us)
    return 0


if __name__ == "__main__":
    sys.exit(main())
