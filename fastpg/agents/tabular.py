r"""Tabular agents: Q-learning, SARSA, expected SARSA and double Q-learning,
built from :mod:`fastpg.tabular`'s kernels.

For any gymnasium env with Discrete observations and actions (FrozenLake,
Taxi, CliffWalking, ``fastpg/GridWorld-v0``, ``fastpg/HOMLMDP-v0``, ...).

* Behaviour: ε-greedy (:func:`fastpg.epsilon_greedy`, ties broken at random)
  with ε_e = max(``epsilon_min``, ``epsilon`` · ``epsilon_decay``^e) after e
  episodes (``epsilon_decay=1``: constant).
* Step size: α_k = ``alpha`` / (1 + k · ``alpha_decay``) after k updates (the
  HOML chapter's schedule; ``alpha_decay=0``: constant).
* Impossible actions: when the env says which actions a state allows
  (``env.unwrapped.action_mask``, as :class:`fastpg.envs.TabularMDP` has),
  their Q entries are ``-inf``: never chosen, ignored by the max.
* ``train(env, episodes=..., steps=..., seed=...)`` returns a
  :class:`~fastpg.agents.History`; with ``steps`` on a continuing task (no
  episode ends) the history records the steps only.
* Fast path: :class:`QLearning` on a :class:`~fastpg.envs.TabularMDP` trained
  by ``steps`` runs the fused kernel :func:`fastpg.tabular.q_learning_rollout`
  (tens of millions of steps per second) instead of stepping the env in Python.
"""
from __future__ import annotations

import time

import numpy as np

from .. import _checks as C
from .. import tabular as T
from ._common import GreedyRun, History, Progress, run_length, spaces


def _spaces(env):
    env_u = env.unwrapped
    if not hasattr(env.observation_space, "n") or not hasattr(env.action_space, "n"):
        raise TypeError("tabular agents need Discrete observations and actions; got "
                        f"{env.observation_space} and {env.action_space}")
    return int(env.observation_space.n), int(env.action_space.n), getattr(env_u, "action_mask", None)


class _TabularAgent(GreedyRun):
    kernel = "q_learning"

    def __init__(self, env=None, *, n_states=None, n_actions=None, alpha=0.1, alpha_decay=0.0,
                 gamma=0.99, epsilon=0.1, epsilon_decay=1.0, epsilon_min=0.0, action_mask=None,
                 initial_q=0.0, seed=None, backend=None):
        if env is not None:
            spaces(env, type(self).__name__)
            n_states, n_actions, mask = _spaces(env)
            action_mask = mask if action_mask is None else action_mask
        if n_states is None or n_actions is None:
            raise TypeError("pass an env, or n_states and n_actions")
        alpha = C.real_number(alpha, "alpha", 0.0, 1.0, lo_open=True)
        alpha_decay = C.real_number(alpha_decay, "alpha_decay", 0.0)
        gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
        epsilon = C.real_number(epsilon, "epsilon", 0.0, 1.0)
        epsilon_min = C.real_number(epsilon_min, "epsilon_min", 0.0, 1.0)
        epsilon_decay = C.real_number(epsilon_decay, "epsilon_decay", 0.0, 1.0, lo_open=True)
        initial_q = C.real_number(initial_q, "initial_q")
        self.S, self.A = int(n_states), int(n_actions)
        self.alpha, self.alpha_decay, self.gamma = float(alpha), float(alpha_decay), float(gamma)
        self.epsilon0, self.epsilon_decay, self.epsilon_min = epsilon, epsilon_decay, epsilon_min
        self.mask = None if action_mask is None else np.asarray(action_mask, bool)
        self.Q = np.full((self.S, self.A), float(initial_q))
        if self.mask is not None:
            self.Q[~self.mask] = -np.inf
        self.rng = np.random.default_rng(seed)
        self.backend = C.backend(backend)
        self.updates = 0
        self.episodes = 0

    @property
    def epsilon(self):
        return max(self.epsilon_min, self.epsilon0 * self.epsilon_decay ** self.episodes)

    def _alpha(self):
        return self.alpha / (1.0 + self.updates * self.alpha_decay)

    def act(self, state, greedy=False):
        return T.epsilon_greedy(self.Q, state, 0.0 if greedy else self.epsilon, self.rng,
                                backend=self.backend)

    def greedy_policy(self):
        """argmax_a Q[s, a] per state (first maximum)."""
        return np.argmax(self.Q, axis=1)

    def _update(self, s, a, r, s2, term, a2):
        raise NotImplementedError

    def _train_steps_fused(self, env, steps, seed, hist):
        return False

    def train(self, env, episodes=None, steps=None, seed=None, progress=None):
        """Train for ``episodes`` episodes or ``steps`` steps (whichever is given;
        both: stop at the first). Returns a History."""
        if episodes is None and steps is None:
            raise TypeError("pass episodes=... or steps=...")
        episodes, steps = run_length(episodes, steps)
        hist = History()
        t0 = time.perf_counter()
        if episodes is None and self._train_steps_fused(env, steps, seed, hist):
            hist.wall_time = time.perf_counter() - t0
            return hist
        if progress is None and episodes is None:
            progress = steps >= 100_000  # a long run by steps: report every 100 episodes
        prog = Progress(episodes, progress)
        s, _ = env.reset(seed=seed)
        a = self.act(s)
        ret, length = 0.0, 0
        while True:
            s2, r, term, trunc, _ = env.step(a)
            a2 = self.act(s2) if not (term or trunc) else 0
            self._update(s, a, r, s2, term, a2)
            self.updates += 1
            hist.steps += 1
            ret += r
            length += 1
            if term or trunc:
                self.episodes += 1
                done = hist.end_episode(ret, length, prog, episodes)
                ret, length = 0.0, 0
                s, _ = env.reset()
                a = self.act(s)
                if done:
                    break
            else:
                s, a = s2, a2
            if steps is not None and hist.steps >= steps:
                break
        hist.updates = self.updates
        hist.wall_time = time.perf_counter() - t0
        return hist



