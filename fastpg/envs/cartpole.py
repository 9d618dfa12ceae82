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

import numpy as np
from gymnasium import spaces

from .. import _backend
from .. import _checks as C
from ._vector import KernelEnv, KernelVectorEnv

_X_THRESHOLD = 2.4
_THETA_THRESHOLD = 12 * 2 * math.pi / 360


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


_ROLLOUT_DTYPES = (np.float32, np.int64, np.float64, bool, bool, np.float64)


class CartPoleVectorEnv(KernelVectorEnv):
    """N CartPole-v1 environments stepped by one kernel call (the arguments:
    :class:`fastpg.envs._vector.KernelVectorEnv`), and :meth:`rollout`."""

    ID, KERNEL, STATE, DRAWS, ACTIONS, BOUNDS, MAX_STEPS = (
        "CartPole-v1", "cartpole_step", 4, 4, 2, (-0.05, 0.05), 500)
    # episodes are short under a random policy: refills (a generator call per
    # env) cost 8 of 55 us per step of 1024 envs with 16 records, 2 with 64
    BANK = 64
    #: the last rollout's action uniforms (T, N), reused by a call of the same size
    _uniforms = None

    @staticmethod
    def observation_space_1():
        high = np.array([_X_THRESHOLD * 2, np.inf, _THETA_THRESHOLD * 2, np.inf],
                        dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    @staticmethod
    def start_states(u, low, high):
        return low + (high - low) * u  # gymnasium's uniform(low, high, 4)

    def rollout(self, W, steps: int, rng=None, out: Rollout | None = None) -> Rollout:
        """Run the linear softmax policy π(a | x) = softmax(xᵀ W[:4] + W[4])
        and the envs together for ``steps`` steps in one kernel call (no
        Python per step; on two threads from 512 envs, a call per 32 steps,
        with the same results): W (5, 2) (row 4 the bias: fastpg.agents.Reinforce's
        layout), ``rng`` a seed or Generator for the action draws (the rule
        of ``fastpg.sample_categorical``). Episodes that end restart at once
        (same-step autoreset, so every recorded step is a real transition)
        from the same reset states ``step`` would use; afterwards the envs
        continue from where the rollout left them. Semantics:
        ``fastpg.reference.envs.cartpole_rollout``.

        ``out``: a :class:`Rollout` of C-contiguous arrays of the result's
        shapes and dtypes to write into (and return), e.g. the previous
        call's, which saves allocating (and first touching) fresh memory on
        every call; checked before anything changes."""
        if self._rngs is None:
            raise RuntimeError("call reset() before rollout()")
        W = C.float_array(W, "W", np.float64)
        if W.shape != (5, 2):
            raise ValueError(f"W must have shape (5, 2) (4 observation weights and a bias row, "
                             f"per action), got {W.shape}")
        C.all_finite(W, "W")
        T = C.positive_int(steps, "steps")
        n = self.num_envs
        fields = [(f, (T, n, 4) if f == "observations" else (T, n), d)
                  for f, d in zip(Rollout._fields, _ROLLOUT_DTYPES)]
        if out is None:
            out = Rollout(*(np.empty(shape, d) for _, shape, d in fields))
        else:
            C.out_group(out, "out", fields)
            out = out if isinstance(out, Rollout) else Rollout(*out)
            C.no_alias(W, "W", [(f"out.{f}", a) for f, a in zip(Rollout._fields, out)])
        u = self._uniforms  # kept, up to 32 MB: fresh pages cost their faults on every call
        if u is None or u.shape != (T, n):
            u = np.empty((T, n))
            self._uniforms = u if u.nbytes <= 1 << 25 else None
        C.generator(rng).random(out=u)
        arrays = [a.view(np.uint8) if a.dtype == bool else a for a in out]
        # The multi-threaded kernel runs a call on its threads for as many
        # steps as every env can reset in without its bank's last record (a
        # bank that runs out stops the kernel after that step): so, with it,
        # calls of half a bank's steps, every bank refilled ahead of each.
        block = min(T, self.BANK // 2)
        par = _backend.parallel("cartpole_rollout", block * n)
        kernel = _backend.kernel("envs", "cartpole_rollout", self.backend, size=block * n)
        block = block if par else T
        done = 0
        while done < T:
            if par:
                self._refill(block + 1)
            stop = min(T, done + block)
            k = kernel(W, u[done:stop], self._state, self._bank, self._cursor, self._steps,
                       self._reset, self.max_episode_steps, *(a[done:stop] for a in arrays))
            if k < 0:  # as in step(): _refill follows every call
                raise RuntimeError(f"{self.ID}: a reset bank was used up before the rollout "
                                   "(a fastpg bug: please report it)")
            done += k
            self._refill()
        self._obs[:] = self._state
        return out


class CartPoleEnv(KernelEnv):
    """One CartPole-v1 environment on the same kernel (``gymnasium.make`` adds
    the 500-step ``TimeLimit``, as for gymnasium's own)."""

    VECTOR = CartPoleVectorEnv

    def reset(self, *, seed=None, options=None):
        self._fallen = False
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if self._fallen:  # gymnasium: reward 0 for steps after the pole fell
            reward = 0.0
        self._fallen = terminated
        return obs, reward, terminated, truncated, info
