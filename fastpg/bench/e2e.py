"""Stable-Baselines3 training end to end, with SB3's buffers and with fastpg's
(``fastpg bench --e2e``; ``bench/bench_e2e.py`` runs it small).

* PPO on CartPole-v1, 8 envs, with RL-Zoo's hyper-parameters for that task
  (``PPO``: 32-step rollouts) and with SB3's defaults (``PPO-2048``: 2048-step
  rollouts): wall time, time inside ``compute_returns_and_advantage``, final
  mean return.
* DQN on CartPole-v1, RL-Zoo's hyper-parameters: wall time and time inside
  the buffer (``add`` + ``sample``, + ``update_priorities`` for prioritized
  replay) for SB3's ``ReplayBuffer``, fastpg's ``ReplayBuffer`` and fastpg's
  ``PrioritizedDQN``; learning curves.

The variants of one seed run one after another in the same process, so they
share the machine's state; the times inside the buffers are measured by
wrapping the buffer's methods (the same wrapper for every variant).
"""
from __future__ import annotations

import time

import numpy as np

PPO_STEPS, DQN_STEPS, SEEDS = 100_000, 50_000, (0, 1, 2)


def _linear(value):
    return lambda progress_remaining: value * progress_remaining


def ppo_zoo():
    """RL-Zoo (rl-baselines3-zoo, hyperparams/ppo.yml) for CartPole-v1, n_envs 8."""
    return dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                learning_rate=_linear(1e-3), clip_range=_linear(0.2))


def dqn_zoo():
    """RL-Zoo (hyperparams/dqn.yml) for CartPole-v1 (5e4 steps)."""
    return dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs=dict(net_arch=[256, 256]))


class _Timed:
    """Wraps obj.<name> for each name: total seconds and calls."""

    def __init__(self, obj, *names):
        self.seconds = {n: 0.0 for n in names}
        self.calls = {n: 0 for n in names}
        for n in names:
            setattr(obj, n, self._wrap(n, getattr(obj, n)))

    def _wrap(self, name, fn):
        clock = time.perf_counter

        def timed(*args, **kwargs):
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += clock() - t0
                self.calls[name] += 1
        return timed


def _episodes(model):
    """(timestep, return) of every finished episode, from the Monitor infos."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Curve(BaseCallback):
        def __init__(self):
            super().__init__()
            self.points = []

        def _on_step(self):
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.points.append((self.num_timesteps, float(info["episode"]["r"])))
            return True

    return Curve()


def _final_return(points, last=100):
    return float(np.mean([r for _, r in points[-last:]])) if points else float("nan")


#: PPO configurations: RL-Zoo's (32-step rollouts) and SB3's defaults (2048 steps)
PPO_CONFIGS = {"PPO": ppo_zoo, "PPO-2048": dict}


def ppo_run(buffer, steps=PPO_STEPS, seed=0, n_envs=8, config="PPO"):
    """buffer: 'sb3' or 'fastpg'; config: a key of PPO_CONFIGS. A dict of measurements."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from ..integrations import sb3 as F

    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed)
    kw = {} if buffer == "sb3" else {"rollout_buffer_class": F.RolloutBuffer}
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", **PPO_CONFIGS[config](), **kw)
    timer = _Timed(model.rollout_buffer, "compute_returns_and_advantage")
    curve = _episodes(model)
    t0 = time.perf_counter()
    model.learn(steps, callback=curve)
    wall = time.perf_counter() - t0
    name = "compute_returns_and_advantage"
    return dict(algo=config, variant=buffer, seed=seed, steps=steps, wall_s=wall,
                returns_s=timer.seconds[name], returns_calls=timer.calls[name],
                final_return=_final_return(curve.points), curve=curve.points)


DQN_VARIANTS = ("sb3", "fastpg", "fastpg-per")


def dqn_run(variant, steps=DQN_STEPS, seed=0):
    """variant: 'sb3' (SB3's ReplayBuffer), 'fastpg' (fastpg's, same DQN) or
    'fastpg-per' (PrioritizedDQN). A dict of measurements."""
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.monitor import Monitor

    from ..integrations import sb3 as F

    env = Monitor(gym.make("CartPole-v1"))
    if variant == "fastpg-per":
        model = F.PrioritizedDQN("MlpPolicy", env, seed=seed, device="cpu", **dqn_zoo())
    else:
        kw = {} if variant == "sb3" else {"replay_buffer_class": F.ReplayBuffer}
        model = DQN("MlpPolicy", env, seed=seed, device="cpu", **dqn_zoo(), **kw)
    names = ("add", "sample") + (("update_priorities",) if variant == "fastpg-per" else ())
    timer = _Timed(model.replay_buffer, *names)
    curve = _episodes(model)
    t0 = time.perf_counter()
    model.learn(steps, callback=curve)
    wall = time.perf_counter() - t0
    return dict(algo="DQN", variant=variant, seed=seed, steps=steps, wall_s=wall,
                buffer_s=sum(timer.seconds.values()), **{f"{n}_s": timer.seconds[n] for n in names},
                **{f"{n}_calls": timer.calls[n] for n in names},
                final_return=_final_return(curve.points), curve=curve.points)


