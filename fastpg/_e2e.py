"""Stable-Baselines3 training end to end, with SB3's buffers and with fastpg's
(``fastpg bench --e2e``; ``bench/bench_e2e.py`` runs it small).

* PPO on CartPole-v1, 8 envs, RL-Zoo's hyper-parameters for that task: wall
  time, time inside ``compute_returns_and_advantage``, final mean return.
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


def ppo_run(buffer, steps=PPO_STEPS, seed=0, n_envs=8):
    """buffer: 'sb3' or 'fastpg'. A dict of measurements."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from .integrations import sb3 as F

    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed)
    kw = {} if buffer == "sb3" else {"rollout_buffer_class": F.RolloutBuffer}
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", **ppo_zoo(), **kw)
    timer = _Timed(model.rollout_buffer, "compute_returns_and_advantage")
    curve = _episodes(model)
    t0 = time.perf_counter()
    model.learn(steps, callback=curve)
    wall = time.perf_counter() - t0
    name = "compute_returns_and_advantage"
    return dict(algo="PPO", variant=buffer, seed=seed, steps=steps, wall_s=wall,
                returns_s=timer.seconds[name], returns_calls=timer.calls[name],
                final_return=_final_return(curve.points), curve=curve.points)


DQN_VARIANTS = ("sb3", "fastpg", "fastpg-per")


def dqn_run(variant, steps=DQN_STEPS, seed=0):
    """variant: 'sb3' (SB3's ReplayBuffer), 'fastpg' (fastpg's, same DQN) or
    'fastpg-per' (PrioritizedDQN). A dict of measurements."""
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.monitor import Monitor

    from .integrations import sb3 as F

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


def run_all(ppo_steps=PPO_STEPS, dqn_steps=DQN_STEPS, seeds=SEEDS, progress=print):
    """Every run of the comparison; variants of a seed back to back."""
    runs = []
    for buffer in ("sb3", "fastpg"):
        runs.append(ppo_run(buffer, ppo_steps, seeds[0]))
        progress(_line(runs[-1]))
    for seed in seeds:
        for variant in DQN_VARIANTS:
            runs.append(dqn_run(variant, dqn_steps, seed))
            progress(_line(runs[-1]))
    return runs


def _line(r):
    if r["algo"] == "PPO":
        inside = (f"compute_returns_and_advantage {r['returns_s'] * 1e3:.1f} ms in "
                  f"{r['returns_calls']} calls")
    else:
        inside = f"buffer {r['buffer_s']:.2f} s (" + ", ".join(
            f"{n} {r[n + '_s']:.2f} s" for n in ("add", "sample", "update_priorities")
            if n + "_s" in r) + ")"
    return (f"{r['algo']} {r['variant']:<11} seed {r['seed']}: {r['steps']:,} steps in "
            f"{r['wall_s']:.1f} s; {inside}; final mean return {r['final_return']:.1f}")


def summary(runs):
    """Medians over seeds per variant and the ratios the issue asks for."""
    out = {}
    for algo, variants, inside in (("PPO", ("sb3", "fastpg"), "returns_s"),
                                   ("DQN", DQN_VARIANTS, "buffer_s")):
        for v in variants:
            rs = [r for r in runs if r["algo"] == algo and r["variant"] == v]
            if rs:
                out[f"{algo} {v}"] = dict(
                    wall_s=float(np.median([r["wall_s"] for r in rs])),
                    inside_s=float(np.median([r[inside] for r in rs])),
                    final_return=float(np.median([r["final_return"] for r in rs])),
                    seeds=len(rs))
    return out


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, algo in zip(axes, ("PPO", "DQN")):
        for i, v in enumerate(("sb3", "fastpg") if algo == "PPO" else DQN_VARIANTS):
            label = v  # on the first curve of the variant only
            for r in (r for r in runs if r["algo"] == algo and r["variant"] == v and r["curve"]):
                t, ret = np.array(r["curve"]).T
                k = min(20, len(ret))
                smooth = np.convolve(ret, np.ones(k) / k, mode="valid")
                ax.plot(t[k - 1:], smooth, color=f"C{i}", lw=1, label=label)
                label = None
        ax.set_title(f"{algo} on CartPole-v1 (RL-Zoo hyper-parameters)")
        ax.set_xlabel("env steps")
        ax.set_ylabel("episode return (mean of 20)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
