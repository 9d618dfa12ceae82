"""`fastpg bench | train | info` (also `python -m fastpg ...`)."""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys

import numpy as np

from . import __version__, _backend


def _fail(msg):
    print(f"fastpg: error: {msg}", file=sys.stderr)
    raise SystemExit(2)


def bench(args):
    from .bench.run import bench as run  # the suite is imported only when it runs
    return run(args)


AGENTS = ("reinforce", "actor-critic", "q-learning", "sarsa", "expected-sarsa",
          "double-q-learning")
TABULAR_AGENTS = {"q-learning": "QLearning", "sarsa": "Sarsa", "expected-sarsa": "ExpectedSarsa",
                  "double-q-learning": "DoubleQLearning"}


#: the agents that train on vector envs (and on fastpg's compiled ones)
_VECTOR_AGENTS = ("reinforce", "actor-critic")


def train(args):
    import gymnasium

    from . import envs  # noqa: F401  (registers the fastpg/... environments)
    from .agents import CompatibleActorCritic, Reinforce

    try:
        # fastpg's compiled envs are vector envs of their own (fused rollouts),
        # even of one env; any other env is vectorised with gymnasium's sync
        compiled = args.agent in _VECTOR_AGENTS and args.env.startswith("fastpg/") and \
            gymnasium.spec(args.env).vector_entry_point is not None
        if args.num_envs > 1 or compiled:
            env = gymnasium.make_vec(args.env, num_envs=args.num_envs,
                                     vectorization_mode=None if compiled else "sync")
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
            from ._numba import _chunks
            chunks = {0: "none", 32: "avx2", 64: "avx512"}[_chunks._BYTES]
            ver = (f" (numba {numba.__version__}, flat-scan vector chunks: {chunks}; "
                   "threading layer on first parallel call; compiled kernels cached in "
                   f"{_numba.cache_dir() or 'nowhere: not writable'})")
        if ok and b == "cython":
            from . import _cy
            from ._cy import returns
            isa = _cy.ISA + (f" ({', '.join(_cy.ISA_MODULES)})" if _cy.ISA_MODULES else "")
            ver = (f" (instruction set {isa}, CPU {_cy.CPU_ISA}; "
                   f"OpenMP threads: {returns.openmp_threads()})")
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
                        "SB3's buffers and fastpg's (needs fastpg[sb3]; ~25 min here)")
    b.add_argument("--e2e-steps", metavar="PPO,DQN",
                   help="steps of the --e2e runs (default 100000,50000)")
    b.add_argument("--seeds", type=_number(1, integer=True), default=3,
                   help="--e2e: DQN seeds (default 3)")
    b.add_argument("--table", action="store_true",
                   help="instead: every registered kernel (replay included) from the kernel "
                        "table at its benchmark size, each backend (--kernels filters)")
    b.add_argument("--peers", action="store_true",
                   help="instead: fastpg against rlax, Stable-Baselines3, Tianshou, cpprb and "
                        "torch where installed (pip install 'fastpg[peers]'), same inputs, same "
                        "process (--kernels filters the workloads)")
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
                   help="a vector env of this size (reinforce, actor-critic): fastpg's "
                   "compiled one for a fastpg/ id, else gymnasium's SyncVectorEnv")
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
        if args.num_envs > 1 and args.agent not in _VECTOR_AGENTS:
            _fail(f"--num-envs > 1 is for {' and '.join(_VECTOR_AGENTS)}, not {args.agent}")
    try:
        _backend.get_backend()  # FASTPG_BACKEND, read once: a bad value is a usage error
        return args.func(args)
    except (ValueError, TypeError, _backend.BackendUnavailable) as exc:
        _fail(str(exc))