def dqn_side_by_side(steps=DQN_STEPS, seed=0):
    """DQN trained with SB3's ``ReplayBuffer`` while a fastpg ``ReplayBuffer``
    beside it gets the same ``add`` and ``sample`` calls, each timed: both
    buffers' operations measured in one run, under the same cache state
    (after the same environment and gradient steps), free of the noise
    between separate runs. The two are called in alternating order, so
    neither always runs in the caches the other warmed. Training uses SB3's
    samples, so the run learns exactly as the ``sb3`` variant; fastpg's
    buffer draws from its own generator."""
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.monitor import Monitor

    from ..integrations import sb3 as F

    env = Monitor(gym.make("CartPole-v1"))
    model = DQN("MlpPolicy", env, seed=seed, device="cpu", **dqn_zoo())
    rb = model.replay_buffer
    state = np.random.get_state()  # fastpg's seed draw must not move SB3's stream
    ours = F.ReplayBuffer(rb.buffer_size, rb.observation_space, rb.action_space, rb.device,
                          rb.n_envs, rb.optimize_memory_usage, rb.handle_timeout_termination)
    np.random.set_state(state)
    secs = {("sb3", n): 0.0 for n in ("add", "sample")}
    secs.update({("fastpg", n): 0.0 for n in ("add", "sample")})
    calls = {"add": 0, "sample": 0}
    clock = time.perf_counter

    def both(name, theirs, mine):
        def call(*args, **kwargs):
            calls[name] += 1
            first = calls[name] % 2
            for who in ((("sb3", theirs), ("fastpg", mine)) if first else
                        (("fastpg", mine), ("sb3", theirs))):
                t0 = clock()
                out = who[1](*args, **kwargs)
                secs[(who[0], name)] += clock() - t0
                if who[0] == "sb3":
                    result = out
            return result
        return call

    rb.add = both("add", rb.add, ours.add)
    rb.sample = both("sample", rb.sample, ours.sample)
    curve = _episodes(model)
    t0 = time.perf_counter()
    model.learn(steps, callback=curve)
    wall = time.perf_counter() - t0
    out = dict(algo="DQN", variant="side-by-side", seed=seed, steps=steps, wall_s=wall,
               final_return=_final_return(curve.points), curve=curve.points,
               add_calls=calls["add"], sample_calls=calls["sample"])
    for who in ("sb3", "fastpg"):
        out[f"{who}_add_s"], out[f"{who}_sample_s"] = secs[(who, "add")], secs[(who, "sample")]
        out[f"{who}_buffer_s"] = secs[(who, "add")] + secs[(who, "sample")]
    return out


def run_all(ppo_steps=PPO_STEPS, dqn_steps=DQN_STEPS, seeds=SEEDS, progress=print):
    """Every run of the comparison; variants of a seed back to back."""
    runs = []
    for config in PPO_CONFIGS:
        for buffer in ("sb3", "fastpg"):
            runs.append(ppo_run(buffer, ppo_steps, seeds[0], config=config))
            progress(_line(runs[-1]))
    for seed in seeds:
        for variant in DQN_VARIANTS:
            runs.append(dqn_run(variant, dqn_steps, seed))
            progress(_line(runs[-1]))
        runs.append(dqn_side_by_side(dqn_steps, seed))
        progress(_line(runs[-1]))
    return runs


def _line(r):
    if r["algo"].startswith("PPO"):
        inside = (f"compute_returns_and_advantage {r['returns_s'] * 1e3:.1f} ms in "
                  f"{r['returns_calls']} calls")
    elif r["variant"] == "side-by-side":
        inside = "; ".join(
            f"{who} buffer {r[who + '_buffer_s']:.2f} s (add {r[who + '_add_s']:.2f} s, "
            f"sample {r[who + '_sample_s']:.2f} s)" for who in ("sb3", "fastpg")) + \
            f"; {r['sb3_buffer_s'] / r['fastpg_buffer_s']:.1f}x"
    else:
        inside = f"buffer {r['buffer_s']:.2f} s (" + ", ".join(
            f"{n} {r[n + '_s']:.2f} s" for n in ("add", "sample", "update_priorities")
            if n + "_s" in r) + ")"
    return (f"{r['algo']} {r['variant']:<11} seed {r['seed']}: {r['steps']:,} steps in "
            f"{r['wall_s']:.1f} s; {inside}; final mean return {r['final_return']:.1f}")


