"""The benchmark suite's plots (matplotlib is the optional ``fastpg[bench]`` extra)."""
import sys

import numpy as np

from .. import _backend


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (and a line on stderr)
    when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (pip install 'fastpg[bench]'); skipped", file=sys.stderr)
        return None
    return plt


def plot_rows(rows, path):
    """The kernel table's rates, one bar per backend per (kernel, size), to path."""
    plt = pyplot()
    if plt is None:
        return
    groups = sorted({(r["kernel"], r["size"]) for r in rows})
    backends = [b for b in _backend.BACKENDS if any(r["backend"] == b for r in rows)]
    fig, ax = plt.subplots(figsize=(max(8, len(groups) * 0.9), 4.5))
    w = 0.8 / len(backends)
    for i, b in enumerate(backends):
        ys = [next((r["elements_per_s"] / 1e9 for r in rows if (r["kernel"], r["size"]) == g
                    and r["backend"] == b), 0) for g in groups]
        ax.bar(np.arange(len(groups)) + i * w, ys, w, label=b)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - w / 2)
    ax.set_xticklabels([f"{k}\n{s}" for k, s in groups], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("G elements / s")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
