#!/usr/bin/env python3
"""Writes the benchmark suite's workloads into OUT (bench/suite.py's inputs):

  tiny/tI.ll     TINY modules of one small function, @tI(i64) -> i64
  medium/mI.ll   MEDIUM modules of 50 functions with loops and calls
                 (@mI_f0..@mI_f49) and their entry @mI(i64) -> i64;
                 names differ between modules, so all fit in one dylib
  large.ll       2,000 functions @f0..@f1999 and a main that calls one
                 (the lazy and lookup figures: bench/gen_lazy_ir.py)
  start.ll       a main that returns 0 (process start to first call)

Every module's entry function is named after its file (large.ll and
start.ll: main).

usage: gen_workloads.py OUT [TINY=64] [MEDIUM=16]
"""
import os
import sys

from gen_lazy_ir import functions, module


def tiny(i):
    return f"""define i64 @t{i}(i64 %x) {{
entry:
  %a = mul i64 %x, {i + 3}
  %b = add i64 %a, {i}
  %c = xor i64 %b, %x
  ret i64 %c
}}
"""


def medium(i):
    heads = [f"m{i}_f{j}" for j in range(0, 50, 10)]
    calls = [f"  %v{k} = call i64 @{h}(i64 %n)\n  %s{k + 1} = add i64 %s{k}, %v{k}" for k, h in enumerate(heads)]
    entry = f"define i64 @m{i}(i64 %n) {{\nentry:\n  %s0 = add i64 %n, 0\n" + "\n".join(calls) + f"\n  ret i64 %s{len(heads)}\n}}\n"
    return "\n".join([f"@m{i}_acc = global i64 0", ""] + functions(50, f"m{i}_f", f"m{i}_acc") + [entry])


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    out = sys.argv[1]
    n_tiny = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    n_medium = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    for sub in ("tiny", "medium"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for i in range(n_tiny):
        write(os.path.join(out, "tiny", f"t{i}.ll"), tiny(i))
    for i in range(n_medium):
        write(os.path.join(out, "medium", f"m{i}.ll"), medium(i))
    write(os.path.join(out, "large.ll"), module(2000, 1))
    write(os.path.join(out, "start.ll"), "define i32 @main() {\nentry:\n  ret i32 0\n}\n")


if __name__ == "__main__":
    main()