def summary(runs):
    """Medians over seeds per variant and the ratios the issue asks for."""
    out = {}
    for algo, variants, inside in ([(c, ("sb3", "fastpg"), "returns_s") for c in PPO_CONFIGS]
                                   + [("DQN", DQN_VARIANTS, "buffer_s")]):
        for v in variants:
            rs = [r for r in runs if r["algo"] == algo and r["variant"] == v]
            if rs:
                out[f"{algo} {v}"] = dict(
                    wall_s=float(np.median([r["wall_s"] for r in rs])),
                    inside_s=float(np.median([r[inside] for r in rs])),
                    final_return=float(np.median([r["final_return"] for r in rs])),
                    seeds=len(rs))
    rs = [r for r in runs if r["variant"] == "side-by-side"]
    if rs:
        out["DQN side-by-side"] = dict(
            seeds=len(rs), **{f"{who}_buffer_s": float(np.median([r[who + "_buffer_s"]
                                                                  for r in rs]))
                              for who in ("sb3", "fastpg")},
            ratios=[r["sb3_buffer_s"] / r["fastpg_buffer_s"] for r in rs])
    return out


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    algos = (*PPO_CONFIGS, "DQN")
    fig, axes = plt.subplots(1, len(algos), figsize=(5.5 * len(algos), 4))
    for ax, algo in zip(axes, algos):
        for i, v in enumerate(DQN_VARIANTS if algo == "DQN" else ("sb3", "fastpg")):
            label = v  # on the first curve of the variant only
            for r in (r for r in runs if r["algo"] == algo and r["variant"] == v and r["curve"]):
                t, ret = np.array(r["curve"]).T
                k = min(20, len(ret))
                smooth = np.convolve(ret, np.ones(k) / k, mode="valid")
                ax.plot(t[k - 1:], smooth, color=f"C{i}", lw=1, label=label)
                label = None
        ax.set_title(f"{algo} on CartPole-v1 ("
                     + ("SB3's defaults" if algo == "PPO-2048" else "RL-Zoo") + ")")
        ax.set_xlabel("env steps")
        ax.set_ylabel("episode return (mean of 20)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def bench_e2e(args, fail):
    """`fastpg bench --e2e`: the runs, a table of medians and ratios, JSON, plot.
    ``fail(message)`` reports a usage error (one line, exit 2)."""
    import json
    import sys

    from .. import __version__

    try:
        import stable_baselines3
    except ImportError:
        fail("--e2e needs Stable-Baselines3 and PyTorch: pip install 'fastpg[sb3]'")
    try:
        ppo_steps, dqn_steps = (int(x) for x in (args.e2e_steps or "").split(",")) \
            if args.e2e_steps else (PPO_STEPS, DQN_STEPS)
    except ValueError:
        fail(f"--e2e-steps takes PPO_STEPS,DQN_STEPS (two integers); got {args.e2e_steps!r}")
    if ppo_steps < 1 or dqn_steps < 1 or args.seeds < 1:
        fail("--e2e-steps and --seeds must be positive")
    print(f"fastpg {__version__} bench --e2e | Stable-Baselines3 {stable_baselines3.__version__}, "
          f"CartPole-v1; PPO {ppo_steps:,} steps (8 envs; RL-Zoo's hyper-parameters, and "
          f"SB3's defaults: PPO-2048), DQN {dqn_steps:,} steps (RL-Zoo's) x {args.seeds} seeds",
          flush=True)
    runs = run_all(ppo_steps, dqn_steps, tuple(range(args.seeds)),
                   progress=lambda line: print(line, flush=True))
    summ = summary(runs)
    print(f"\n{'run (median over seeds)':<24}{'wall':>9}{'inside':>12}{'final return':>14}")
    for name, m in summ.items():
        if name == "DQN side-by-side":
            continue
        print(f"{name:<24}{m['wall_s']:>8.1f}s{m['inside_s']:>11.3f}s{m['final_return']:>14.1f}")
    print("inside: PPO's compute_returns_and_advantage; DQN's buffer add + sample "
          "(+ update_priorities)")
    for algo, base, other in (("PPO", "sb3", "fastpg"), ("PPO-2048", "sb3", "fastpg"),
                              ("DQN", "sb3", "fastpg"), ("DQN", "sb3", "fastpg-per")):
        a, b = summ.get(f"{algo} {base}"), summ.get(f"{algo} {other}")
        if a and b:
            print(f"{algo} {other} vs {base}: inside {a['inside_s'] / b['inside_s']:.1f}x faster, "
                  f"wall time {a['wall_s'] / b['wall_s']:.2f}x")
    side = summ.get("DQN side-by-side")
    if side:
        print(f"DQN buffers side by side (one run per seed, the same add/sample calls to both, "
              f"alternating): SB3 {side['sb3_buffer_s']:.2f} s, fastpg "
              f"{side['fastpg_buffer_s']:.2f} s (medians); fastpg "
              + "/".join(f"{x:.1f}" for x in side["ratios"]) + "x faster per seed")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(version=__version__, runs=runs, summary=summ), fh, indent=2)
        print(f"wrote {args.json}")
    if args.plot:
        try:
            plot(runs, args.plot)
            print(f"wrote {args.plot}")
        except ImportError:
            print("--plot needs matplotlib (pip install 'fastpg[bench]'); skipped", file=sys.stderr)
    return 0