class QLearning(_TabularAgent):
    """Off-policy TD control: δ = r + γ max_b Q[s', b] − Q[s, a] (:func:`fastpg.q_learning`)."""

    def _update(self, s, a, r, s2, term, a2):
        T.q_learning(self.Q, s, a, r, s2, term, self.gamma, self._alpha(), backend=self.backend)

    def _train_steps_fused(self, env, steps, seed, hist):
        from ..envs.tabular_mdp import TabularMDP
        mdp = env.unwrapped
        if not isinstance(mdp, TabularMDP) or self.epsilon_decay != 1.0 or mdp.max_steps:
            return False
        res = T.q_learning_rollout(self.Q, mdp.P, mdp.R, steps, action_mask=mdp.action_mask,
                                   terminal_states=np.flatnonzero(mdp.terminal),
                                   start_state=mdp.start_probs, epsilon=self.epsilon,
                                   alpha=self.alpha, alpha_decay=self.alpha_decay,
                                   gamma=self.gamma, rng=self.rng if seed is None else seed,
                                   step_offset=self.updates, backend=self.backend)
        self.updates += res.steps
        hist.steps = hist.updates = res.steps
        return True


class Sarsa(_TabularAgent):
    """On-policy TD control: δ = r + γ Q[s', a'] − Q[s, a], a' the action taken next."""

    def _update(self, s, a, r, s2, term, a2):
        T.sarsa(self.Q, s, a, r, s2, a2, term, self.gamma, self._alpha(), backend=self.backend)


class ExpectedSarsa(_TabularAgent):
    """δ = r + γ E_{b~π}[Q[s', b]] − Q[s, a] with π the agent's ε-greedy policy."""

    def _update(self, s, a, r, s2, term, a2):
        T.expected_sarsa(self.Q, s, a, r, s2, term, self.gamma, self._alpha(), self.epsilon,
                         backend=self.backend)


class DoubleQLearning(_TabularAgent):
    """Double Q-learning: two tables, a fair coin per update picks the one
    updated; the behaviour policy is ε-greedy on Q1 + Q2 (``self.Q``)."""

    def __init__(self, env=None, **kw):
        super().__init__(env, **kw)
        self.Q1 = self.Q.copy()
        self.Q2 = self.Q.copy()

    def _update(self, s, a, r, s2, term, a2):
        which = int(self.rng.integers(0, 2))
        T.double_q_learning(self.Q1, self.Q2, s, a, r, s2, which, term, self.gamma,
                            self._alpha(), backend=self.backend)
        row = self.Q1[s] + self.Q2[s]
        self.Q[s] = row
