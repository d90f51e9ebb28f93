"""The suite's report (bench/suite.py's results): every figure with its
ratio against each peer, the goals of issue 13 marked met or not met, as a
console table and as BENCHMARKS.md."""

import statistics

FIGURES = [
    ("cold", "Cold compile to a callable address, per module (parse, add, look up, call; "
             "64 tiny, 4 medium, the large module)"),
    ("warm", "Warm caches vs cold and vs the floor, per module (O2; 64 tiny, 2 medium)"),
    ("lookup", "Lookup of an already compiled symbol (module of 2,001 functions; f0 and the thousandth, f999)"),
    ("throughput", "Throughput, 16 independent medium modules at O2 (session, one LookupMany)"),
    ("lazy", "Lazy vs eager, one call into a 2,000-function module, whole process"),
    ("start", "Process start to first call (a main that returns 0), whole process"),
    ("memory", "Memory: RSS growth over the add/lookup/call/remove cycles, O0 tiny module, after 100 warm-up cycles"),
]

JITCORE = ("engine", "session", "jitcore")


def is_jitcore(key):
    parts = key.split("/")
    if parts[0] == "throughput":
        return True
    return parts[{"cold": 3, "warm": 2}.get(parts[0], 1)].startswith(JITCORE)


def peers_of(key, results):
    """The keys a jitcore row is compared with."""
    parts = key.split("/")
    fig = parts[0]
    if fig == "cold":
        group = "/".join(parts[:3])
        return [k for k in results if k.startswith(group + "/") and not is_jitcore(k)]
    if fig == "warm":
        wl, subject = parts[1], parts[2].split("-")[0]
        return [f"warm/{wl}/floor", f"warm/{wl}/unitfloor", f"cold/{wl}/O2/{subject}"]
    if fig == "lookup":
        name = parts[2]
        return [f"lookup/{p}/{name}" for p in ("lljit", "mcjit", "llvmlite")]
    if fig == "throughput":
        return {"throughput/2": ["throughput/1", "throughput/0"], "throughput/1": ["throughput/0"]}.get(key, [])
    if fig == "lazy":
        return {"lazy/jitcore-lazy": ["lazy/lli-orc-lazy", "lazy/jitcore-eager"]}.get(key, [])
    if fig == "start":
        return [key.replace("jitcore", "lli")]
    if fig == "memory":
        return ["memory/lljit", "memory/mcjit", "memory/llvmlite"]
    return []


def value(r):
    """The row's figure in its unit, as a number."""
    unit, wall = r["unit"], r["wall"]
    return {"us/module": wall * 1e6, "ns/lookup": wall * 1e9, "modules/s": 1 / wall if wall else 0,
            "ms/process": wall * 1e3, "us/cycle": wall * 1e6}[unit]


