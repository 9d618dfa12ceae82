"""CartPole-v1 on fastpg's compiled kernel: a gymnasium vector env and a
single env, the same dynamics, rewards, termination, truncation and reset
states as gymnasium's ``CartPoleEnv`` under ``TimeLimit`` (500 steps) and
``SyncVectorEnv`` (the kernel's specification: fastpg.reference.envs).

``gymnasium.make_vec("fastpg/CartPole-v1", num_envs=N)`` gives a
:class:`CartPoleVectorEnv`; ``gymnasium.make("fastpg/CartPole-v1")`` one
:class:`CartPoleEnv`. Seeding follows ``SyncVectorEnv``: ``reset(seed=s)``
seeds env i's own generator with ``s + i`` (or ``seed[i]`` for a list), and
every reset of env i, the autoresets included, draws its state from that
generator as gymnasium's CartPole does (``uniform(-0.05, 0.05, 4)``). So the
same seed and actions give the same observations, rewards and flags as
``gymnasium.make_vec("CartPole-v1", num_envs=N, vectorization_mode="sync")``,
bit for bit where NumPy's float64 sin and cos are the C library's (x86-64
without AVX-512; tests/test_envs.py checks it).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .. import _backend
from .. import _checks as C

_X_THRESHOLD = 2.4
_THETA_THRESHOLD = 12 * 2 * math.pi / 360
_BANK = 16


def _observation_space():
    high = np.array([_X_THRESHOLD * 2, np.inf, _THETA_THRESHOLD * 2, np.inf], dtype=np.float32)
    return spaces.Box(-high, high, dtype=np.float32)


def _bounds(options):
    """Reset bounds from ``options`` (gymnasium's ``low``/``high``), default ±0.05."""
    options = {} if options is None else options
    if not isinstance(options, dict) or set(options) - {"low", "high"}:
        raise ValueError(f"options must be None or a dict with 'low' and/or 'high' (the reset "
                         f"state's bounds), got {options!r}")
    low, high = options.get("low", -0.05), options.get("high", 0.05)
    return C.real_number(low, "options['low']"), C.real_number(high, "options['high']")


def _seeds(seed, n):
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(n)]
    seeds = list(seed) if isinstance(seed, (list, tuple)) else None
    if seeds is None or len(seeds) != n:
        raise ValueError(f"seed must be None, an int or a list of {n} ints (one per env), "
                         f"got {seed!r}")
    return seeds


class Rollout(NamedTuple):
    """T steps of N envs, time-major: ``observations`` (T, N, 4) float32 (what
    the policy saw), ``actions`` (T, N) int64, ``rewards`` (T, N) float64,
    ``terminated``, ``truncated`` (T, N) bool, ``log_probs`` (T, N) float64
    (log π(a_t | x_t) under the W that acted)."""
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    log_probs: np.ndarray


