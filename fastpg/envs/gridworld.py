"""The 9×10 GridWorld of the Neuromatch reinforcement-learning tutorial.

Layouts (``-1`` walls, as in the tutorial's ``build_gridworld_task``):

* ``simple``: a 2×2 block of wall inside; start (2, 2), goal (7, 2);
* ``obstacle``: walls at (1, 6), (2, 4), (3, 4), (3, 5), (4, 4), (4, 5);
  start (2, 2), goal (2, 8).

Positions are (row, column). Actions: 0 up (row - 1), 1 down (row + 1),
2 left (column - 1), 3 right (column + 1). (The tutorial's code labels them
left/right/up/down but moves (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)
with x the row: the same moves; we name them by what they do.)
Bumping into a wall: reward ``penalty_for_walls`` (-5), the agent stays.
Reaching the goal: reward ``reward_goal`` (+10) and the episode terminates
(the tutorial teleports to the start and ends the episode). After
``max_episode_length`` (200) steps: truncated.

Observation types (``observation_type``):

* ``"state_index"``: Discrete(90), ``row * 10 + column`` (the tutorial uses
  ``column * 10 + row``: also unique; ours is the usual row-major index);
* ``"agent_onehot"``: (9, 10) float32, 1 where the agent is;
* ``"grid"``: (9, 10, 3) float32 channels: walls, agent, goal;
* ``"agent_goal_pos"``: (4,) float32 (agent_row, agent_col, goal_row, goal_col).
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

_SIMPLE = [
    [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [-1, 0, 0, 0, 0, 0, 0, 0, 0, -1],
    [-1, 0, 0, 0, -1, -1, 0, 0, 0, -1],
    [-1, 0, 0, 0, -1, -1, 0, 0, 0, -1],
    [-1, 0, 0, 0, -1, -1, 0, 0, 0, -1],
    [-1, 0, 0, 0, 0, 0, 0, 0, 0, -1],
    [-1, 0, 0, 0, 0, 0, 0, 0, 0, -1],
    [-1, 0, 0, 0, 0, 0, 0, 0, 0, -1],
    [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
]


def _altered(grid, walls=(), openings=()):
    """A copy of ``grid`` with walls (-1) added at ``walls`` and removed at ``openings``."""
    out = [list(row) for row in grid]
    for r, c in walls:
        out[r][c] = -1
    for r, c in openings:
        out[r][c] = 0
    return out


# the simple room with one wall moved: a blocked cell at (1, 6), an opening at (2, 5)
_OBSTACLE = _altered(_SIMPLE, walls=[(1, 6)], openings=[(2, 5)])

LAYOUTS = {
    "simple": (_SIMPLE, (2, 2), (7, 2)),
    "obstacle": (_OBSTACLE, (2, 2), (2, 8)),
}
OBSERVATION_TYPES = ("state_index", "agent_onehot", "grid", "agent_goal_pos")
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right


class GridWorld(gymnasium.Env):
    """See the module docstring."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, layout="simple", observation_type="state_index", penalty_for_walls=-5.0,
                 reward_goal=10.0, max_episode_length=200, render_mode=None):
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(LAYOUTS)}; got {layout!r}")
        if observation_type not in OBSERVATION_TYPES:
            raise ValueError(f"observation_type must be one of {OBSERVATION_TYPES}; "
                             f"got {observation_type!r}")
        grid, start, goal = LAYOUTS[layout]
        self.layout_name = layout
        self.walls = np.array(grid) < 0
        self.H, self.W = self.walls.shape
        self.start, self.goal = start, goal
        self.observation_type = observation_type
        self.penalty_for_walls = float(penalty_for_walls)
        self.reward_goal = float(reward_goal)
        self.max_episode_length = max_episode_length
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(4)
        shapes = {"agent_onehot": (self.H, self.W), "grid": (self.H, self.W, 3),
                  "agent_goal_pos": (4,)}
        if observation_type == "state_index":
            self.observation_space = spaces.Discrete(self.H * self.W)
        else:
            hi = max(self.H, self.W) if observation_type == "agent_goal_pos" else 1.0
            self.observation_space = spaces.Box(0.0, hi, shape=shapes[observation_type],
                                                dtype=np.float32)
        self.pos = start
        self.t = 0

    @property
    def n_states(self):
        return self.H * self.W

    def index(self, pos):
        return pos[0] * self.W + pos[1]

    def _obs(self):
        r, c = self.pos
        if self.observation_type == "state_index":
            return self.index(self.pos)
        if self.observation_type == "agent_onehot":
            o = np.zeros((self.H, self.W), np.float32)
            o[r, c] = 1
            return o
        if self.observation_type == "grid":
            o = np.zeros((self.H, self.W, 3), np.float32)
            o[..., 0] = self.walls
            o[r, c, 1] = 1
            o[self.goal[0], self.goal[1], 2] = 1
            return o
        return np.array([r, c, *self.goal], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.start
        self.t = 0
        return self._obs(), {"position": self.pos}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (up), 1 (down), 2 (left) or 3 (right); "
                             f"got {action!r}")
        dr, dc = MOVES[int(action)]
        new = (self.pos[0] + dr, self.pos[1] + dc)
        terminated = False
        if self.walls[new]:
            reward = self.penalty_for_walls
            new = self.pos
        elif new == self.goal:
            reward = self.reward_goal
            terminated = True
        else:
            reward = 0.0
        self.pos = new
        self.t += 1
        truncated = (not terminated and self.max_episode_length is not None
                     and self.t >= self.max_episode_length)
        return self._obs(), reward, terminated, truncated, {"position": self.pos}

    def shortest_path_length(self):
        """Steps from the start to the goal (breadth-first search over free cells)."""
        from collections import deque
        seen = {self.start: 0}
        q = deque([self.start])
        while q:
            p = q.popleft()
            if p == self.goal:
                return seen[p]
            for dr, dc in MOVES:
                n = (p[0] + dr, p[1] + dc)
                if not self.walls[n] and n not in seen:
                    seen[n] = seen[p] + 1
                    q.append(n)
        return None

    def render(self):
        if self.render_mode != "ansi":
            return None
        rows = []
        for r in range(self.H):
            rows.append("".join("#" if self.walls[r, c] else "A" if (r, c) == self.pos else
                                "G" if (r, c) == self.goal else "." for c in range(self.W)))
        return "\n".join(rows)
