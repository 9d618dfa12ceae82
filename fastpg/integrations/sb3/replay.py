"""Stable-Baselines3 replay buffers backed by :class:`fastpg.ReplayBuffer`.

``DQN / SAC / TD3(..., replay_buffer_class=ReplayBuffer)``: SB3's contract
(``add(obs, next_obs, action, reward, done, infos)``, ``sample(batch_size,
env)`` -> ``ReplayBufferSamples`` of tensors on the model's device,
``handle_timeout_termination``, ``optimize_memory_usage``, ``n_envs``, n-step
returns with ``discounts``), with fastpg's storage underneath: one record per
transition, sampling by the registry kernels, n-step sums at sample time.

Mapping of SB3's flags: with ``handle_timeout_termination`` (SB3's default), a
``done`` step whose info says ``TimeLimit.truncated`` is stored as truncated
(bootstrapped), any other ``done`` as terminated; without it every ``done``
is terminal, as in SB3. ``optimize_memory_usage=True`` stores each
observation once (fastpg's ``store_next_obs=False``), which, unlike SB3's
variant, keeps the final observation of every episode, so it also works with
``handle_timeout_termination``.

Sampling: ``sample`` draws with fastpg's kernels from a generator seeded from
NumPy's global state when the buffer is built (so SB3's ``seed=`` makes runs
repeat); ``_get_samples(batch_inds)`` follows SB3 exactly (rows ``batch_inds``,
env indices from ``np.random``), for code that picks the rows itself.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common import buffers
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from ... import replay
from ...replay._layout import c_strides


def _sb3_array(*columns, dtype=None):
    """A read-only property with SB3's ``(buffer_size, n_envs, ...)`` array of
    the buffer's ``columns`` (ORed together when several), cast to ``dtype``."""
    def get(self):
        out = self._sb3_layout(columns[0])
        for name in columns[1:]:
            out = out | self._sb3_layout(name)
        return out if dtype is None else out.astype(dtype)
    return property(get)

class PrioritizedReplayBufferSamples(NamedTuple):
    """``ReplayBufferSamples`` plus ``weights`` ((B, 1) importance weights) and
    ``indices`` (NumPy int64 transition numbers, for ``update_priorities``)."""
    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    discounts: th.Tensor | None
    weights: th.Tensor
    indices: np.ndarray


