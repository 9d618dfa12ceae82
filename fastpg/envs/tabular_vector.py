"""The seed environments compiled: N copies of a finite MDP stepped by one call
of fastpg's ``mdp_step`` kernel (fastpg.reference.tabular_envs).

* :class:`GridWorldVectorEnv`: the Neuromatch GridWorld (``layout``,
  ``observation_type`` and rewards as :class:`fastpg.envs.GridWorld`);
* :class:`ThreeStateMDPVectorEnv`: the policy-gradient notebook's MDP
  (:class:`fastpg.envs.ThreeStateMDP`);
* :class:`TabularMDPVectorEnv`: any :class:`fastpg.envs.TabularMDP` (its
  arguments), and :func:`homl_mdp_vector` the HOML MDP.

``gymnasium.make_vec("fastpg/GridWorld-v0", num_envs=N)`` (and the other
seed ids) gives these; ``gymnasium.make`` still gives the Python env, and
``make_vec(..., vectorization_mode="sync")`` a ``SyncVectorEnv`` of it. The
two agree step for step: env i's generator is seeded ``seed + i`` as
``SyncVectorEnv`` seeds it, and its uniforms are drawn in the order the
Python env draws them (one per random transition, one per random reset:
``Generator.choice`` for the three-state MDP and the resets of a
``TabularMDP``, ``random()`` for its transitions), so the same seed and
actions give the same observations, rewards and flags. Autoreset and
``final_obs`` as :class:`fastpg.envs._vector.KernelVectorEnv`. The infos hold
no per-env entries, except ``action_mask`` (N, A) for a ``TabularMDP``.
"""
from __future__ import annotations

import numpy as np

from .gridworld import MOVES, GridWorld
from .tabular_mdp import HOML_P, HOML_POSSIBLE_ACTIONS, HOML_R, TabularMDP
from .three_state import HORIZON, ThreeStateMDP
from ._vector import KernelVectorEnv

#: "no time limit" for the kernel's max_steps
_NEVER = 2 ** 62


def _choice_cdf(p):
    """``Generator.choice``'s table for probabilities ``p`` (..., S): the
    cumulative sum divided by its last entry, as NumPy computes it."""
    cdf = np.cumsum(p, axis=-1)
    cdf /= cdf[..., -1:]
    return np.ascontiguousarray(cdf)


class TabularVectorEnv(KernelVectorEnv):
    """N copies of one finite MDP given by tables (see the module docstring
    and :mod:`fastpg.reference.tabular_envs` for their meaning); a subclass
    builds the tables and the observation of each state."""

    FAMILY, KERNEL, DRAWS, BANK, NEED = "tabular_envs", "mdp_step", 1, 256, 2

    def __init__(self, nxt, cdf, R, mask, terminal, start_cdf, start_state, horizon,
                 single_observation_space, obs_table=None, max_episode_steps=None, **kw):
        S, A = nxt.shape
        self.ACTIONS = A
        self.MAX_STEPS = _NEVER if max_episode_steps is None else max_episode_steps
        # the env's own copies (writeable: numba would compile again for read-only arrays)
        self._tables = (np.array(nxt, np.int64), np.array(cdf, np.float64),
                        np.array(np.broadcast_to(R, (S, A, S)), np.float64),
                        np.array(mask, np.uint8), np.array(terminal, np.uint8),
                        np.array(start_cdf, np.float64), int(start_state), int(horizon))
        self._space = single_observation_space
        self._table = obs_table  # the observation of each state; None: the index itself
        super().__init__(max_episode_steps=self.MAX_STEPS, **kw)

    def observation_space_1(self):
        return self._space

    @classmethod
    def bank_records(cls, u):
        return u[..., 0]

    def _allocate(self, n):
        self._state = np.zeros(n, np.int64)
        self._obs = np.zeros(n, np.int64)
        self._final_obs = np.zeros(n, np.int64)

    def _call(self, a, same):
        return self._step(*self._tables, self._state, a, self._bank, self._cursor, self._steps,
                          self._reset, self.max_episode_steps, same, self._obs, self._rewards,
                          self._terminated, self._truncated, self._final_obs)

    def _bad_action(self, a, i):
        mask = self._tables[3]
        if not 0 <= a[i] < self.ACTIONS:
            return f"actions[{i}] = {a[i]}: {self.ID}'s actions are 0 to {self.ACTIONS - 1}"
        return (f"actions[{i}] = {a[i]} is not possible in env {i}'s state {self._state[i]} "
                f"(possible: {np.flatnonzero(mask[self._state[i]]).tolist()})")

    def _observe(self, idx):
        return idx if self._table is None else self._table[idx]

    def _observations(self):
        if self._table is None:
            return self._obs.copy() if self.copy else self._obs
        return self._table[self._obs]

    def _final_observation(self, i):
        return self._observe(self._final_obs[i])

    def reset(self, *, seed=None, options=None):
        """Start every env's episode; ``seed`` as ``SyncVectorEnv`` (s + i for env i)."""
        if options:
            raise ValueError(f"{self.ID} takes no reset options; got {options!r}")
        self._seed(seed)
        start_cdf, start_state = self._tables[5], self._tables[6]
        if start_state >= 0:
            self._state[:] = start_state
        else:
            envs = np.arange(self.num_envs)
            u = self._raw[envs, self._cursor, 0]
            self._cursor += 1
            self._state[:] = np.minimum(np.searchsorted(start_cdf, u, side="right"),
                                        len(start_cdf) - 1)
            self._refill()
        self._steps[:] = 0
        self._reset[:] = 0
        self._obs[:] = self._state
        return self._observations(), self._infos()

    def _infos(self):
        return {}

    def step(self, actions):
        obs, rewards, terminated, truncated, infos = super().step(actions)
        infos.update(self._infos())
        return obs, rewards, terminated, truncated, infos


