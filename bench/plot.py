"""The suite's plot: cold, warm and peer times per module for each workload
and opt level, log scale (matplotlib, headless)."""

SERIES = [  # (label, key pattern: {wl} workload, {o} opt level)
    ("jitcore engine, cold", "cold/{wl}/O{o}/engine"),
    ("jitcore session, cold", "cold/{wl}/O{o}/session"),
    ("jitcore engine, warm disk cache", "warm/{wl}/engine-disk"),
    ("jitcore engine, warm host callbacks", "warm/{wl}/engine-callback"),
    ("floor (parse + add object)", "warm/{wl}/floor"),
    ("floor through a custom unit", "warm/{wl}/unitfloor"),
    ("raw LLJIT (O2: + default<O2>)", "cold/{wl}/O{o}/lljit"),
    ("raw MCJIT", "cold/{wl}/O{o}/mcjit"),
    ("llvmlite", "cold/{wl}/O{o}/llvmlite"),
    ("llvmlite + pass builder", "cold/{wl}/O{o}/llvmlite+passes"),
]
GROUPS = [("tiny", 0), ("tiny", 2), ("medium", 0), ("medium", 2), ("large", 0)]


def plot(results, path):
    """Draws the plot to `path`; returns None, or why it was not drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "not drawn: matplotlib is not installed"
    fig, ax = plt.subplots(figsize=(12, 5.5))
    width = 0.8 / len(SERIES)
    for i, (label, pattern) in enumerate(SERIES):
        xs, ys = [], []
        for g, (wl, o) in enumerate(GROUPS):
            key = pattern.format(wl=wl, o=o)
            if key.startswith("warm") and o != 2:
                continue  # the warm figures are at O2
            r = results.get(key, {})
            if "wall" in r:
                xs.append(g + (i - len(SERIES) / 2 + 0.5) * width)
                ys.append(r["wall"] * 1e6)
        ax.bar(xs, ys, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(len(GROUPS)))
    ax.set_xticklabels([f"{wl} O{o}" for wl, o in GROUPS])
    ax.set_ylabel("microseconds per module (log)")
    ax.set_title("jitcore vs peers: cold compile, warm caches (O2), per module")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return None