def fmt(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def ratio(results, key, peer, field="wall"):
    """jitcore's time over the peer's (throughput: the speedup)."""
    a, b = results.get(key, {}), results.get(peer, {})
    if not a.get(field) or not b.get(field):
        return None
    return b[field] / a[field] if key.startswith("throughput") else a[field] / b[field]


def paired_ratio(results, key, peer, field="cpu"):
    """The median over repeats of jitcore's time over the peer's in the same
    repeat. A case and its peer run seconds apart in each repeat, so a slow
    spell of the VM (its speed moves by 30% and more over tens of seconds)
    slows both; the ratio of two medians taken over different moments does
    not cancel it (the engine and the session, running the same code with
    the same instruction counts, once came out 1.15x and 1.36x of raw LLJIT
    that way). None with fewer than three common repeats."""
    a, b = results.get(key, {}).get("by_repeat", {}), results.get(peer, {}).get("by_repeat", {})
    pairs = [a[r][field] / b[r][field] for r in a if r in b and b[r][field]]
    return statistics.median(pairs) if len(pairs) >= 3 else None


def times(x):
    return f"{x:.2f}x"


def compared(results, key, peer, show=times):
    """(judged, text): the paired CPU ratio the goal is judged on (the ratio
    of the CPU medians when there are no pairs) and its figure text, each
    ratio written by `show`, with the ratio of the medians, the wall ratio
    and the Ir ratio beside."""
    c, r = ratio(results, key, peer, "cpu"), ratio(results, key, peer)
    if r is None or c is None:
        return None, ""
    p = paired_ratio(results, key, peer)
    ir = ir_ratio(results, key, peer)
    if p is None:
        return c, f"CPU {show(c)} (wall {show(r)}{ir})"
    return p, f"CPU {show(p)} paired (medians {show(c)}, wall {show(r)}{ir})"


def ratio_text(results, key):
    out = []
    for p in peers_of(key, results):
        if p not in results:
            continue
        r = ratio(results, key, p)
        label = results[p]["label"]
        if r is None:
            out.append(f"{label}: not measured")
            continue
        ir = ""
        # Paired (within a repeat, see paired_ratio) where both ran in the
        # same repeats; the wall figure first is the ratio of the medians.
        cpu = None if key.startswith("throughput") else paired_ratio(results, key, p) or ratio(results, key, p, "cpu")
        if cpu is not None:
            ir += f", CPU {cpu:.3g}x"
        if "ir" in results[key] and "ir" in results[p]:
            ir += f", Ir {results[key]['ir'] / results[p]['ir']:.3g}x"
        out.append(f"{r:.3g}x {label}{ir}")
    return "; ".join(out)


def rows(results, figure):
    for key, r in results.items():
        if not key.startswith(figure + "/"):
            continue
        if figure in ("cold", "warm"):  # the workload first
            r = dict(r, label=f"{key.split('/')[1]}: {r['label']}")
        if "missing" in r:
            yield key, r["label"], r["missing"], "", "", "", ""
            continue
        cpu = r["cpu"] / r["wall"] * value(r) if r["wall"] and r["unit"] != "modules/s" else None
        extra = ""
        if "growth_kb" in r:
            extra = f"{r['growth_kb']:,.0f} kB"
        yield (key, r["label"], fmt(value(r)), fmt(cpu) if cpu is not None else "",
               f"{r['ir']:,.0f}" if "ir" in r else "", extra,
               ratio_text(results, key) if is_jitcore(key) else "")


def ir_ratio(results, key, peer):
    """', Ir 1.23x' when callgrind counted both (the figure that does not
    move with the machine), else ''."""
    a, b = results.get(key, {}).get("ir"), results.get(peer, {}).get("ir")
    return f", Ir {a / b:.2f}x" if a and b else ""


def goals(results, load):
    """(goal, figure, met) for each goal of issue 13; met is True, False
    or a 'not measured' string. Single-threaded figures are judged on CPU
    time (a loaded machine stretches wall time, not CPU time), the
    throughput on wall time; the wall figure is given beside."""
    out = []

    def get(key, field="wall"):
        return results.get(key, {}).get(field)

    for s in ("engine", "session"):
        for name in ("f0", "f999"):
            w, c = get(f"lookup/{s}/{name}"), get(f"lookup/{s}/{name}", "cpu")
            out.append((f"lookup < 50 ns, {s}, {name}", f"CPU {c * 1e9:.0f} ns (wall {w * 1e9:.0f} ns)" if w else "",
                        c * 1e9 < 50 if w else "not measured"))
    for wl in ("tiny", "medium"):
        for s in ("engine-disk", "engine-callback", "session-disk", "session-callback"):
            c, text = compared(results, f"warm/{wl}/{s}", f"warm/{wl}/floor")
            # The custom-unit floor's own ratio to the floor: the part of
            # the gap that LLVM-C's path costs before any jitcore code.
            u, _ = compared(results, f"warm/{wl}/unitfloor", f"warm/{wl}/floor")
            uir = ir_ratio(results, f"warm/{wl}/unitfloor", f"warm/{wl}/floor")
            unit = f"; the custom-unit floor: CPU {u:.2f}x{uir}" if u else ""
            out.append((f"warm <= 1.3x the floor, {wl}, {s}", text + unit,
                        c <= 1.3 if c is not None else "not measured"))
    for wl, levels in (("tiny", (0, 2)), ("medium", (0, 2)), ("large", (0,))):
        for o in levels:
            for s in ("engine", "session"):
                c, text = compared(results, f"cold/{wl}/O{o}/{s}", f"cold/{wl}/O{o}/lljit")
                peer = "raw LLJIT" + (" + default<O2>" if o else " at O0")
                out.append((f"cold O{o} <= 1.05x {peer}, {wl}, {s}", text,
                            c <= 1.05 if c is not None else "not measured"))
    c, text = compared(results, "lazy/jitcore-lazy", "lazy/lli-orc-lazy")
    out.append(("lazy one call <= lli-22 orc-lazy, whole process", text, c <= 1 if c is not None else "not measured"))
    c, text = compared(results, "lazy/jitcore-lazy", "lazy/jitcore-eager", show=lambda x: f"{x * 100:.0f}%")
    out.append(("lazy one call <= 5% of jitcore eager, whole process", text, c <= 0.05 if c is not None else "not measured"))
    r = ratio(results, "throughput/2", "throughput/1")
    out.append(("2 compile threads >= 1.8x one", f"{r:.2f}x (load min/median/max {load['throughput']})" if r else "",
                r >= 1.8 if r else "not measured"))
    for k in ("engine", "engine-disk", "session", "session-disk", "session-lazy", "session-lazy-disk"):
        g = get(f"memory/{k}", "growth_kb")
        out.append((f"memory growth < 1 MB, {k}", f"{g:,.0f} kB" if g is not None else "",
                    g < 1024 if g is not None else "not measured"))
    return out


def mark(met):
    return "met" if met is True else "not met" if met is False else met


def console(results, load):
    for figure, title in FIGURES:
        print(f"\n== {title}")
        for key, label, v, cpu, ir, extra, ratios in rows(results, figure):
            unit = results[key].get("unit", "")
            print(f"  {label:48} {v:>10} {unit:10} cpu {cpu:>9} Ir {ir:>12} {extra:>9}  {ratios}")
    print("\n== Goals (issue 13)")
    for goal, figure, met in goals(results, load):
        print(f"  {mark(met):8} {goal}: {figure}")


def markdown(results, meta, load, parts, plot):
    md = ["# jitcore benchmarks", "",
          "Written by `make bench` (bench/run.sh, bench/suite.py). Medians of interleaved repeats;",
          "CPU is the process CPU time of the measured part, Ir callgrind's instruction count of it",
          "(single-threaded figures, smaller inputs); ratios are jitcore's time over the peer's",
          "(throughput: the speedup): the ratio of the wall medians, then the CPU ratio (paired, as",
          "below, where both ran in the same repeats) and the Ir ratio. Goals are judged on CPU time:",
          "the median over repeats of the ratio within each repeat (\"paired\": a case and its peer run",
          "seconds apart, so a slow spell of the VM slows both), with the ratio of the medians, the",
          "wall ratio and the Ir ratio beside; the throughput on wall time. No figure here is a test.", "",
          "| | |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in meta.items()]
    md += ["", "Load average (1 minute, sampled every 2 s; min / median / max): " +
           ", ".join(f"{fig} {v}" for fig, v in load.items()), ""]
    md += ["## Goals of issue 13", "", "| goal | figure | status |", "|---|---|---|"]
    md += [f"| {g} | {f} | {mark(m)} |" for g, f, m in goals(results, load)]
    for figure, title in FIGURES:
        md += ["", f"## {title}", "", "| case | figure | CPU | Ir | | ratio against each peer |", "|---|---|---|---|---|---|"]
        for key, label, v, cpu, ir, extra, ratios in rows(results, figure):
            unit = results[key].get("unit", "")
            md.append(f"| {label} | {v} {unit if 'missing' not in results[key] else ''} | {cpu} | {ir} | {extra} | {ratios} |")
    if plot:
        md += ["", f"![cold, warm and peer times per workload]({plot})"]
    for title, text in parts:
        md += ["", f"## {title}", "", "```", text.rstrip(), "```"]
    return "\n".join(md) + "\n"