class GridWorldVectorEnv(TabularVectorEnv):
    """N :class:`fastpg.envs.GridWorld` (same arguments, except ``render_mode``)."""

    def __init__(self, num_envs=1, layout="simple", observation_type="state_index",
                 penalty_for_walls=-5.0, reward_goal=10.0, max_episode_length=200, **kw):
        g = GridWorld(layout, observation_type, penalty_for_walls, reward_goal,
                      max_episode_length)
        self.ID = "fastpg/GridWorld-v0" if layout == "simple" else "fastpg/GridWorldObstacle-v0"
        S, A = g.n_states, len(MOVES)
        nxt = np.zeros((S, A), np.int64)
        R = np.zeros((S, A, S))
        goal = g.index(g.goal)
        for s in range(S):
            r, c = divmod(s, g.W)
            for a, (dr, dc) in enumerate(MOVES):
                new = (r + dr, c + dc)
                if g.walls[r, c] or not (0 <= new[0] < g.H and 0 <= new[1] < g.W) \
                        or g.walls[new]:  # never entered (a wall), or a bump: stay
                    nxt[s, a] = s
                    R[s, a, s] = 0.0 if g.walls[r, c] else g.penalty_for_walls
                else:
                    nxt[s, a] = g.index(new)
                    R[s, a, nxt[s, a]] = g.reward_goal if nxt[s, a] == goal else 0.0
        terminal = np.zeros(S, np.uint8)
        terminal[goal] = 1
        table = None
        if observation_type != "state_index":
            table = np.stack([self._cell_obs(g, divmod(s, g.W)) for s in range(S)])
        super().__init__(nxt, np.zeros((S, A, S)), R, np.ones((S, A), np.uint8), terminal,
                         np.zeros(S), g.index(g.start), 0, g.observation_space, table,
                         max_episode_length, num_envs=num_envs, **kw)
        self.layout_name, self.observation_type = layout, observation_type

    @staticmethod
    def _cell_obs(g, pos):
        g.pos = pos
        return g._obs()


class ThreeStateMDPVectorEnv(TabularVectorEnv):
    """N :class:`fastpg.envs.ThreeStateMDP`: one-hot observations, a horizon."""

    ID = "fastpg/ThreeStateMDP-v0"

    def __init__(self, num_envs=1, horizon=HORIZON, **kw):
        m = ThreeStateMDP(horizon)
        S, A = m.R.shape
        super().__init__(np.full((S, A), -1, np.int64), _choice_cdf(m.P), m.R[:, :, None],
                         np.ones((S, A), np.uint8), np.zeros(S, np.uint8), np.zeros(S), 0,
                         m.horizon, m.observation_space, np.eye(S, dtype=np.float32),
                         num_envs=num_envs, **kw)


class TabularMDPVectorEnv(TabularVectorEnv):
    """N :class:`fastpg.envs.TabularMDP` (the same arguments): Discrete(S)
    observations, ``infos["action_mask"]`` (N, A) the possible actions."""

    ID = "fastpg/TabularMDP"

    def __init__(self, P, R, start_state=0, possible_actions=None, terminal_states=(),
                 max_steps=None, num_envs=1, **kw):
        m = TabularMDP(P, R, start_state, possible_actions, terminal_states, max_steps)
        R3 = m.R if m.R.ndim == 3 else m.R[:, :, None]
        super().__init__(np.full(m.action_mask.shape, -1, np.int64), m._cum, R3, m.action_mask,
                         m.terminal, _choice_cdf(m.start_probs), -1, 0, m.observation_space,
                         None, m.max_steps, num_envs=num_envs, **kw)

    def _infos(self):
        mask = self._tables[3][self._obs].astype(bool)
        return {"action_mask": mask, "_action_mask": np.ones(self.num_envs, bool)}


def homl_mdp_vector(num_envs=1, max_steps=None, **kw):
    """N HOML MDPs (:func:`fastpg.envs.homl_mdp`) on the compiled kernel."""
    env = TabularMDPVectorEnv(HOML_P, HOML_R, 0, HOML_POSSIBLE_ACTIONS, (), max_steps,
                              num_envs=num_envs, **kw)
    env.ID = "fastpg/HOMLMDP-v0"
    return env
