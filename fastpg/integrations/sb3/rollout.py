r"""Stable-Baselines3's on-policy rollout buffer with fastpg's GAE.

SB3's timeout handling: when an episode is cut by a time limit, SB3's
``collect_rollouts`` adds :math:`\gamma V(s_\text{final})` to that step's
reward before storing it, and GAE then treats every ``done`` as an episode
end. :class:`RolloutBuffer` computes exactly that, with ``fastpg.gae`` and
``terminated = done`` (nothing left to bootstrap).

``exact_truncation=True`` keeps the environment's own reward and the time
limits explicit instead: ``buffer.rewards`` holds the unmodified rewards,
``buffer.truncated`` the time-limit steps and ``buffer.final_values`` the
value of each truncated episode's final observation, and GAE bootstraps from
it (fastpg's ``truncated`` semantics). The advantages are the same up to
float32 rounding (for GAE the two formulations are algebraically equal); the
buffer then holds what the environment returned, for anything else computed
from it. SB3 calls the buffer without its ``infos``, so that mode needs the
:class:`ExactTruncation` callback: ``model.learn(n, callback=ExactTruncation())``.
"""
from __future__ import annotations

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common import buffers
from stable_baselines3.common.callbacks import BaseCallback

from ... import _backend
from ... import _checks as C
from ..._tuning import ROW_MIN_B

_F32 = np.dtype(np.float32)


