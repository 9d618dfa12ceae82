"""The three-state MDP of the policy-gradient paper notebook.

Three states observed as one-hot vectors, three actions, a fixed horizon of
5 steps, start state 0. Tables as in the notebook:

* ``P[s, a, s']`` (the next state does not depend on the action):
  s0 -> (0.1, 0.7, 0.2), s1 -> (0.3, 0.3, 0.4), s2 -> (0.5, 0.2, 0.3);
* ``R[s, a]``: s0 (-1, 1, 0), s1 (0, -1, 1), s2 (1, -1, 0).

Differences from the notebook, on purpose: ``step`` returns the next
state's observation (the notebook returns an undefined ``obs``), and
randomness comes from the env's seeded ``np_random``. The episode ends with
``terminated=True`` after the 5th step: the horizon is part of the task
(the objective is the sum of 5 rewards), so nothing is bootstrapped after
it. ``info["state"]`` is the state index.

Because transitions ignore the action, the optimal policy is greedy in the
immediate reward (a1 in s0, a2 in s1, a0 in s2: return 5); the uniform
random policy has expected return 0.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

P = np.array([
    [[0.1, 0.7, 0.2]] * 3,
    [[0.3, 0.3, 0.4]] * 3,
    [[0.5, 0.2, 0.3]] * 3,
])
R = np.array([
    [-1.0, 1.0, 0.0],
    [0.0, -1.0, 1.0],
    [1.0, -1.0, 0.0],
])
HORIZON = 5


class ThreeStateMDP(gymnasium.Env):
    """See the module docstring. Observation: one-hot float32 (3,); actions: Discrete(3)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, horizon: int = HORIZON, render_mode=None):
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1; got {horizon}")
        self.horizon = int(horizon)
        self.P = P.copy()
        self.R = R.copy()
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self.render_mode = render_mode
        self.state = 0
        self.t = 0

    def _obs(self):
        obs = np.zeros(3, dtype=np.float32)
        obs[self.state] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = 0
        self.t = 0
        return self._obs(), {"state": self.state}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0, 1 or 2; got {action!r}")
        a = int(action)
        reward = float(self.R[self.state, a])
        self.state = int(self.np_random.choice(3, p=self.P[self.state, a]))
        self.t += 1
        terminated = self.t >= self.horizon
        return self._obs(), reward, terminated, False, {"state": self.state}

    def render(self):
        if self.render_mode == "ansi":
            return f"t={self.t} state={self.state}"
        return None