class ReplayBuffer(buffers.ReplayBuffer):
    """SB3's ``ReplayBuffer`` API over :class:`fastpg.ReplayBuffer`.

    Constructor as SB3's, plus (in ``replay_buffer_kwargs``) ``n_steps`` (1:
    one-step transitions; > 1: n-step returns as SB3's ``NStepReplayBuffer``
    computes them, ``discounts`` = gamma^m), ``gamma`` and ``backend``. The
    fastpg buffer is ``self.buffer`` (its ``sample``, ``get``, ``save`` ...);
    ``observations``, ``actions``, ``rewards``, ``dones``, ``timeouts`` (and
    ``next_observations`` when stored) are copies in SB3's ``(rows, n_envs,
    ...)`` layout, for inspection: writing into them changes nothing.
    """

    _fastpg_class = replay.ReplayBuffer

    def __init__(self, buffer_size, observation_space, action_space, device="auto", n_envs=1,
                 optimize_memory_usage=False, handle_timeout_termination=True, *, n_steps=1,
                 gamma=0.99, backend=None, **fastpg_kwargs):
        if isinstance(observation_space, spaces.Dict):
            raise TypeError("fastpg's SB3 replay buffers take Box/Discrete observations; for "
                            "Dict observation spaces keep SB3's DictReplayBuffer")
        # SB3's ReplayBuffer.__init__ would allocate its own arrays: only the base's
        buffers.BaseBuffer.__init__(self, buffer_size, observation_space, action_space, device,
                                    n_envs=n_envs)
        self.buffer_size = max(buffer_size // n_envs, 1)  # rows of n_envs, as SB3
        self.optimize_memory_usage = bool(optimize_memory_usage)
        self.handle_timeout_termination = bool(handle_timeout_termination)
        if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 1):
            raise ValueError(f"n_steps must be an integer >= 1; got {n_steps!r}")
        if not 0.0 <= float(gamma) <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {gamma!r}")
        self.n_steps, self.gamma = int(n_steps), float(gamma)
        self._nstep = {} if self.n_steps == 1 else {"n_step": self.n_steps, "gamma": self.gamma}
        self._discrete_obs = isinstance(observation_space, spaces.Discrete)
        self.buffer = self._fastpg_class(
            self.buffer_size * n_envs, self.obs_shape, observation_space.dtype,
            (self.action_dim,), self._maybe_cast_dtype(action_space.dtype), n_envs,
            reward_dtype=np.float32, store_next_obs=not self.optimize_memory_usage,
            backend=backend, **fastpg_kwargs)
        # seeded from NumPy's global state, which SB3 seeds (set_random_seed) first
        self._rng = np.random.default_rng(np.random.randint(0, 2**31 - 1, size=4))
        # one-step uniform batches as views of one gathered block (see sample)
        fields = self.buffer._rec_dtype.fields
        names = ("obs", "action", "next_obs", "terminated", "reward")
        self._one_block = self.n_steps == 1 and type(self)._pack is ReplayBuffer._pack and all(
            k in fields for k in names) and self.buffer._records_apply()
        self._layout = tuple(self._view_spec(*fields[k][:2], k) for k in names) \
            if self._one_block else None

    def _view_spec(self, dtype, offset, name):
        """(shape after the batch axis, dtype, byte offset, strides after the
        batch axis, cast) of field ``name`` in a block of gathered records, in
        the shape and dtype SB3 returns it (scalars as a column, the
        terminated flag as float32): a spec of ``_layout.record_fields``."""
        base, shape = (dtype.base, dtype.shape) if dtype.shape else (dtype, ())
        if name in ("terminated", "reward"):
            shape = (1,)
        return (shape, base, offset, c_strides(shape, base.itemsize),
                np.float32 if name == "terminated" else None)

    # ------------------------------------------------------------------ write
    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        E = self.n_envs
        if E == 1:  # one transition, as scalars and exact-dtype rows: the lean path
            d = bool(done[0])
            timeout = d and self.handle_timeout_termination and \
                bool(infos[0].get("TimeLimit.truncated", False))
            args = (np.asarray(obs).reshape(self.obs_shape),
                    np.asarray(action).reshape(self.action_dim), float(reward[0]),
                    np.asarray(next_obs).reshape(self.obs_shape), d and not timeout, timeout)
            b = self.buffer
            if b._fast is None or not b._add_one(*args):
                b.add(*args)
        else:
            obs = np.reshape(obs, (E, *self.obs_shape))  # Discrete obs: (E,) -> (E, 1), as SB3
            next_obs = np.reshape(next_obs, (E, *self.obs_shape))
            done = np.asarray(done).reshape(E) != 0
            timeout = np.zeros(E, bool)
            if self.handle_timeout_termination:
                for i, info in enumerate(infos):
                    timeout[i] = done[i] and bool(info.get("TimeLimit.truncated", False))
            self.buffer.add(obs, np.reshape(action, (E, self.action_dim)),
                            np.reshape(reward, E), next_obs, done & ~timeout, timeout)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True
            self.pos = 0

    def reset(self) -> None:
        super().reset()
        self.buffer.clear()

    # ----------------------------------------------------------------- sample
    def sample(self, batch_size: int, env=None):
        """``batch_size`` transitions, uniformly (fastpg's kernels)."""
        layout = self._layout
        if layout is not None and env is None:
            # inside a training loop every NumPy call starts with cold caches
            # (~2-10 us each), so the common case is one call that draws,
            # gathers and splits the records into SB3's arrays
            f = self.buffer._sample_fields(batch_size, self._rng, layout)
            if f is not None:
                t = self._tensor
                return ReplayBufferSamples(t(f[0]), t(f[1]), t(f[2]), t(f[3]), t(f[4]))
        self._check_env(env)
        b = self.buffer.sample(batch_size, self._rng, views=True, **self._nstep)
        return self._samples(b, env)

    def _get_samples(self, batch_inds: np.ndarray, env=None):
        """SB3's own selection: rows ``batch_inds``, env indices drawn from np.random."""
        self._check_env(env)
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        slots = np.asarray(batch_inds, np.int64) * self.n_envs + env_indices
        b = self.buffer.get(self.buffer.indices_at(slots), views=True, **self._nstep)
        return self._samples(b, env)

    def _check_env(self, env):
        if self.n_steps > 1 and getattr(env, "norm_reward", False):
            raise NotImplementedError("n-step returns are summed from the stored rewards, so "
                                      "VecNormalize(norm_reward=True) cannot normalise each "
                                      "step's reward first; use norm_reward=False or n_steps=1")

    @property
    def device(self) -> th.device:
        return self._device

    @device.setter
    def device(self, value):  # set by SB3 (BaseBuffer, load_replay_buffer)
        self._device = th.device(value)
        self._cpu = self._device.type == "cpu"

    def _tensor(self, array):
        if self._cpu:
            return th.from_numpy(array)  # the batch's memory: no copy
        return th.as_tensor(array, device=self._device)

    def _samples(self, b, env):
        B = b["reward"].shape[0]
        obs, next_obs, reward = b["obs"], b["next_obs"], b["reward"].reshape(B, 1)
        if env is not None:  # VecNormalize: as SB3, stored raw, normalised when sampled
            obs, next_obs = self._normalize_obs(obs, env), self._normalize_obs(next_obs, env)
            reward = self._normalize_reward(reward, env)
        t = self._tensor
        fields = (t(obs), t(b["action"]), t(next_obs),
                  # terminated of the last step taken: time limits are bootstrapped
                  t(b["terminated"].astype(np.float32).reshape(B, 1)), t(reward),
                  None if self.n_steps == 1 else  # gamma^m; dones says whether m ended it
                  t((self.gamma ** b["steps"]).astype(np.float32).reshape(B, 1)))
        return self._pack(fields, b)

    def _pack(self, fields, b):
        return ReplayBufferSamples(*fields)

    # ------------------------------------------------------- SB3's arrays
    def _sb3_layout(self, name):
        col = self.buffer.column(name)
        return np.array(col).reshape(self.buffer_size, self.n_envs, *col.shape[1:])

    observations = _sb3_array("obs")
    next_observations = _sb3_array("next_obs")
    actions = _sb3_array("action")
    rewards = _sb3_array("reward")
    dones = _sb3_array("terminated", "truncated", dtype=np.float32)
    timeouts = _sb3_array("truncated", dtype=np.float32)


