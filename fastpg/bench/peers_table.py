"""`fastpg bench --peers`: fastpg against the other RL libraries installed
beside it, one workload per row, every side timed in this process on the
same inputs (fastpg.bench.peers), each peer's result checked first. The
ratio is fastpg's rate with ``auto`` (what a user gets) over the best
peer's; fastpg's best single backend is shown next to it."""
from __future__ import annotations

import json

import numpy as np

from .. import __version__, _backend
from . import peers as P
from . import peers_envs as E
from .plot import pyplot
from .run import _median_time

#: (workload, size label, peers in the order tried)
WORKLOADS = [
    ("discounted_returns", "T2048xB64-f32", ("rlax",)),
    ("lambda_returns", "T2048xB64-f32", ("rlax",)),
    ("gae", "T2048xB64-f32", ("rlax", "sb3")),
    ("vtrace", "T2048xB64-f32", ("rlax",)),
    ("linear_policy_grad", "N100k-d4-A2-f32", ("torch",)),
    ("per_sample_update", "C1M-obs4f32", ("tianshou", "cpprb")),
    ("uniform_sample", "C1M-obs4f32", ("cpprb", "sb3", "tianshou")),
    ("add_chunk64", "C1M-obs4f32", ("cpprb", "sb3")),
    ("cartpole_step", "1024-envs", ("gymnasium", "envpool", "gymnax")),
    ("cartpole_rollout", "1024-envs", ("gymnasium", "envpool", "gymnax")),
]
_REPLAY = ("per_sample_update", "uniform_sample", "add_chunk64")
#: env steps per call of the env workloads
_ENV_STEPS = 100


def _inputs(workload, small):
    """The inputs every side of a returns or policy workload runs on (replay
    peers fill buffers of their own with the same contents)."""
    if workload == "linear_policy_grad":
        return P.policy_data(N=2_000 if small else 100_000)
    if workload == "cartpole_step":
        return E.env_actions(16 if small else 1024, 5 if small else _ENV_STEPS)
    if workload == "cartpole_rollout":
        return (16, 5) if small else (1024, _ENV_STEPS)
    if workload in _REPLAY:
        return None
    return P.returns_data(T=64 if small else 2048, B=8 if small else 64)


def _fastpg_calls(workload, d, small):
    """{backend: (fn, elements per call)} for the compiled backends and auto."""
    backends = [b for b in ("numba", "cython") if _backend.available(b)] + ["auto"]
    if workload in _REPLAY:
        from .workloads import call_replay, make_replay
        buf = make_replay("C1M-obs4f32", capacity=10_000 if small else None)
        return {b: call_replay(workload, buf, b, n_add=2_000 if small else 20_000)
                for b in backends}
    if workload == "linear_policy_grad":
        return {b: (P.fastpg_policy(d, b), len(d["a"])) for b in backends}
    if workload == "cartpole_step":
        return {b: (E.fastpg_env(d, b), d.size) for b in backends}
    if workload == "cartpole_rollout":
        return {b: E.fastpg_rollout(*d, b) for b in backends}
    return {b: (P.fastpg_returns(workload, d, b), d["r"].size) for b in backends}


def _peer_call(workload, peer, d, small):
    if workload in _REPLAY:
        return P.replay_peer(peer, workload, "C1M-obs4f32", small)
    if workload == "linear_policy_grad":
        return P.torch_policy(d), len(d["a"])
    if workload == "cartpole_step":
        return E.env_peer(peer, d)
    if workload == "cartpole_rollout":
        return E.rollout_peer(peer, *d)
    fn = P.sb3_gae(d) if peer == "sb3" else P.rlax_returns(workload, d)
    return fn, d["r"].size


def bench_peers(args, small=False):
    """Prints one row per workload; ``args.kernels`` filters the workloads,
    ``args.json`` / ``args.plot`` write the rows and a chart of the ratios."""
    wanted = None if not args.kernels else set(args.kernels.split(","))
    known = {w for w, _, _ in WORKLOADS}
    if wanted and not wanted <= known:
        raise ValueError(f"--peers workloads are {', '.join(sorted(known))}; "
                         f"got {', '.join(sorted(wanted - known))}")
    print(f"fastpg {__version__} bench --peers | rates in M elements/s (steps, rows, "
          "transitions or env steps), medians; ratio = fastpg auto / best peer")
    print(f"{'workload':20s}{'size':17s}{'fastpg auto':>12s}{'best backend':>20s}"
          f"{'best peer':>24s}{'ratio':>8s}  others")
    rows = []
    for workload, size, peers in WORKLOADS:
        if wanted and workload not in wanted:
            continue
        d = _inputs(workload, small)
        mine = {b: n / _median_time(fn)
                for b, (fn, n) in _fastpg_calls(workload, d, small).items()}
        theirs, why = {}, {}
        for peer in peers:
            try:
                fn, n = _peer_call(workload, peer, d, small)
            except P.Unavailable as exc:
                why[peer] = str(exc)
                continue
            theirs[peer] = n / _median_time(fn)
        best_b = max((b for b in mine if b != "auto"), key=mine.get)
        best_p = max(theirs, key=theirs.get) if theirs else None
        ratio = mine["auto"] / theirs[best_p] if best_p else None
        others = ", ".join([f"{p} {r / 1e6:.2f}" for p, r in theirs.items() if p != best_p]
                           + [f"{p}: {w}" for p, w in why.items()])
        print(f"{workload:20s}{size:17s}{mine['auto'] / 1e6:12.2f}"
              f"{f'{best_b} {mine[best_b] / 1e6:.2f}':>20s}"
              f"{(f'{best_p} {theirs[best_p] / 1e6:.2f}' if best_p else 'none'):>24s}"
              f"{(f'{ratio:.2f}x' if ratio else '-'):>8s}  {others}")
        rows.append(dict(workload=workload, size=size, fastpg=mine, peers=theirs,
                         unavailable=why, ratio=ratio))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(version=__version__, peers=rows), fh, indent=2)
        print(f"wrote {args.json}")
    if args.plot:
        _plot(rows, args.plot)
    return 0


def _plot(rows, path):
    plt = pyplot()
    if plt is None:
        return
    rows = [r for r in rows if r["ratio"]]
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 1.1), 4))
    ax.bar(np.arange(len(rows)), [r["ratio"] for r in rows])
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(rows)))
    ax.set_xticklabels([f"{r['workload']}\nvs {max(r['peers'], key=r['peers'].get)}"
                        for r in rows], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("fastpg (auto) / best peer")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