class RolloutBuffer(buffers.RolloutBuffer):
    """``PPO(..., rollout_buffer_class=RolloutBuffer)`` (or ``A2C``).

    Same constructor and contract as SB3's ``RolloutBuffer``; the keyword
    arguments go in ``rollout_buffer_kwargs``: ``exact_truncation`` (see the
    module doc) and ``backend`` (fastpg kernel backend, default ``auto``).
    ``compute_returns_and_advantage`` writes ``advantages`` and ``returns``
    (float32, ``(n_steps, n_envs)``) in one pass of :func:`fastpg.gae`.
    One visible difference: ``episode_starts`` is a bool array (SB3's is
    float32 0/1), because the GAE kernel reads its done flags from the same
    memory.
    """

    def __init__(self, buffer_size, observation_space, action_space, device="auto",
                 gae_lambda=1, gamma=0.99, n_envs=1, *, exact_truncation=False, backend=None):
        if isinstance(observation_space, spaces.Dict):
            raise TypeError("fastpg's RolloutBuffer takes Box/Discrete/MultiBinary observations; "
                            "for Dict observation spaces keep SB3's DictRolloutBuffer")
        backend = C.backend(backend)
        gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
        gae_lambda = C.real_number(gae_lambda, "gae_lambda", 0.0, 1.0)
        self.exact_truncation = bool(exact_truncation)
        self.backend = backend
        # resolved once (an unavailable backend fails here, not mid-run): the
        # size is fixed, and inside a training loop every lookup runs cold
        self._gae = _backend.kernel("returns", "gae", backend, buffer_size * n_envs,
                                    rows=n_envs >= ROW_MIN_B)
        # the kernel's arguments that do not change (layout: fastpg.reference.returns)
        self._gamma = np.full((1, n_envs), gamma, np.float32)
        self._lam = np.full((1, n_envs), gae_lambda, np.float32)
        # episode_starts is rows :-1 of one bool array and the kernel's done
        # flags (done after step t = episode start at t + 1) are rows 1: of
        # the same memory, so no flag conversion runs per rollout
        self._starts = np.zeros((buffer_size + 1, n_envs), bool)
        self._done = self._starts[1:].view(np.uint8)
        self._no_flags = np.zeros((0, n_envs), np.uint8)
        super().__init__(buffer_size, observation_space, action_space, device, gae_lambda, gamma,
                         n_envs)

    def reset(self) -> None:
        super().reset()
        self._starts.fill(False)
        self.episode_starts = self._starts[:-1]
        if self.exact_truncation:
            shape = (self.buffer_size, self.n_envs)
            self.truncated = np.zeros(shape, bool)
            self.final_values = np.zeros(shape, np.float32)
            self._raw = np.zeros(shape, np.float32)
            self._recorded = np.zeros(self.buffer_size, bool)

    def record_step(self, rewards, truncated, final_values) -> None:
        """Exact-truncation mode: the environment's rewards of the step about to
        be added, which envs hit a time limit, and V(final observation) there
        (:class:`ExactTruncation` calls this from ``on_step``)."""
        if not self.exact_truncation:
            raise RuntimeError("record_step is for RolloutBuffer(exact_truncation=True)")
        self._raw[self.pos] = rewards
        self.truncated[self.pos] = truncated
        self.final_values[self.pos] = final_values
        self._recorded[self.pos] = True

    def add(self, obs, action, reward, episode_start, value, log_prob) -> None:
        if self.exact_truncation:
            if not self._recorded[self.pos]:
                raise RuntimeError("RolloutBuffer(exact_truncation=True) needs the "
                                   "ExactTruncation callback: model.learn(..., "
                                   "callback=fastpg.integrations.sb3.ExactTruncation())")
            reward = self._raw[self.pos]  # SB3 passes the reward with γ·V(final) folded in
        super().add(obs, action, reward, episode_start, value, log_prob)

    def compute_returns_and_advantage(self, last_values: th.Tensor, dones: np.ndarray) -> None:
        """GAE(λ) advantages and TD(λ) returns (``advantages + values``), in place.

        ``done`` after step t is ``episode_starts[t + 1]`` (``dones`` after the
        last step); ``last_values`` = V(observation after the last step). The
        buffer's arrays are already in the kernel's layout (float32 ``(T, E)``),
        so the backend's ``gae`` kernel is called on them directly.
        """
        E = self.n_envs
        try:  # SB3 computes last_values without grad, on the model's device
            last = last_values.numpy()
        except (RuntimeError, TypeError):
            last = last_values.detach().cpu().numpy()
        last = last.reshape(1, E)
        if last.dtype is not _F32:
            last = last.astype(np.float32)
        try:  # nonzero -> True, as SB3's 1 - dones
            self._starts[-1] = dones  # (E,) from a VecEnv: no reshape call
        except ValueError:
            self._starts[-1] = np.reshape(dones, E)
        done = self._done
        gae = self._gae
        if not self.exact_truncation:
            gae(self.rewards, self.values, last, self._gamma, self._lam, done, self._no_flags,
                self.advantages, self.returns)
            return
        next_values = np.empty_like(self.values)
        next_values[:-1] = self.values[1:]
        next_values[-1] = last
        np.copyto(next_values, self.final_values, where=self.truncated)
        trunc = self.truncated.view(np.uint8)
        gae(self.rewards, self.values, next_values, self._gamma, self._lam, done & ~trunc, trunc,
            self.advantages, self.returns)


class ExactTruncation(BaseCallback):
    """Feeds :class:`RolloutBuffer` ``(exact_truncation=True)`` what SB3 does
    not pass to buffers: each step's rewards before SB3 folds γ·V(final) into
    them, which envs were cut by a time limit, and V(final observation)."""

    def _on_step(self) -> bool:
        buf = getattr(self.model, "rollout_buffer", None)
        if not isinstance(buf, RolloutBuffer) or not buf.exact_truncation:
            raise TypeError("ExactTruncation works with rollout_buffer_class="
                            "fastpg.integrations.sb3.RolloutBuffer and rollout_buffer_kwargs="
                            "{'exact_truncation': True}")
        infos, dones = self.locals["infos"], self.locals["dones"]
        truncated = np.array([bool(d) and bool(info.get("TimeLimit.truncated", False))
                              and info.get("terminal_observation") is not None
                              for d, info in zip(dones, infos)])
        final_values = np.zeros(len(dones), np.float32)
        policy = self.model.policy
        for i in np.flatnonzero(truncated):  # the value SB3 folds into the reward
            obs = policy.obs_to_tensor(infos[i]["terminal_observation"])[0]
            with th.no_grad():
                final_values[i] = policy.predict_values(obs)[0].item()
        buf.record_step(self.locals["rewards"], truncated, final_values)
        return True