class NStepReplayBuffer(ReplayBuffer):
    """SB3's ``NStepReplayBuffer`` contract (default ``n_steps=3``), over fastpg:
    ``rewards`` = Σ_{k<m} γ^k r_{t+k}, ``discounts`` = γ^m, ``dones`` = whether
    step t+m-1 terminated, m <= n stopping at an episode end or the write head."""

    def __init__(self, *args, n_steps=3, gamma=0.99, **kwargs):
        super().__init__(*args, n_steps=n_steps, gamma=gamma, **kwargs)


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay for SB3, over :class:`fastpg.PrioritizedReplayBuffer`.

    Extra keyword arguments: ``alpha`` (0.6), ``beta`` (0.4; ``buffer.beta =``
    anneals it), ``eps`` (1e-6), and the n-step ones of :class:`ReplayBuffer`.
    ``sample`` returns :class:`PrioritizedReplayBufferSamples`; after the
    gradient step, ``update_priorities(samples.indices, |TD errors|)``
    (tensors accepted). :class:`~fastpg.integrations.sb3.PrioritizedDQN` does
    both; for SAC/TD3, weight the critic loss by ``samples.weights`` and call
    ``update_priorities`` in a subclass's ``train`` (see the README).
    """

    _fastpg_class = replay.PrioritizedReplayBuffer

    def __init__(self, buffer_size, observation_space, action_space, device="auto", n_envs=1,
                 optimize_memory_usage=False, handle_timeout_termination=True, *, alpha=0.6,
                 beta=0.4, eps=1e-6, **kwargs):
        super().__init__(buffer_size, observation_space, action_space, device, n_envs,
                         optimize_memory_usage, handle_timeout_termination, alpha=alpha,
                         beta=beta, eps=eps, **kwargs)

    @property
    def beta(self) -> float:
        return self.buffer.beta

    @beta.setter
    def beta(self, value):
        self.buffer.beta = value

    def _pack(self, fields, b):
        w = self._tensor(b.weights.reshape(-1, 1))
        return PrioritizedReplayBufferSamples(*fields, weights=w, indices=b.indices)

    def update_priorities(self, indices, priorities) -> int:
        """p = priority + eps for the sampled ``indices``; returns how many were
        still stored (see :meth:`fastpg.PrioritizedReplayBuffer.update_priorities`)."""
        if isinstance(priorities, th.Tensor):
            try:  # a CPU tensor that needs no grad (PrioritizedDQN's): one call, no copy
                priorities = priorities.numpy()
            except (RuntimeError, TypeError):
                priorities = priorities.detach().cpu().numpy()
        return self.buffer.update_priorities(indices, priorities.reshape(-1)
                                             if type(priorities) is np.ndarray
                                             else np.reshape(priorities, -1))
