#!/usr/bin/env python3
"""Writes the lazy-compilation benchmark module: N functions with realistic
bodies (a loop, arithmetic, a call to the next function in its group of
ten, so call chains are short and acyclic, as in most programs), and
`main`, which calls
CALLED of them (evenly spread) and prints nothing; it returns a checksum mod
256 so lli and jitcore can be compared on the same exit status.

usage: gen_lazy_ir.py OUT.ll [N=3000] [CALLED=200]
(bench/gen_workloads.py imports `functions` for its medium modules.)
"""
import sys


def functions(n, prefix="f", acc="acc"):
    """The IR of N functions named PREFIX0..PREFIX<N-1>, each updating the
    global @ACC (which the caller defines)."""
    out = []
    for i in range(n):
        # The last function of each group of ten calls nothing (no recursion).
        nxt = i + 1 if i % 10 != 9 and i + 1 < n else None
        call = (f"  %c = call i64 @{prefix}{nxt}(i64 %h)" if nxt is not None else "  %c = add i64 %h, 1")
        out.append(f"""define i64 @{prefix}{i}(i64 %n) {{
entry:
  %small = icmp slt i64 %n, 1
  br i1 %small, label %base, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %s = phi i64 [ {i}, %entry ], [ %s3, %loop ]
  %m = mul i64 %i, {i % 97 + 3}
  %x = xor i64 %m, %s
  %s1 = add i64 %x, {i}
  %sh = lshr i64 %s1, 3
  %s2 = add i64 %s1, %sh
  %r = urem i64 %s2, 1000003
  %s3 = add i64 %r, %i
  %i1 = add i64 %i, 1
  %done = icmp sge i64 %i1, %n
  br i1 %done, label %exit, label %loop
exit:
  %h = sdiv i64 %n, 2
{call}
  %t = add i64 %s3, %c
  %a = load i64, ptr @{acc}
  %a1 = add i64 %a, 1
  store i64 %a1, ptr @{acc}
  ret i64 %t
base:
  ret i64 {i}
}}
""")
    return out


def module(n, called):
    """The whole module: @acc, N functions and a main calling CALLED of them."""
    step = max(1, n // called)
    body = ["define i32 @main(i32 %argc, ptr %argv) {", "entry:"]
    prev = "0"
    for k, i in enumerate(range(0, n, step)):
        if k >= called:
            break
        body.append(f"  %v{k} = call i64 @f{i}(i64 1)")
        body.append(f"  %sum{k} = add i64 {prev}, %v{k}")
        prev = f"%sum{k}"
    body += [f"  %m = urem i64 {prev}, 256", "  %r = trunc i64 %m to i32", "  ret i32 %r", "}"]
    return "\n".join(["@acc = global i64 0", ""] + functions(n) + body) + "\n"


if __name__ == "__main__":
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    called = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    with open(out, "w") as f:
        f.write(module(n, called))
