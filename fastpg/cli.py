"""`fastpg bench | train | info` (also `python -m fastpg ...`)."""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

from . import __version__, _backend


def _fail(msg):
    print(f"fastpg: error: {msg}", file=sys.stderr)
    raise SystemExit(2)


def _median_time(fn, min_time=0.2, max_rounds=50, warmup=True, slow=2.0):
    """Median wall time of fn() over rounds that run until min_time has passed
    (at least 3 rounds, unless one round takes more than ``slow`` seconds)."""
    if warmup:
        fn()  # JIT compilation and first-touch page faults are not timed
    times = []
    start = time.perf_counter()
    while len(times) < max_rounds and (time.perf_counter() - start < min_time or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > slow:
            break
    return float(np.median(times))


def copy_bandwidth(nbytes=256 << 20):
    """Bytes moved per second (read + write) by a large np.copyto."""
    src = np.ones(nbytes, np.uint8)
    dst = np.empty_like(src)
    t = _median_time(lambda: np.copyto(dst, src), min_time=0.3, max_rounds=7)
    return 2 * nbytes / t


def cold_start(backend):
    """Seconds for `import fastpg` + first kernel call in a fresh process.

    The process imports this same fastpg: it runs outside the current directory
    (a source checkout there would shadow an installed package) with this
    package's parent first on its path."""
    import os
    import tempfile

    code = ("import time; t0 = time.perf_counter(); import fastpg, numpy as np; "
            f"fastpg.gae(np.ones((64, 8), np.float32), np.zeros((64, 8), np.float32), "
            f"np.zeros(8, np.float32), 0.99, 0.95, backend={backend!r}); "
            "print(time.perf_counter() - t0)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tempfile.gettempdir(), env=env)
    if res.returncode:
        return None
    return float(res.stdout.strip().splitlines()[-1])


def _bytes_per_element(kernel, dtype):
    f = np.dtype(dtype).itemsize
    # inputs read + outputs written, flags are 1 byte each
    return {"discounted_returns": 3 * f + 2, "gae": 5 * f + 2,
            "lambda_returns": 3 * f + 2, "nstep_returns": 3 * f + 2}[kernel]


def _pick(csv, known, flag):
    names = [x.strip() for x in csv.split(",") if x.strip()]
    bad = [x for x in names if x not in known]
    if bad or not names:
        _fail(f"{flag} takes a comma-separated list from {', '.join(known)}; got {csv!r}")
    return names


def _cases(args):
    """(kernel, size, elements per call, dtype, make, call, skip the numpy reference).

    The default run takes one size per family (QUICK); --full or --sizes
    choose among all of them.
    """
    from . import _workloads as W

    every = args.full or args.sizes
    cases = []
    for kernel in _backend.REGISTRY["returns"]:
        for size in W.SIZES if every else W.QUICK:
            T, B, dt = W.SIZES[size]
            slow = B == 1 and T > (2_000_000 if args.full else 100_000)
            cases.append((kernel, size, T * B, dt, W.make, W.call, slow))
    for kernel in _backend.REGISTRY["policy"]:
        for size in W.POLICY_SIZES if every else W.POLICY_QUICK:
            dt = W.POLICY_SIZES[size][3]
            cases.append((kernel, size, W.policy_rows(kernel, size), dt, W.make_policy,
                          W.call_policy, False))
    n_ref = W.N_REF if every else W.N_REF_QUICK
    for kernel in list(W.TABULAR_UPDATES) + ["epsilon_greedy"]:
        for size in W.TABULAR_SIZES if every else W.TABULAR_QUICK:
            dt = W.TABULAR_SIZES[size][3]
            cases.append((kernel, size, W.TABULAR_SIZES[size][2], dt, W.make_tabular,
                          lambda k, d, b: W.call_tabular(k, d, b, n_ref), False))
    for size in W.VI_SIZES if every else W.VI_QUICK:
        cases.append(("value_iteration", size, 1, np.float64, W.make_vi,
                      lambda k, d, b: W.call_vi(d, b), False))
    for workload, sizes in W.REPLAY_WORKLOADS.items():
        for size in sizes:
            if every or size in W.REPLAY_QUICK:
                cases.append((workload, size, W.REPLAY_BATCH, W.REPLAY_SIZES[size][2],
                              W.make_replay, W.call_replay, False))
    if args.kernels:
        keep = _pick(args.kernels, sorted({c[0] for c in cases}), "--kernels")
        cases = [c for c in cases if c[0] in keep]
    if args.sizes:
        keep = _pick(args.sizes, sorted({c[1] for c in cases}), "--sizes")
        cases = [c for c in cases if c[1] in keep]
    return cases


_WARM = {}


def _warm_case(opts, kernel, size):
    """Worker of _warm_numba: one numba call of a case (compiles, or loads from the cache)."""
    from . import _workloads as W

    if kernel == "q_learning_rollout":
        W.rollout_steps_per_second(1000, backends=("numba",))
        return
    for k, s, _, _, make, call, _ in _cases(argparse.Namespace(**opts)):
        if (k, s) == (kernel, size):
            if _WARM.get("key") != (make.__name__, s):
                _WARM.clear()
                _WARM.update(key=(make.__name__, s), data=make(s))
            fn = call(k, _WARM["data"], "numba")
            (fn[0] if isinstance(fn, tuple) else fn)()
            return


def _warm_numba(args, cases):
    """Compile the cases' numba kernels in two processes at once, into numba's
    disk cache (seconds per kernel on the first run on a machine, then loaded
    from the cache); the timed runs then find them compiled. None: no cache."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from . import _numba

    if _numba.cache_dir() is None or _backend.threads() < 2:
        return None
    jobs = [(c[0], c[1]) for c in cases]
    if not (args.kernels or args.sizes):
        jobs.append(("q_learning_rollout", ""))
    opts = dict(full=args.full, kernels=args.kernels, sizes=args.sizes)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        list(ex.map(_warm_case, [opts] * len(jobs), *zip(*jobs)))
    return time.perf_counter() - t0


def bench(args):
    from . import _workloads as W

    if args.e2e:
        from ._e2e import bench_e2e
        return bench_e2e(args, _fail)
    cases = _cases(args)
    backends = [b for b in _backend.BACKENDS if _backend.available(b)]
    warm = _warm_numba(args, cases) if "numba" in backends else None
    # the roofline of the memory-bound scans (the "% bw" column of the flat streams)
    streams = any(c[0] in _backend.REGISTRY["returns"] and c[2] >= 1_000_000 for c in cases)
    bw = copy_bandwidth() if streams else None
    print(f"fastpg {__version__} bench | backends: {', '.join(backends)}"
          + (f" | copy bandwidth {bw / 1e9:.1f} GB/s (read+write)" if bw else ""))
    if warm is not None:
        from . import _numba
        print(f"numba kernels compiled or loaded from the cache in {warm:.1f} s (two processes; "
              f"compiled once per machine, cached in {_numba.cache_dir()})")
    rows = []
    header = (f"{'kernel':<22}{'size':<19}{'backend':<11}{'median':>12}{'M elem/s':>10}"
              f"{'vs numpy':>10}{'% bw':>7}")
    print(header)
    print("-" * len(header))
    data = {}
    for kernel, size, n, dt, make, call, skip_ref in cases:
        if size not in data:
            data = {}  # one workload in memory at a time (drop it before building the next)
            data = {size: make(size)}
        d = data[size]
        base = None  # the reference's rate (elements per second)
        variants = [(b, b) for b in backends]
        if kernel == "q_learning" and make is W.make_tabular:
            variants.append(("np.add.at*", "add.at"))
        for label, backend in variants:
            if backend == "numpy" and skip_ref:
                continue
            if backend == "add.at":
                fn, n_run = W.add_at_q_learning(d)
            else:
                fn = call(kernel, d, backend)
                fn, n_run = fn if isinstance(fn, tuple) else (fn, n)
            if backend in ("numpy", "add.at"):  # no JIT: no warm-up; slow loops once
                med = _median_time(fn, min_time=0.05, max_rounds=3, warmup=False, slow=0.25)
            else:
                med = _median_time(fn, min_time=0.2 if args.full else 0.05,
                                   slow=2.0 if args.full else 0.1)
            rate = n_run / med
            if backend == "numpy":
                base = rate
            frac = None
            if kernel in _backend.REGISTRY["returns"] and n >= 1_000_000:
                frac = n * _bytes_per_element(kernel, dt) / med / bw
            row = dict(kernel=kernel, size=size, backend=label, median_s=med, elements=n_run,
                       elements_per_s=rate, speedup_vs_numpy=(rate / base) if base else None,
                       fraction_of_copy_bandwidth=frac)
            rows.append(row)
            sp = f"{row['speedup_vs_numpy']:.1f}x" if base else "-"
            fr = f"{100 * frac:.0f}%" if frac is not None else ""
            print(f"{kernel:<22}{size:<19}{label:<11}{med * 1e6:>10.1f}us"
                  f"{rate / 1e6:>10.2f}{sp:>10}{fr:>7}", flush=True)
    n_ref = W.N_REF if (args.full or args.sizes) else W.N_REF_QUICK
    e2e = None
    if args.full and not args.kernels:
        e2e = W.reinforce_steps_per_second()
        print("REINFORCE on CartPole-v1, env steps/s end to end (same agent, seed 0, "
              f"{W.E2E_EPISODES} episodes): fastpg {e2e['fastpg']:,.0f}, plain NumPy "
              f"{e2e['numpy']:,.0f} ({e2e['fastpg'] / e2e['numpy']:.1f}x); "
              f"env alone with random actions {e2e['env_only']:,.0f}")
    if not (args.kernels or args.sizes):
        n_steps = 2_000_000 if args.full else 500_000
        ro = W.rollout_steps_per_second(n_steps, [b for b in backends if b != "numpy"])
        print("fused TabularMDP + epsilon-greedy + Q-learning on the HOML MDP "
              f"({n_steps:,} steps): "
              + ", ".join(f"{b} {v / 1e6:.1f} M steps/s" for b, v in ro.items()))
        e2e = dict(e2e or {}, q_learning_rollout_steps_per_s=ro)
    print("elements: steps (returns), rows (policy), transitions (tabular; the numpy "
          f"reference loop is timed on the first {n_ref:,}), solves (value_iteration), "
          "transitions sampled or added (replay: per_sample_update = prioritized sample 256 + "
          "update 256 priorities; add_one does not call kernels, so its backends only differ "
          "by noise); * np.add.at: batch semantics, not sequential")
    cold = {b: cold_start(b) for b in backends}
    print("cold start (import fastpg + first gae call, fresh process): "
          + ", ".join(f"{b} {t:.2f}s" if t is not None else f"{b} failed" for b, t in cold.items()))
    result = dict(version=__version__, machine=platform.machine(), python=platform.python_version(),
                  copy_bandwidth_bytes_per_s=bw, results=rows, cold_start_s=cold,
                  numba_warmup_s=warm,
                  end_to_end=e2e)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}")
    if args.plot:
        _plot(rows, args.plot)
    return 0


def _plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (pip install 'fastpg[bench]'); skipped", file=sys.stderr)
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


AGENTS = ("reinforce", "actor-critic", "q-learning", "sarsa", "expected-sarsa",
          "double-q-learning")
TABULAR_AGENTS = {"q-learning": "QLearning", "sarsa": "Sarsa", "expected-sarsa": "ExpectedSarsa",
                  "double-q-learning": "DoubleQLearning"}


def train(args):
    import gymnasium

    from . import envs  # noqa: F401  (registers the fastpg/... environments)
    from .agents import CompatibleActorCritic, Reinforce

    try:
        if args.num_envs > 1:
            env = gymnasium.make_vec(args.env, num_envs=args.num_envs, vectorization_mode="sync")
        else:
            env = gymnasium.make(args.env)
    except Exception as exc:  # unknown id, missing extra, ...
        _fail(f"cannot make env {args.env!r}: {exc}")
    kw = dict(seed=args.seed, backend=args.backend)
    if args.gamma is not None:
        kw["gamma"] = args.gamma
    if args.agent in TABULAR_AGENTS:
        return _train_tabular(args, env, kw)
    if args.agent == "reinforce":
        if args.lr is not None:
            kw["lr"] = args.lr
        agent = Reinforce(env, baseline=args.baseline, **kw)
        episodes = args.episodes or 1000
        target = env.spec.reward_threshold if getattr(env, "spec", None) else None
        hist = agent.train(env, episodes=episodes, seed=args.seed, progress=not args.quiet,
                           target=target)
    else:
        if args.lr is not None:
            kw["alpha"] = args.lr
        agent = CompatibleActorCritic(env, **kw)
        hist = agent.train(env, episodes=args.episodes or 500, seed=args.seed,
                           progress=not args.quiet)
    env.close()
    print(f"{args.agent} on {args.env} (seed {args.seed}): {hist.summary()}")
    if args.plot:
        _plot_curve(hist, args.plot, f"{args.agent} on {args.env}")
    return 0


def _train_tabular(args, env, kw):
    from . import agents

    if args.lr is not None:
        kw["alpha"] = args.lr
    for name in ("epsilon", "alpha_decay", "epsilon_decay", "epsilon_min"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    agent = getattr(agents, TABULAR_AGENTS[args.agent])(env, **kw)
    episodes = args.episodes if args.episodes or args.steps else 500
    hist = agent.train(env, episodes=episodes, steps=args.steps, seed=args.seed,
                       progress=not args.quiet)
    print(f"{args.agent} on {args.env} (seed {args.seed}): {hist.summary()}")
    if hist.episode_returns:
        ret, n = agent.run_greedy(env, seed=args.seed, max_steps=1000)
        print(f"greedy episode: return {ret:.1f} in {n} steps")
    else:
        print("greedy policy:", agent.greedy_policy().tolist())
    if agent.Q.shape[0] <= 10:  # small MDPs: the learned table itself
        print("Q:", np.array2string(agent.Q, precision=2, suppress_small=True))
    if args.plot:
        _plot_tabular(agent, env, args.plot, f"{args.agent} on {args.env}")
    env.close()
    return 0


def _plot_tabular(agent, env, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (pip install 'fastpg[bench]'); skipped", file=sys.stderr)
        return
    Q = np.where(np.isfinite(agent.Q), agent.Q, np.nan)
    V = np.nanmax(np.where(np.isnan(Q), -np.inf, Q), axis=1)
    pol = agent.greedy_policy()
    u = env.unwrapped
    fig, ax = plt.subplots(figsize=(7, 5))
    if hasattr(u, "walls"):  # a grid: values as a heat map, the greedy action as arrows
        grid = V.reshape(u.H, u.W).astype(float)
        grid[u.walls] = np.nan
        im = ax.imshow(grid, cmap="viridis")
        arrows = {0: (0, -0.3), 1: (0, 0.3), 2: (-0.3, 0), 3: (0.3, 0)}
        for r in range(u.H):
            for c in range(u.W):
                if not u.walls[r, c] and (r, c) != u.goal:
                    dx, dy = arrows[int(pol[r * u.W + c])]
                    ax.arrow(c - dx / 2, r - dy / 2, dx, dy, head_width=0.15, color="w")
        ax.text(u.goal[1], u.goal[0], "G", ha="center", va="center", color="r", fontsize=14)
    else:
        im = ax.imshow(Q, aspect="auto", cmap="viridis")
        ax.set_xlabel("action")
        ax.set_ylabel("state")
        for s_, a_ in enumerate(pol):
            ax.text(a_, s_, "*", ha="center", va="center", color="r")
    fig.colorbar(im, ax=ax, label="max_a Q" if hasattr(u, "walls") else "Q")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def _plot_curve(hist, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (pip install 'fastpg[bench]'); skipped", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(hist.episode_returns, lw=0.6, alpha=0.5, label="episode return")
    ax.plot(hist.rolling_mean(100), lw=2, label="mean of the last 100")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def info(args):
    print(f"fastpg {__version__}  python {platform.python_version()}  numpy {np.__version__}")
    print(f"selected backend: {_backend.get_backend()}  threads: {_backend.threads()}")
    for b in _backend.BACKENDS:
        why = _backend.why_unavailable(b)
        ok = why is None
        ver = ""
        if ok and b == "numba":
            import numba

            from . import _numba
            ver = (f" (numba {numba.__version__}, threading layer on first parallel call; "
                   f"compiled kernels cached in {_numba.cache_dir() or 'nowhere: not writable'})")
        if ok and b == "cython":
            from ._cy import returns
            ver = f" (OpenMP threads: {returns.openmp_threads()})"
        print(f"  {b:<7} {'available' + ver if ok else 'unavailable: ' + why}")
    try:
        import Cython
        print(f"Cython {Cython.__version__} (build time)")
    except ImportError:
        pass
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2 (argparse would print the usage too)
        _fail(message)


def _number(lo=-math.inf, hi=math.inf, lo_open=False, integer=False):
    """An argparse type: a number (an integer with integer=True) in [lo, hi]."""
    def parse(text):
        try:
            v = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if integer else 'a number'}"
                                             f"; got {text!r}") from None
        if not (v > lo if lo_open else v >= lo) or not v <= hi:  # NaN fails too
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]".replace("inf]", "inf)")
            raise argparse.ArgumentTypeError(f"must lie in {interval}; got {text}")
        return v
    return parse


def _output(path, flag):
    """A file to write: its directory must exist, and it must not be a directory."""
    if path is None:
        return None
    if os.path.isdir(path):
        _fail(f"{flag} {path!r} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        _fail(f"{flag}: the directory {folder!r} does not exist")
    if flag == "--plot" and not os.path.splitext(path)[1]:
        path += ".png"  # what matplotlib writes; say so in "wrote ..."
    return path


#: train flags that only some agents use: flag -> (the attribute, the agents)
_AGENT_FLAGS = {"--baseline": ("baseline", ("reinforce",)),
                "--steps": ("steps", tuple(TABULAR_AGENTS)),
                "--epsilon": ("epsilon", tuple(TABULAR_AGENTS)),
                "--epsilon-decay": ("epsilon_decay", tuple(TABULAR_AGENTS)),
                "--epsilon-min": ("epsilon_min", tuple(TABULAR_AGENTS)),
                "--alpha-decay": ("alpha_decay", tuple(TABULAR_AGENTS))}


def main(argv=None):
    ap = _Parser(prog="fastpg", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench", help="benchmark every kernel x backend against the NumPy reference")
    b.add_argument("--full", action="store_true",
                   help="every size (incl. flat 16M, Atari-size replay) and the REINFORCE "
                        "end-to-end run; several minutes")
    b.add_argument("--kernels", metavar="K1,K2", help="only these kernels")
    b.add_argument("--sizes", metavar="S1,S2", help="only these sizes (see --full)")
    b.add_argument("--json", metavar="PATH", help="write results as JSON")
    b.add_argument("--plot", metavar="PATH", help="write a PNG bar chart (needs matplotlib); "
                   "with --e2e the learning curves")
    b.add_argument("--e2e", action="store_true",
                   help="instead: Stable-Baselines3 PPO and DQN on CartPole-v1 end to end with "
                        "SB3's buffers and fastpg's (needs fastpg[sb3]; ~15 min here)")
    b.add_argument("--e2e-steps", metavar="PPO,DQN",
                   help="steps of the --e2e runs (default 100000,50000)")
    b.add_argument("--seeds", type=_number(1, integer=True), default=3,
                   help="--e2e: DQN seeds (default 3)")
    b.set_defaults(func=bench)
    t = sub.add_parser("train", help="train an agent on a gymnasium environment")
    t.add_argument("agent", choices=AGENTS)
    t.add_argument("--env", required=True,
                   help="gymnasium id, e.g. CartPole-v1, fastpg/ThreeStateMDP-v0")
    t.add_argument("--episodes", type=_number(1, integer=True), default=None,
                   help="episodes to train (default 1000 for reinforce, 500 otherwise)")
    t.add_argument("--steps", type=_number(1, integer=True), default=None,
                   help="tabular agents: train for steps")
    t.add_argument("--epsilon", type=_number(0, 1), default=None,
                   help="tabular agents: exploration")
    t.add_argument("--epsilon-decay", type=_number(0, 1, lo_open=True), default=None,
                   metavar="D", help="tabular agents: epsilon * D**episodes (default 1: constant)")
    t.add_argument("--epsilon-min", type=_number(0, 1), default=None,
                   help="tabular agents: floor of epsilon")
    t.add_argument("--alpha-decay", type=_number(0), default=None, metavar="K",
                   help="tabular agents: step size lr / (1 + K * updates) (default 0: constant)")
    t.add_argument("--seed", type=_number(0, 2**32 - 1, integer=True), default=0)
    t.add_argument("--lr", type=_number(0, lo_open=True), default=None,
                   help="step size (policy lr, or alpha in (0, 1] for tabular agents)")
    t.add_argument("--gamma", type=_number(0, 1), default=None)
    t.add_argument("--baseline", choices=["mean", "value"], default=None, help="reinforce only")
    t.add_argument("--num-envs", type=_number(1, integer=True), default=1,
                   help="a synchronous vector env of this size (reinforce)")
    t.add_argument("--backend", choices=["auto", *_backend.BACKENDS], default=None)
    t.add_argument("--quiet", action="store_true", help="no progress lines")
    t.add_argument("--plot", metavar="PATH", help="write the learning curve (policy agents) or "
                   "the greedy policy and values (tabular agents) as PNG (needs matplotlib)")
    t.set_defaults(func=train)
    i = sub.add_parser("info", help="version, backends available (and why not), threads")
    i.set_defaults(func=info)
    args = ap.parse_args(argv)
    # everything that can be checked before the work is checked before it
    for flag in ("--json", "--plot"):
        attr = flag[2:]
        setattr(args, attr, _output(getattr(args, attr, None), flag))
    if args.cmd == "train":
        for flag, (attr, agents) in _AGENT_FLAGS.items():
            if getattr(args, attr) is not None and args.agent not in agents:
                _fail(f"{flag} is for {', '.join(agents)}, not {args.agent}")
        if args.agent in TABULAR_AGENTS and args.lr is not None and args.lr > 1:
            _fail(f"--lr for {args.agent} is the step size alpha, in (0, 1]; got {args.lr:g}")
        if args.num_envs > 1 and args.agent != "reinforce":
            _fail(f"--num-envs > 1 is for reinforce, not {args.agent}")
    try:
        _backend.get_backend()  # FASTPG_BACKEND, read once: a bad value is a usage error
        return args.func(args)
    except (ValueError, TypeError, _backend.BackendUnavailable) as exc:
        _fail(str(exc))
