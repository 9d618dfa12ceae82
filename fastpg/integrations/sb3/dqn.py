r"""DQN with proportional prioritized replay (Schaul et al., 2016) for SB3.

Each gradient step samples a batch with P(i) ∝ p_i^α, minimises the
importance-weighted Huber loss

.. math:: L = \frac{1}{B} \sum_i w_i\, \mathrm{huber}(Q(s_i, a_i) - y_i),
   \qquad y_i = r_i + (1 - d_i)\, \gamma_i \max_b Q_\text{target}(s'_i, b)

(:math:`\gamma_i = \gamma` one-step, :math:`\gamma^{m_i}` n-step), and then
writes :math:`p_i = |y_i - Q(s_i, a_i)| + \epsilon` back (measured before the
step, as in the paper). β is annealed linearly from ``beta`` to
``beta_final`` over the run (SB3's progress), as in the paper's schedule.
"""
from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3 import DQN
from torch.nn import functional as F

from .replay import PrioritizedReplayBuffer


class PrioritizedDQN(DQN):
    """``DQN`` with prioritized replay; every DQN argument works as in SB3.

    Extra keyword arguments: ``alpha`` (0.6: how much the priorities count;
    0 is uniform), ``beta`` and ``beta_final`` (0.4 -> 1.0: importance-weight
    correction, annealed), ``priority_eps`` (1e-6, added to |TD error|), and
    ``n_steps`` (n-step returns from the prioritized buffer). The buffer is
    :class:`~fastpg.integrations.sb3.PrioritizedReplayBuffer` (or a subclass
    given as ``replay_buffer_class``).
    """

    def __init__(self, policy, env, *, alpha=0.6, beta=0.4, beta_final=1.0, priority_eps=1e-6,
                 n_steps=1, gamma=0.99, replay_buffer_class=None, replay_buffer_kwargs=None,
                 **kwargs):
        for name, value in (("beta", beta), ("beta_final", beta_final)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]; got {value!r}")
        cls = replay_buffer_class or PrioritizedReplayBuffer
        if not (isinstance(cls, type) and issubclass(cls, PrioritizedReplayBuffer)):
            raise TypeError("PrioritizedDQN needs replay_buffer_class="
                            "fastpg.integrations.sb3.PrioritizedReplayBuffer (or a subclass); "
                            f"got {cls!r}")
        kw = dict(replay_buffer_kwargs or {})
        kw.setdefault("alpha", alpha)
        kw.setdefault("beta", beta)
        kw.setdefault("eps", priority_eps)
        kw.setdefault("n_steps", n_steps)
        kw.setdefault("gamma", gamma)
        self.beta0, self.beta_final = float(beta), float(beta_final)
        # n-step returns come from the prioritized buffer (SB3 would warn that
        # its own n_steps is ignored with a custom buffer class)
        super().__init__(policy, env, gamma=gamma, replay_buffer_class=cls,
                         replay_buffer_kwargs=kw, n_steps=1, **kwargs)

    def td_loss(self, data):
        """(importance-weighted Huber loss, TD errors y - Q(s, a)) of a batch."""
        discounts = data.discounts if data.discounts is not None else self.gamma
        with th.no_grad():
            next_q = self.q_net_target(data.next_observations).max(dim=1)[0].reshape(-1, 1)
            target = data.rewards + (1 - data.dones) * discounts * next_q
        current = th.gather(self.q_net(data.observations), dim=1, index=data.actions.long())
        per_sample = F.smooth_l1_loss(current, target, reduction="none")
        return (data.weights * per_sample).mean(), (target - current).detach().reshape(-1)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        buf = self.replay_buffer
        # progress_remaining runs from 1 to 0 (a little below 0 at the last collection)
        remaining = min(max(self._current_progress_remaining, 0.0), 1.0)
        buf.beta = self.beta_final + (self.beta0 - self.beta_final) * remaining
        losses = []
        for _ in range(gradient_steps):
            data = buf.sample(batch_size, env=self._vec_normalize_env)
            loss, td = self.td_loss(data)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
            buf.update_priorities(data.indices, td.abs())
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))
        self.logger.record("train/beta", buf.beta)
