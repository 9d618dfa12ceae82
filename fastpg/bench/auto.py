"""What ``backend="auto"`` runs in `fastpg bench`: the backend each workload's
public calls resolve to (recorded from one untimed call), and how that pick
compares with the fastest backend measured in the same run. The choices come
from ``AUTO_PREFERENCE`` and ``AUTO_WIDE`` in ``fastpg/_auto.py``; this is
how a run checks them ("auto within 10% of the fastest backend")."""
from __future__ import annotations

import inspect

from .. import _backend

#: auto's pick counts as a miss when its median exceeds the fastest's by more
AUTO_SLACK = 1.10

_KERNEL_ARGS = inspect.signature(_backend.kernel)


def auto_pick(run):
    """The backends that ``run()``, a workload called with ``backend="auto"``,
    dispatched to, sorted; () when it called no kernel.

    Every public function gets its kernel from ``_backend.kernel`` (directly
    or through ``kept_kernel``), so the pick is what ``_backend.resolve``
    says for each of those requests, with their ``width``."""
    seen = set()
    real = _backend.kernel

    def spy(*args, **kwargs):
        bound = _KERNEL_ARGS.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        seen.add(_backend.resolve(a["name"], a["backend"], a["width"]))
        return real(*args, **kwargs)

    _backend.kernel = spy
    try:
        run()
    finally:
        _backend.kernel = real
    return tuple(sorted(seen))


def auto_summary(rows):
    """One entry per (kernel, size) with a single-backend pick: the pick, the
    fastest backend of the same run and the ratio of their times per element
    (the NumPy reference loops run fewer elements than the kernels)."""
    out = []
    groups = {}
    for r in rows:
        if r["backend"] in _backend.BACKENDS:
            groups.setdefault((r["kernel"], r["size"]), []).append(r)
    for (kernel, size), rs in groups.items():
        picks = {r["backend"] for r in rs if r.get("auto")}
        if len(picks) != 1:
            continue  # no kernel called (add_one), or a mix of backends
        pick = picks.pop()
        fastest = max(rs, key=lambda r: r["elements_per_s"])
        mine = next(r for r in rs if r["backend"] == pick)
        out.append(dict(kernel=kernel, size=size, pick=pick, fastest=fastest["backend"],
                        ratio=fastest["elements_per_s"] / mine["elements_per_s"]))
    return out


def print_summary(summary):
    if not summary:
        return
    slow = [s for s in summary if s["ratio"] > AUTO_SLACK]
    print(f"auto (what backend='auto' runs, marked (auto) above): within "
          f"{100 * (AUTO_SLACK - 1):.0f}% of the fastest backend on "
          f"{len(summary) - len(slow)} of {len(summary)} workloads"
          + ("" if not slow else "; slower: " + "; ".join(
              f"{s['kernel']} {s['size']} runs {s['pick']}, {s['ratio']:.2f}x "
              f"{s['fastest']}'s time" for s in slow)))