class CartPoleVectorEnv(VectorEnv):
    """N CartPole-v1 environments stepped by one kernel call.

    ``autoreset_mode``: ``AutoresetMode.NEXT_STEP`` (gymnasium's default: the
    step after an episode ends returns the new episode's first observation,
    reward 0 and neither flag) or ``SAME_STEP`` (the ending step returns the
    new episode's first observation and puts the last one in
    ``info["final_obs"]``, with the mask ``info["_final_obs"]``).
    ``max_episode_steps``: the truncation length (500 in CartPole-v1).
    ``copy``: return copies of the observations (as gymnasium does by
    default) rather than the env's own buffer, which the next step
    overwrites. ``backend``: the kernel's backend (``auto`` by default).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, max_episode_steps: int = 500,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 copy: bool = True, backend: str | None = None, render_mode=None):
        self.num_envs = C.positive_int(num_envs, "num_envs")
        self.max_episode_steps = C.positive_int(max_episode_steps, "max_episode_steps")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            mode = None
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode must be AutoresetMode.NEXT_STEP or SAME_STEP, "
                             f"got {autoreset_mode!r}")
        if render_mode is not None:
            raise ValueError("fastpg's CartPole has no rendering: render_mode must be None "
                             "(use gymnasium's CartPole-v1 to render)")
        self.autoreset_mode = mode
        self.metadata = dict(self.metadata, autoreset_mode=mode)
        self.render_mode = None
        self.copy = bool(copy)
        self.backend = C.backend(backend)
        self._step = _backend.kernel("envs", "cartpole_step", self.backend)
        self.single_observation_space = _observation_space()
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._state = np.zeros((n, 4))
        self._steps = np.zeros(n, np.int64)
        self._reset = np.zeros(n, np.uint8)
        self._obs = np.zeros((n, 4), np.float32)
        self._final_obs = np.zeros((n, 4), np.float32)
        self._rewards = np.zeros(n)
        self._terminated = np.zeros(n, np.uint8)
        self._truncated = np.zeros(n, np.uint8)
        self._rngs = None
        # each env's next _BANK x 4 doubles of its generator, drawn ahead in one
        # call (a call per autoreset would cost more than the step itself); the
        # kernel takes its reset states from them
        self._bank = np.zeros((n, _BANK, 4))
        self._cursor = np.zeros(n, np.int64)

    def _refill(self):
        """Draw anew the banks that are used up."""
        for i in np.flatnonzero(self._cursor >= _BANK):
            self._bank[i] = self._rngs[i].random((_BANK, 4))
            self._cursor[i] = 0

    def reset(self, *, seed=None, options=None):
        """Start every env's episode; ``seed`` as ``SyncVectorEnv`` (s + i for env i)."""
        seeds = _seeds(seed, self.num_envs)
        low, high = _bounds(options)
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(
                seed if isinstance(seed, (int, np.integer)) else None)
        if self._rngs is None or seed is not None:
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
            self._cursor[:] = _BANK
        # else each env's generator goes on, as gymnasium's env.reset()
        self._refill()
        envs = np.arange(self.num_envs)
        u = self._bank[envs, self._cursor]
        self._cursor += 1
        self._refill()
        self._state[:] = low + (high - low) * u  # gymnasium's uniform(low, high, 4)
        self._steps[:] = 0
        self._reset[:] = 0
        self._obs[:] = self._state
        return (self._obs.copy() if self.copy else self._obs), {}

    def step(self, actions):
        """One step of every env: (obs, rewards, terminated, truncated, infos)."""
        if self._rngs is None:
            raise RuntimeError("call reset() before step()")
        a = actions
        if not (type(a) is np.ndarray and a.dtype == np.int64 and a.shape == (self.num_envs,)
                and a.flags.c_contiguous):  # else converted; the kernel checks the values
            a = C.index_array(actions, "actions", self.num_envs, 2, "the number of actions",
                              allow_float=False)
        same = self.autoreset_mode is AutoresetMode.SAME_STEP
        rc = self._step(self._state, a, self._bank, self._cursor, self._steps, self._reset,
                        self.max_episode_steps, same, self._obs, self._rewards,
                        self._terminated, self._truncated, self._final_obs)
        if rc >= 0:
            raise ValueError(f"actions[{rc}] = {a[rc]}: CartPole's actions are 0 (push left) "
                             "or 1 (push right)")
        if rc == -2:
            self._refill()
        infos = {}
        if same and self._reset.any():
            mask = self._reset.astype(bool)
            final = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(mask):
                final[i] = self._final_obs[i].copy()
            infos = {"final_obs": final, "_final_obs": mask, "final_info": {},
                     "_final_info": mask.copy()}
        return ((self._obs.copy() if self.copy else self._obs), self._rewards.copy(),
                self._terminated.astype(bool), self._truncated.astype(bool), infos)


    def rollout(self, W, steps: int, rng=None) -> Rollout:
        """Run the linear softmax policy π(a | x) = softmax(xᵀ W[:4] + W[4])
        and the envs together for ``steps`` steps in one kernel call (no
        Python per step): W (5, 2) (row 4 the bias: fastpg.agents.Reinforce's
        layout), ``rng`` a seed or Generator for the action draws (the rule
        of ``fastpg.sample_categorical``). Episodes that end restart at once
        (same-step autoreset, so every recorded step is a real transition)
        from the same reset states ``step`` would use; afterwards the envs
        continue from where the rollout left them. Semantics:
        ``fastpg.reference.envs.cartpole_rollout``."""
        if self._rngs is None:
            raise RuntimeError("call reset() before rollout()")
        W = C.float_array(W, "W", np.float64)
        if W.shape != (5, 2):
            raise ValueError(f"W must have shape (5, 2) (4 observation weights and a bias row, "
                             f"per action), got {W.shape}")
        C.all_finite(W, "W")
        T = C.positive_int(steps, "steps")
        u = C.generator(rng).random((T, self.num_envs))
        n = self.num_envs
        out = Rollout(np.empty((T, n, 4), np.float32), np.empty((T, n), np.int64),
                      np.empty((T, n)), np.empty((T, n), np.uint8), np.empty((T, n), np.uint8),
                      np.empty((T, n)))
        kernel = _backend.kernel("envs", "cartpole_rollout", self.backend)
        done = 0
        while done < T:  # a bank that ran out stops the kernel after that step
            done += kernel(W, u[done:], self._state, self._bank, self._cursor, self._steps,
                           self._reset, self.max_episode_steps,
                           *(a[done:] for a in out))
            self._refill()
        self._obs[:] = self._state
        return out._replace(terminated=out.terminated.view(bool),
                            truncated=out.truncated.view(bool))


class CartPoleEnv(gym.Env):
    """One CartPole-v1 environment on the same kernel (``gymnasium.make``
    adds the 500-step ``TimeLimit``, as for gymnasium's own)."""

    metadata = {"render_modes": [], "render_fps": 50}

    def __init__(self, render_mode=None, backend: str | None = None):
        self._vec = CartPoleVectorEnv(1, max_episode_steps=2 ** 62, backend=backend,
                                      render_mode=render_mode)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.render_mode = None
        self._beyond = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs, _ = self._vec.reset(seed=seed, options=options)
        self._beyond = None
        return obs[0], {}

    def step(self, action):
        if self._beyond is not None:  # gymnasium: reward 0 once the pole has fallen
            self._beyond += 1
            return self._vec._obs[0].copy(), 0.0, True, False, {}
        obs, rewards, terminated, _, _ = self._vec.step([action])
        if terminated[0]:
            self._beyond = 0
        return obs[0], float(rewards[0]), bool(terminated[0]), False, {}
