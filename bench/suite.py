#!/usr/bin/env python3
"""The benchmark suite of issue 13 (bench/run.sh runs it; see there for the
environment). Runs every figure's cases interleaved (A B C A B C ...),
takes medians over repeats of wall and CPU time, counts callgrind
instructions for the single-threaded figures, samples the load average
throughout, prints a table and writes BENCHMARKS.md, results.json and a
plot (bench/plot.py). Asserts nothing about time.

usage: suite.py --work DIR --harness EXE --jitcore-run EXE --out DIR
                [--python-peer PY] [--lli EXE] [--parts DIR]
  --python-peer  a Python with llvmlite 0.50 (runs bench/llvmlite_peer.py)
  --parts        outputs of bench/run.sh's other parts (*.txt), quoted
Environment: BENCH_REPS (default 3; tiny cold and warm cases 5 times
that, medium cold at O0 3 times, the lazy process and lli 5 times,
process start 2 times; medium warm (two modules, whose priming compiles
at O2) at most 5, medium at O2, large, lookup and eager cases at most 3,
throughput at most 2; each repeat starts one case later than the one
before; each warm run is the median of 5 passes after its priming one, and
a warm disk cache starts empty in each process, filled by its priming;
each sample keeps its repeat, so the report can take CPU ratios within a
repeat, see report.paired_ratio),
BENCH_CYCLES (memory cycles, default 10000), BENCH_CALLGRIND=0 (skip the
instruction counts).
"""
import argparse
import concurrent.futures
import datetime
import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Each timed warm run measures this many passes after its priming one and
# reports their median (bench/harness/main.c): a few milliseconds each.
WARM_ROUNDS = ["--rounds", "5"]


