"""Shared pieces of the agents: training history, progress, optimisers, and an
episode collector for single and vector gymnasium environments."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _checks as C


@dataclass
class History:
    """What ``train`` returns: one entry per finished episode, in finishing order."""

    episode_returns: list = field(default_factory=list)
    episode_lengths: list = field(default_factory=list)
    wall_time: float = 0.0  # seconds spent in train()
    steps: int = 0  # environment steps taken
    updates: int = 0  # parameter updates made
    solved_at: int | None = None  # episodes until the target mean was first reached

    def mean_return(self, last: int = 100) -> float:
        r = self.episode_returns[-last:]
        return float(np.mean(r)) if r else float("nan")

    def rolling_mean(self, window: int = 100) -> np.ndarray:
        r = np.asarray(self.episode_returns, dtype=np.float64)
        if r.size == 0:
            return r
        c = np.cumsum(np.insert(r, 0, 0.0))
        n = np.minimum(np.arange(1, r.size + 1), window)
        return (c[1:] - c[np.arange(1, r.size + 1) - n]) / n

    def end_episode(self, ret, length, progress=None, budget=None) -> bool:
        """Records a finished episode; True once ``budget`` episodes have finished."""
        self.episode_returns.append(ret)
        self.episode_lengths.append(length)
        if progress is not None:
            progress.update(self)
        return budget is not None and len(self.episode_returns) >= budget

    def summary(self) -> str:
        n = len(self.episode_returns)
        sps = self.steps / self.wall_time if self.wall_time > 0 else float("nan")
        s = f"{n} episodes, {self.steps} steps in {self.wall_time:.1f} s ({sps:,.0f} steps/s)"
        if n:
            s += f"; mean return of the last {min(n, 100)}: {self.mean_return():.2f}"
        if self.solved_at is not None:
            s += f"; solved after {self.solved_at} episodes"
        return s


class GreedyRun:
    """``run_greedy`` for an agent whose ``act(obs, greedy=True)`` acts greedily."""

    def run_greedy(self, env, seed=None, max_steps=10_000):
        """One greedy episode (ε = 0); returns (return, length)."""
        return greedy_episode(self.act, env, seed, max_steps)


def greedy_episode(act, env, seed=None, max_steps=10_000):
    """One episode with ``act(obs, greedy=True)``; returns (return, length)."""
    s, _ = env.reset(seed=seed)
    ret, n = 0.0, 0
    while n < max_steps:
        s, r, term, trunc, _ = env.step(act(s, greedy=True))
        ret += r
        n += 1
        if term or trunc:
            break
    return ret, n


class Progress:
    """A line on stderr about every `every` episodes (auto: on for long runs)."""

    def __init__(self, total, enabled=None, every=None, stream=None):
        self.total = total
        self.enabled = (total is not None and total >= 200) if enabled is None else bool(enabled)
        self.every = every or (max(1, total // 10) if total else 100)
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.next = self.every

    def update(self, hist: History):
        n = len(hist.episode_returns)
        if not self.enabled or n < self.next:
            return
        self.next = (n // self.every + 1) * self.every
        el = time.perf_counter() - self.t0
        tot = f"/{self.total}" if self.total else ""
        print(f"episode {n}{tot}  mean return (last 100) {hist.mean_return():.2f}  "
              f"steps {hist.steps}  {el:.1f} s", file=self.stream, flush=True)


class Adam:
    """Adam (Kingma & Ba 2015) for gradient *ascent* on one array."""

    def __init__(self, shape, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.t = 0

    def step(self, param, grad):
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        mhat = self.m / (1 - self.b1 ** self.t)
        vhat = self.v / (1 - self.b2 ** self.t)
        param += self.lr * mhat / (np.sqrt(vhat) + self.eps)


class SGD:
    def __init__(self, shape, lr=0.01):
        self.lr = lr

    def step(self, param, grad):
        param += self.lr * grad


def spaces(env, who):
    """(observation space, action space) of a gymnasium env or vector env."""
    if not (hasattr(env, "observation_space") and hasattr(env, "action_space")):
        hint = f" (gymnasium.make({env!r}))" if isinstance(env, str) else ""
        raise TypeError(f"{who} needs a gymnasium environment{hint}; got {type(env).__name__}")
    if is_vector_env(env):
        return env.single_observation_space, env.single_action_space
    return env.observation_space, env.action_space


def run_length(episodes, steps):
    """Validated (episodes, steps) of a train() call: positive integers or None."""
    if episodes is not None:
        episodes = C.positive_int(episodes, "episodes")
    if steps is not None:
        steps = C.positive_int(steps, "steps")
    return episodes, steps


def make_optimizer(name, shape, lr, lr_name="lr"):
    lr = C.real_number(lr, lr_name, 0.0, lo_open=True)
    if name == "adam":
        return Adam(shape, lr)
    if name == "sgd":
        return SGD(shape, lr)
    raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {name!r}")


def is_vector_env(env) -> bool:
    return hasattr(env, "num_envs") and hasattr(env, "single_action_space")


@dataclass
class Episode:
    obs: np.ndarray  # (T, *obs_shape): the observation each action was taken in
    actions: np.ndarray  # (T,)
    rewards: np.ndarray  # (T,)
    terminated: bool  # the last step terminated the MDP
    final_obs: np.ndarray  # the observation after the last step

    def __len__(self):
        return len(self.actions)


def _finished(ep, done_eps, hist, progress):
    """Record a finished episode: in the history, the batch and the progress line."""
    hist.episode_returns.append(float(ep.rewards.sum()))
    hist.episode_lengths.append(len(ep))
    done_eps.append(ep)
    if progress is not None:
        progress.update(hist)


class Collector:
    """Runs ``act(obs_batch) -> actions`` on an env and returns finished episodes.

    Works for a gymnasium Env (a batch of 1) and for a VectorEnv with the
    default NEXT_STEP autoreset (the step after an episode's end only resets
    that sub-environment: its reward and action are discarded). Unfinished
    episodes carry over from one ``run`` to the next.
    """

    def __init__(self, env, seed=None):
        self.env = env
        self.vec = is_vector_env(env)
        self.n = env.num_envs if self.vec else 1
        obs, _ = env.reset(seed=seed)
        self.obs = obs if self.vec else obs[None]
        self.buf = [([], [], []) for _ in range(self.n)]
        self.skip = np.zeros(self.n, bool)

    def run(self, act, n_episodes, hist: History, progress: Progress | None = None,
            act_one=None):
        """act(obs_batch) -> actions; act_one(obs) -> action, if given, for a single env."""
        if not self.vec:
            return self._run_single(act_one or (lambda o: act(o[None])[0]), n_episodes, hist,
                                    progress)
        env, vec, n = self.env, self.vec, self.n
        done_eps = []
        while len(done_eps) < n_episodes:
            obs = self.obs
            actions = act(obs)
            if vec:
                nobs, rew, term, trunc, _ = env.step(actions)
            else:
                o, r, te, tr, _ = env.step(int(actions[0]))
                nobs, rew, term, trunc = o[None], (r,), (te,), (tr,)
            for i in range(n):
                if self.skip[i]:  # this step only reset sub-env i
                    self.skip[i] = False
                    continue
                hist.steps += 1
                b = self.buf[i]
                b[0].append(obs[i])
                b[1].append(actions[i])
                b[2].append(rew[i])
                if term[i] or trunc[i]:
                    ep = Episode(np.asarray(b[0]), np.asarray(b[1], dtype=np.int64),
                                 np.asarray(b[2], dtype=np.float64), bool(term[i]),
                                 np.array(nobs[i]))
                    self.buf[i] = ([], [], [])
                    _finished(ep, done_eps, hist, progress)
                    if vec:
                        self.skip[i] = True
            self.obs = nobs
        return done_eps

    def _run_single(self, act_one, n_episodes, hist, progress):
        # the per-step path of a single env, kept lean: it runs once per env step
        env_step = self.env.step
        obs = self.obs[0]
        O, Acts, Rs = self.buf[0]
        done_eps = []
        steps = 0
        while len(done_eps) < n_episodes:
            a = int(act_one(obs))
            o, r, te, tr, _ = env_step(a)
            O.append(obs)
            Acts.append(a)
            Rs.append(r)
            steps += 1
            if te or tr:
                ep = Episode(np.asarray(O), np.asarray(Acts, dtype=np.int64),
                             np.asarray(Rs, dtype=np.float64), bool(te), np.array(o))
                O, Acts, Rs = [], [], []
                hist.steps += steps
                steps = 0
                _finished(ep, done_eps, hist, progress)
                o, _ = self.env.reset()
            obs = o
        hist.steps += steps
        self.obs = obs[None]
        self.buf[0] = (O, Acts, Rs)
        return done_eps


class FusedCollector:
    """Finished episodes from a compiled vector env's fused rollouts
    (``env.rollout(W, steps, rng)``, e.g. fastpg/CartPole-v1: the linear
    softmax policy and the envs in one kernel call per ``chunk`` steps, every
    step a real transition). Unfinished episodes carry over from one ``run``
    to the next, as with :class:`Collector`. The rollout keeps no final
    observations, so an episode's ``final_obs`` is NaN (the agents that
    bootstrap from it use :class:`Collector`)."""

    def __init__(self, env, seed=None, chunk=64):
        self.env = env
        self.n = env.num_envs
        self.chunk = chunk
        env.reset(seed=seed)
        self.buf = [[] for _ in range(self.n)]
        self.nan_obs = np.full(env.single_observation_space.shape, np.nan, np.float32)

    def run(self, W, rng, n_episodes, hist: History, progress: Progress | None = None):
        done_eps = []
        while len(done_eps) < n_episodes:
            r = self.env.rollout(W, self.chunk, rng)
            hist.steps += r.actions.size
            ends = r.terminated | r.truncated
            for i in range(self.n):
                start = 0
                for t in np.flatnonzero(ends[:, i]):
                    parts = self.buf[i] + [(r.observations[start:t + 1, i],
                                            r.actions[start:t + 1, i], r.rewards[start:t + 1, i])]
                    self.buf[i] = []
                    ep = Episode(*(np.concatenate([p[k] for p in parts]) for k in range(3)),
                                 bool(r.terminated[t, i]), self.nan_obs)
                    _finished(ep, done_eps, hist, progress)
                    start = t + 1
                if start < self.chunk:
                    self.buf[i].append((r.observations[start:, i], r.actions[start:, i],
                                        r.rewards[start:, i]))
        return done_eps


def train_by_episodes(agent, env, episodes, seed, progress, act_one=None, after_update=None,
                      fused_policy=None):
    """The episodic agents' training loop: collect ``agent.episodes_per_update``
    finished episodes with ``agent.act`` (``act_one`` for a single env), call
    ``agent.update`` on them, until ``episodes`` have finished;
    ``after_update(hist)`` returning True stops early. ``fused_policy()``, if
    given, returns the agent's current linear policy weights, and an env with
    a fused ``rollout`` (fastpg/CartPole-v1) then runs them with no Python
    per step (:class:`FusedCollector`). Returns the History."""
    episodes = run_length(episodes, None)[0]
    hist = History()
    prog = Progress(episodes, progress)
    fused = fused_policy is not None and callable(getattr(env, "rollout", None))
    col = FusedCollector(env, seed=seed) if fused else Collector(env, seed=seed)
    t0 = time.perf_counter()
    while len(hist.episode_returns) < episodes:
        n = min(agent.episodes_per_update, episodes - len(hist.episode_returns))
        if fused:
            agent.update(col.run(fused_policy(), agent.rng, n, hist, prog))
        else:
            agent.update(col.run(agent.act, n, hist, prog, act_one=act_one))
        hist.updates += 1
        if after_update is not None and after_update(hist):
            break
    hist.wall_time = time.perf_counter() - t0
    return hist
