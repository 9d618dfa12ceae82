"""Finite MDPs given by arrays, and the HOML chapter's three-state MDP.

``TabularMDP(P, R, start_state, possible_actions=None, terminal_states=(), max_steps=None)``:

* ``P`` (S, A, S): transition probabilities (rows of possible actions sum to 1);
* ``R`` (S, A, S) (reward of each transition) or (S, A) (reward of the action);
* ``start_state``: an index, or a probability vector over states;
* ``possible_actions``: per state, the list of possible actions (default: all).
  An impossible action **raises** ``ValueError`` (it is a bug in the agent,
  not a move of the game); ``info["possible_actions"]`` and
  ``info["action_mask"]`` tell agents what is allowed;
* ``terminal_states``: entering one ends the episode with ``terminated=True``;
* ``max_steps``: a time limit (``truncated=True``).

Observations are ``Discrete(S)`` state indices. ``env.P``, ``env.R`` and
``env.action_mask`` are public (value iteration, tests, fused kernels).
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

from .. import _checks as C


class TabularMDP(gymnasium.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, P, R, start_state=0, possible_actions=None, terminal_states=(),
                 max_steps=None, render_mode=None):
        P = C.float_array(P, "P", np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or 0 in P.shape:
            raise ValueError(f"P must have shape (S, A, S) with S, A >= 1; got {P.shape}")
        S, A, _ = P.shape
        R = C.float_array(R, "R", np.float64)
        if R.shape not in ((S, A, S), (S, A)):
            raise ValueError(f"R must have shape (S, A, S) or (S, A); got {R.shape}")
        C.all_finite(R, "R")
        mask = np.zeros((S, A), bool)
        if possible_actions is None:
            mask[:] = True
        else:
            if len(possible_actions) != S:
                raise ValueError(f"possible_actions must list the actions of each of the {S} "
                                 f"states; got {len(possible_actions)} entries")
            for s, acts in enumerate(possible_actions):
                acts = np.asarray(acts).reshape(-1)
                mask[s, C.index_array(acts, f"possible_actions[{s}]", acts.size, A,
                                      "the number of actions A", allow_float=False)] = True
        C.distributions(P, "P", where=mask)
        self.start_probs = C.start_distribution(start_state, "start_state", S)
        terminal = np.asarray(terminal_states).reshape(-1)
        self.terminal = np.zeros(S, bool)
        self.terminal[C.index_array(terminal, "terminal_states", terminal.size, S,
                                    "the number of states S", allow_float=False)] = True
        if max_steps is not None:
            max_steps = C.positive_int(max_steps, "max_steps")
        self.P, self.R, self.action_mask = P, R, mask
        self.n_states, self.n_actions = S, A
        self.max_steps = max_steps
        self.observation_space = spaces.Discrete(S)
        self.action_space = spaces.Discrete(A)
        self.render_mode = render_mode
        self._cum = np.cumsum(P, axis=2)
        self.state = 0
        self.t = 0

    def expected_rewards(self):
        """r(s, a) = Σ_s' P(s'|s, a) R(s, a, s') (or R itself when it is (S, A))."""
        return (self.P * self.R).sum(axis=2) if self.R.ndim == 3 else self.R.copy()

    def _info(self):
        # a tuple, not an array of varying length: SyncVectorEnv batches infos
        return {"possible_actions": tuple(np.flatnonzero(self.action_mask[self.state]).tolist()),
                "action_mask": self.action_mask[self.state].copy()}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = int(self.np_random.choice(self.n_states, p=self.start_probs))
        self.t = 0
        return self.state, self._info()

    def step(self, action):
        a = int(action)
        if not 0 <= a < self.n_actions or not self.action_mask[self.state, a]:
            raise ValueError(f"action {action!r} is not possible in state {self.state} "
                             f"(possible: {np.flatnonzero(self.action_mask[self.state]).tolist()})")
        s = self.state
        s2 = int(np.searchsorted(self._cum[s, a], self.np_random.random(), side="right"))
        s2 = min(s2, self.n_states - 1)
        r = float(self.R[s, a, s2] if self.R.ndim == 3 else self.R[s, a])
        self.state = s2
        self.t += 1
        terminated = bool(self.terminal[s2])
        truncated = self.max_steps is not None and self.t >= self.max_steps and not terminated
        return s2, r, terminated, truncated, self._info()

    def render(self):
        if self.render_mode == "ansi":
            return f"t={self.t} state={self.state}"
        return None


# The HOML chapter's MDP (Géron, ch. 18): "None" transitions are impossible actions.
HOML_P = np.array([[[0.7, 0.3, 0.0], [1.0, 0.0, 0.0], [0.8, 0.2, 0.0]],
                   [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
                   [[0.0, 0.0, 0.0], [0.8, 0.1, 0.1], [0.0, 0.0, 0.0]]])
HOML_R = np.array([[[10, 0, 0], [0, 0, 0], [0, 0, 0]],
                   [[0, 0, 0], [0, 0, 0], [0, 0, -50]],
                   [[0, 0, 0], [40, 0, 0], [0, 0, 0]]], dtype=np.float64)
HOML_POSSIBLE_ACTIONS = [[0, 1, 2], [0, 2], [1]]


def homl_mdp(max_steps=None, **kw):
    """The HOML three-state MDP: a continuing task (no terminal state) from s0."""
    return TabularMDP(HOML_P, HOML_R, 0, HOML_POSSIBLE_ACTIONS, (), max_steps, **kw)