class LoadSampler(threading.Thread):
    """The 1-minute load average every 2 s, with the figure running."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self._figure, self.stop = [], "", threading.Event()

    @property
    def figure(self):
        return self._figure

    @figure.setter
    def figure(self, name):
        """A figure starts: one sample now, so a short figure has one too."""
        self._figure = name
        self.sample()

    def sample(self):
        with open("/proc/loadavg") as f:
            self.samples.append((self._figure, float(f.read().split()[0])))

    def run(self):
        while not self.stop.wait(2):
            self.sample()

    def summary(self, figure=None):
        values = [v for fig, v in self.samples if figure is None or fig == figure]
        if not values:
            return "not sampled"
        return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


class Case:
    """One thing measured: a harness or peer command printing JSON lines
    (`json`), or a whole process timed from outside (`process`)."""

    def __init__(self, key, label, argv, kind="json", callgrind=None, max_reps=None, fresh_dir=None):
        self.key, self.label, self.argv, self.kind = key, label, argv, kind
        self.callgrind = callgrind  # the argv of a cheaper run to count, or None
        self.max_reps = max_reps  # runs in the first this many repeats only (None: all)
        # A directory deleted before each run (a warm disk cache's: each
        # process's priming pass compiles and fills it, as the host-callback
        # and floor processes compile in theirs, so every warm process has
        # the same history before it is measured).
        self.fresh_dir = fresh_dir
        self.missing = None


class Suite:
    def __init__(self, args):
        self.args = args
        self.reps = int(os.environ.get("BENCH_REPS", "3"))
        self.figure_seconds = {}
        self.cycles = int(os.environ.get("BENCH_CYCLES", "10000"))
        self.results = {}  # key -> {"label", "wall", "cpu", "unit", ...} or {"missing"}
        self.cases = {}
        self.load = LoadSampler()
        self.work = args.work

    # Running ---------------------------------------------------------------

    def run_json(self, argv):
        p = subprocess.run(argv, capture_output=True, text=True)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
        if p.returncode != 0 or not lines:
            tail = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
            raise RuntimeError(tail)
        return lines

    def run_process(self, argv):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.returncode < 0:
            raise RuntimeError((err.strip().splitlines() or [f"signal {-proc.returncode}"])[-1])
        return [{"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "per": 1}]

    def measure(self, figure, cases, reps, unit):
        """Runs `cases` interleaved `reps` times; stores medians per key
        (a case printing several lines, one per name, gives key/name)."""
        self.load.figure = figure
        t0 = time.time()
        samples = {}
        for r in range(reps):
            # Each repeat starts one case later (A B C, B C A, C A B, ...):
            # no case always runs first, or always after the same one.
            k = r % len(cases) if cases else 0
            for c in cases[k:] + cases[:k]:
                if c.missing or (c.max_reps is not None and r >= c.max_reps):
                    continue
                if c.fresh_dir:
                    shutil.rmtree(c.fresh_dir, ignore_errors=True)
                try:
                    lines = self.run_json(c.argv) if c.kind == "json" else self.run_process(c.argv)
                except (RuntimeError, OSError) as e:
                    c.missing = f"not measured: {c.label} failed ({e})"
                    continue
                for line in lines:
                    key = c.key + (f"/{line['name']}" if "name" in line else "")
                    samples.setdefault(key, (c, []))[1].append(dict(line, repeat=r))
        for c in cases:
            self.cases[c.key] = c
            if c.missing:
                self.results[c.key] = {"label": c.label, "missing": c.missing}
        for key, (c, lines) in samples.items():
            label = c.label + (f" ({lines[0]['name']})" if "name" in lines[0] else "")
            r = {"label": label, "unit": unit, "reps": len(lines),
                 "wall": statistics.median(l["wall"] for l in lines),
                 "cpu": statistics.median(l["cpu"] for l in lines), "per": lines[0]["per"],
                 # Each repeat's sample, for ratios taken within a repeat
                 # (report.paired_ratio).
                 "by_repeat": {l["repeat"]: {"wall": l["wall"], "cpu": l["cpu"]} for l in lines}}
            for extra in ("growth_kb", "rss_before_kb", "threads"):
                if extra in lines[0]:
                    r[extra] = statistics.median(l[extra] for l in lines)
            self.results[key] = r
        self.figure_seconds[figure] = self.figure_seconds.get(figure, 0) + time.time() - t0

    def count_instructions(self):
        """Callgrind's Ir of each case that has a callgrind run, per unit
        (the harness instruments and dumps only its measured parts)."""
        todo = [c for c in self.cases.values() if c.callgrind and not c.missing]
        if os.environ.get("BENCH_CALLGRIND", "1") == "0":
            return "not measured: BENCH_CALLGRIND=0"
        if not shutil.which("valgrind"):
            return "not measured: valgrind is not installed"
        self.load.figure = "callgrind"
        t0 = time.time()

        def one(c):
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "cg.out")
                p = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                    f"--callgrind-out-file={out}"] + c.callgrind, capture_output=True, text=True)
                lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
                dumps = sorted(glob.glob(out + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
                counts = []
                for d in dumps:
                    with open(d) as f:
                        counts += [int(m.group(1)) for m in re.finditer(r"^totals: (\d+)", f.read(), re.M)]
                return c, [(l, n) for l, n in zip(lines, counts)] if p.returncode == 0 else []

        # Instruction counts do not move with load: two at a time.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for c, pairs in pool.map(one, todo):
                for line, n in pairs:
                    key = c.key + (f"/{line['name']}" if "name" in line else "")
                    if key in self.results and "missing" not in self.results[key]:
                        self.results[key]["ir"] = n / line["per"]
        self.figure_seconds["callgrind"] = time.time() - t0
        return f"{len(todo)} runs, two at a time, after the timed figures"

    # The figures -----------------------------------------------------------

    def harness(self, *argv):
        return [self.args.harness] + list(argv)

    def peer(self, *argv):
        return [self.args.python_peer, os.path.join(HERE, "llvmlite_peer.py")] + list(argv)

    def cold_cases(self, wl, files, opt, small):
        """The cold figure of one workload at one opt level; `small` is the
        cheaper input of the callgrind runs (None: none)."""
        o = f"-O{opt}"
        k = f"cold/{wl}/O{opt}"
        sym = ["--sym", "main"] if wl == "large" else []
        jc = [("engine", "jitcore engine", ["engine"]), ("session", "jitcore session", ["session"])]
        peers = [("lljit", "raw LLJIT" + (" + default<O2>" if opt else ""), ["lljit"] + (["--passes"] if opt else []))]
        if opt:
            peers.append(("lljit-codegen", "raw LLJIT, codegen only", ["lljit"]))
        peers.append(("mcjit", "raw MCJIT", ["mcjit"]))
        cases = [Case(f"{k}/{name}", f"{label} {o}", self.harness("cold", *a, o, *sym, *files),
                      callgrind=self.harness("cold", *a, o, *sym, *small) if small and name != "lljit-codegen" else None)
                 for name, label, a in jc + peers]
        for name, label, a in (("llvmlite", "llvmlite MCJIT", []), ("llvmlite+passes", "llvmlite MCJIT + pass builder", ["--passes"])):
            c = Case(f"{k}/{name}", f"{label} {o}", self.peer("cold", o, *a, *sym, *files) if self.args.python_peer else [])
            if not self.args.python_peer:
                c.missing = "not measured: no Python with llvmlite 0.50 (bench/run.sh installs it in a venv)"
            cases.append(c)
        return cases

    def run_figures(self):
        w = self.work
        tiny = sorted(glob.glob(f"{w}/tiny/*.ll"), key=lambda p: int(re.sub(r"\D", "", os.path.basename(p))))
        medium = sorted(glob.glob(f"{w}/medium/*.ll"), key=lambda p: int(re.sub(r"\D", "", os.path.basename(p))))
        large, start = f"{w}/large.ll", f"{w}/start.ll"
        slow = max(1, min(self.reps, 3))

        print("cold compile ...", flush=True)
        # A tiny run takes well under a second: five times the repeats,
        # since its CPU time moves by 10-20% from run to run on this VM (the
        # engine and the session, with the same instruction counts, came
        # out 1.07x and 1.30x of raw LLJIT in one run of 3, 1.22x and 1.04x
        # in one of 9).
        self.measure("cold", self.cold_cases("tiny", tiny, 0, tiny[:4]) + self.cold_cases("tiny", tiny, 2, tiny[:4]),
                     5 * self.reps, "us/module")
        # Four medium modules (a default<O2> compile of one takes about 1 s:
        # `slow` repeats at O2, three times the repeats at O0, which take
        # 10 ms); callgrind counts one module at O0 (about 10 s under
        # valgrind), none at O2 (minutes).
        self.measure("cold", self.cold_cases("medium", medium[:4], 0, medium[:1]), 3 * self.reps, "us/module")
        self.measure("cold", self.cold_cases("medium", medium[:4], 2, None), slow, "us/module")
        self.measure("cold", self.cold_cases("large", [large], 0, None), slow, "us/module")

        print("warm caches ...", flush=True)
        # Callgrind counts one medium module (its priming compile at O2
        # runs uninstrumented, about 10 s under valgrind). Medium: two
        # modules in five processes, not four in three (a process's speed
        # on this VM moves by 30% and stays for its life, and the medians of
        # three once put a warm run at 0.77x the floor it cannot beat: 1.16x
        # by instructions).
        for wl, files, small, reps in (("tiny", tiny, tiny[:4], 5 * self.reps),
                                       ("medium", medium[:2], medium[:1], slow + 2)):
            cases = []
            for subject in ("engine", "session"):
                d = os.path.join(w, f"cache-{subject}-{wl}")
                shutil.rmtree(d, ignore_errors=True)
                for name, label, a in (("disk", "disk cache", ["--disk-cache", d]), ("callback", "host callbacks", ["--callback-cache"])):
                    cases.append(Case(f"warm/{wl}/{subject}-{name}", f"jitcore {subject}, warm {label}",
                                      self.harness("warm", subject, *a, *WARM_ROUNDS, *files),
                                      callgrind=small and self.harness("warm", subject, *a, *small),
                                      fresh_dir=d if name == "disk" else None))
            cases.append(Case(f"warm/{wl}/floor", "floor: parse IR + LLJIT add object",
                              self.harness("warm", "floor", *WARM_ROUNDS, *files),
                              callgrind=small and self.harness("warm", "floor", *small)))
            # What LLVM-C's custom-unit path costs by itself (placeholder
            # under a tracker, transform, replace, emit), in C without any
            # of jitcore's own work: how much of the gap is the path and
            # how much jitcore.
            cases.append(Case(f"warm/{wl}/unitfloor", "floor through a custom unit (LLVM-C's path, no jitcore code)",
                              self.harness("warm", "unitfloor", *WARM_ROUNDS, *files),
                              callgrind=small and self.harness("warm", "unitfloor", *small)))
            self.measure("warm", cases, reps, "us/module")

        print("lookup ...", flush=True)
        cases = [Case(f"lookup/{s}", label, self.harness("lookup", s, "-O0", "--names", "f0,f999", "--iters", "100000", large),
                      callgrind=self.harness("lookup", s, "-O0", "--names", "f0,f999", "--iters", "1000", large))
                 for s, label in (("engine", "jitcore engine"), ("session", "jitcore session"), ("lljit", "raw LLJIT"),
                                  ("mcjit", "raw MCJIT LLVMGetFunctionAddress"))]
        c = Case("lookup/llvmlite", "llvmlite get_function_address (from Python)",
                 self.peer("lookup", "-O0", "--names", "f0,f999", "--iters", "100000", large) if self.args.python_peer else [])
        c.missing = None if self.args.python_peer else "not measured: no Python with llvmlite 0.50"
        self.measure("lookup", cases + [c], slow, "ns/lookup")

        print("throughput ...", flush=True)
        self.measure("throughput", [Case(f"throughput/{t}", f"jitcore session, {t} compile threads",
                                         self.harness("throughput", "session", "--threads", str(t), *medium))
                                    for t in (0, 1, 2)], min(slow, 2), "modules/s")

        print("lazy, whole process ...", flush=True)
        jr, lli = self.args.jitcore_run, self.args.lli
        # A lazy process takes about 0.2 s (and moves by 20% from run to
        # run): five times the repeats; the eager one takes seconds, and
        # runs in the first `slow` of them only.
        cases = [Case("lazy/jitcore-lazy", "jitcore-run -jit-kind=orc-lazy", [jr, "-jit-kind=orc-lazy", large], "process"),
                 Case("lazy/jitcore-eager", "jitcore-run -jit-kind=orc (eager)", [jr, "-jit-kind=orc", large], "process",
                      max_reps=slow)]
        c = Case("lazy/lli-orc-lazy", "lli-22 -jit-kind=orc-lazy", [lli or "lli-22", "-jit-kind=orc-lazy", large], "process")
        c.missing = None if lli else "not measured: lli-22 is not installed"
        cases.append(c)
        self.measure("lazy", cases, 5 * self.reps, "ms/process")

        print("process start to first call ...", flush=True)
        cases = []
        for kind in ("orc", "mcjit"):
            cases.append(Case(f"start/jitcore-{kind}", f"jitcore-run -jit-kind={kind}", [jr, f"-jit-kind={kind}", start], "process"))
            c = Case(f"start/lli-{kind}", f"lli-22 -jit-kind={kind}", [lli or "lli-22", f"-jit-kind={kind}", start], "process")
            c.missing = None if lli else "not measured: lli-22 is not installed"
            cases.append(c)
        self.measure("start", cases, 2 * self.reps, "ms/process")

        print(f"memory, {self.cycles} cycles each ...", flush=True)
        t0 = tiny[0]
        n = str(self.cycles)
        cases = []
        for subject, extra, label in (("engine", [], "jitcore engine"), ("session", [], "jitcore session"),
                                      ("session", ["--lazy"], "jitcore session, lazy")):
            key = subject + ("-lazy" if extra else "")
            d = os.path.join(w, f"cache-memory-{key}")
            shutil.rmtree(d, ignore_errors=True)
            cases.append(Case(f"memory/{key}", label,
                              self.harness("memory", subject, *extra, "-O0", "--rename", "--cycles", n, t0)))
            cases.append(Case(f"memory/{key}-disk", label + ", disk cache (hits)",
                              self.harness("memory", subject, *extra, "-O0", "--disk-cache", d, "--cycles", n, t0)))
        for subject, label in (("lljit", "raw LLJIT, resource trackers"), ("mcjit", "raw MCJIT")):
            cases.append(Case(f"memory/{subject}", label, self.harness("memory", subject, "-O0", "--rename", "--cycles", n, t0)))
        c = Case("memory/llvmlite", "llvmlite MCJIT",
                 self.peer("memory", "-O0", "--rename", "--cycles", n, t0) if self.args.python_peer else [])
        c.missing = None if self.args.python_peer else "not measured: no Python with llvmlite 0.50"
        self.measure("memory", cases + [c], 1, "us/cycle")


def command_output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine(args):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    libdir = os.path.dirname(os.path.abspath(args.jitcore_run))
    rev = command_output(["git", "-C", libdir, "log", "-1", "--format=%h %s"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": os.environ.get("BENCH_COMMAND", "make bench"),
        "machine": f"{platform.node()}, {platform.system()} {platform.release()} {platform.machine()}",
        "CPU": f"{cpu}, {os.cpu_count()} cores online, {int(mem) // 1024} MiB RAM",
        "LLVM": command_output(["llvm-config-22", "--version"]) or "22 (llvm-config-22 not found)",
        "library": f"{libdir}" + (f" (commit {rev})" if rev else ""),
        "repeats": f"BENCH_REPS={os.environ.get('BENCH_REPS', '3')} (tiny cold and warm: 5x; medium cold O0: 3x; lazy and lli: 5x; start: 2x; medium warm (2 modules): at most 5; medium O2, large, lookup, eager: at most 3; throughput 2; "
                   f"each repeat starts one case later; CPU ratios are the median of the ratios within each repeat; each warm run: the median of {WARM_ROUNDS[1]} passes after its priming one, a disk cache emptied before each process), "
                   f"memory cycles {os.environ.get('BENCH_CYCLES', '10000')}",
        "target options": "host triple, CPU and features, PIC, small code model for jitcore, raw LLJIT, the floor and "
                          "llvmlite; raw MCJIT's C API takes no CPU nor relocation model (generic CPU, static, JIT code "
                          "model, RuntimeDyld). jitcore verifies each module, the peers do not (llvmlite does: "
                          "verify()). jitcore-run and lli-22 run no IR passes (codegen at -O2).",
        "peers": "raw LLJIT and MCJIT through LLVM-C (bench/harness), llvmlite 0.50 (bench/llvmlite_peer.py, "
                 "timed from Python), lli-22",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--jitcore-run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--python-peer")
    ap.add_argument("--lli")
    ap.add_argument("--parts")
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    import plot
    import report

    suite = Suite(args)
    suite.load.start()
    t0 = time.time()
    suite.run_figures()
    print("instruction counts (callgrind) ...", flush=True)
    callgrind = suite.count_instructions()
    suite.load.stop.set()
    meta = machine(args)
    meta["callgrind"] = callgrind
    meta["suite time"] = (f"{time.time() - t0:.0f} s: " +
                          ", ".join(f"{fig} {sec:.0f} s" for fig, sec in suite.figure_seconds.items()) +
                          " (bench/run.sh's other parts besides)")
    figures = ["cold", "warm", "lookup", "throughput", "lazy", "start", "memory", "callgrind"]
    load = {fig: suite.load.summary(fig) for fig in figures}
    load["whole run"] = suite.load.summary()
    parts = []
    for title, name in (("Real programs (../shared/testsuite): jitcore-run vs lli-22 (scripts/check-programs.sh)", "corpus"),
                        ("Lazy vs eager in process, 1,000 functions, main calls 100 (bench/lazy_vs_eager.c)", "lazy_vs_eager"),
                        ("Calls through a link-order cycle's stub (bench/cycle_calls.c)", "cycle_calls"),
                        ("Call overhead from each language (bindings, installed prefix; ratio to C)", "languages")):
        path = os.path.join(args.parts or "", f"{name}.txt")
        if args.parts and os.path.exists(path):
            with open(path) as f:
                parts.append((title, f.read()))
        elif name == "lazy_vs_eager":
            parts.append((title, "not run by default (BENCH_PARTS=\"lazy_vs_eager ...\" runs it): the lazy figure "
                                 "above measures lazy against eager and lli-22 on the 2,000-function module"))
        else:
            parts.append((title, "not measured: bench/run.sh did not run this part"))
    png = os.path.join(args.out, "BENCHMARKS.png")
    why = plot.plot(suite.results, png)
    if why:
        meta["plot"] = why
    with open(os.path.join(args.out, "BENCHMARKS.md"), "w") as f:
        f.write(report.markdown(suite.results, meta, load, parts, None if why else "BENCHMARKS.png"))
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump({"meta": meta, "load": load, "results": suite.results}, f, indent=1)
    report.console(suite.results, load)
    print(f"\nload average (min/median/max): {load['whole run']}")
    print(f"wrote {os.path.join(args.out, 'BENCHMARKS.md')}, {png if not why else why}, {args.work}/results.json")


if __name__ == "__main__":
    main()
