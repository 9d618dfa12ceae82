"""The compiled environments' gymnasium classes: a vector env over an
environment kernel (fastpg.reference.envs: every env a row, autoreset and the
reset states in the kernel), and a single env on top of it.

Seeding follows ``SyncVectorEnv``: ``reset(seed=s)`` seeds env i's own
generator with ``s + i`` (or ``seed[i]`` for a list), and every reset of env
i, the autoresets included, draws its state from that generator as the
gymnasium env does (``uniform(low, high)``, i.e. low + (high - low) * its next
doubles), so the same seed and actions give gymnasium's results.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .. import _backend
from .. import _checks as C

#: doubles of each env's generator drawn ahead per refill (a generator call
#: per autoreset would cost more than the step itself)
BANK = 16
_INT64 = np.dtype(np.int64)


def _bounds(options, low, high):
    """Reset bounds from ``options`` (gymnasium's ``low``/``high``), else low, high."""
    options = {} if options is None else options
    if not isinstance(options, dict) or set(options) - {"low", "high"}:
        raise ValueError(f"options must be None or a dict with 'low' and/or 'high' (the reset "
                         f"state's bounds), got {options!r}")
    low, high = options.get("low", low), options.get("high", high)
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


class KernelVectorEnv(VectorEnv):
    """N environments stepped by one call of the kernel ``KERNEL`` (a subclass
    sets the class attributes below).

    ``autoreset_mode``: ``AutoresetMode.NEXT_STEP`` (gymnasium's default: the
    step after an episode ends returns the new episode's first observation,
    reward 0 and neither flag) or ``SAME_STEP`` (the ending step returns the
    new episode's first observation and puts the last one in
    ``info["final_obs"]``, with the mask ``info["_final_obs"]``).
    ``max_episode_steps``: the truncation length (the gymnasium env's by default).
    ``copy``: return copies of the observations (as gymnasium does by
    default) rather than the env's own buffer, which the next step
    overwrites. ``backend``: the kernel's backend (``auto`` by default).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}
    #: the gymnasium id it reproduces, its step kernel, the float64 state's
    #: width, the doubles a reset draws, the actions, the reset bounds and the
    #: time limit
    ID, KERNEL, STATE, DRAWS, ACTIONS, BOUNDS, MAX_STEPS = "", "", 0, 0, 0, (0.0, 0.0), 0
    #: the float32 observation's width (the state's unless set)
    OBS = None
    #: the kernel's family, the records drawn ahead per env, and the most
    #: records one kernel call can use per env
    FAMILY, BANK, NEED = "envs", BANK, 1

    @staticmethod
    def observe(state):
        """The observations of reset states (the float32 state unless set)."""
        return state.astype(np.float32)

    @classmethod
    def bank_records(cls, u):
        """What the kernel reads for a reset, from the DRAWS doubles of each:
        the doubles themselves unless set (the kernel maps them to a state)."""
        return u

    @staticmethod
    def observation_space_1():
        raise NotImplementedError

    @staticmethod
    def start_states(u, low, high):
        """The states a reset starts from, given each env's next DRAWS doubles."""
        raise NotImplementedError

    def __init__(self, num_envs: int = 1, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 copy: bool = True, backend: str | None = None, render_mode=None):
        self.num_envs = C.positive_int(num_envs, "num_envs")
        self.max_episode_steps = C.positive_int(
            self.MAX_STEPS if max_episode_steps is None else max_episode_steps,
            "max_episode_steps")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            mode = None
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode must be AutoresetMode.NEXT_STEP or SAME_STEP, "
                             f"got {autoreset_mode!r}")
        if render_mode is not None:
            raise ValueError(f"fastpg's {self.ID} has no rendering: render_mode must be None "
                             f"(use gymnasium's {self.ID} to render)")
        self.autoreset_mode = mode
        self.metadata = dict(self.metadata, autoreset_mode=mode)
        self.render_mode = None
        self.copy = bool(copy)
        self.backend = C.backend(backend)
        # many envs: the kernel's multi-threaded variant where it has one
        # writeable: its arrays are the env's own, and actions a writeable copy
        self._step = _backend.kernel(self.FAMILY, self.KERNEL, self.backend, size=self.num_envs,
                                     writeable=True)
        self.single_observation_space = self.observation_space_1()
        self.single_action_space = gym.spaces.Discrete(self.ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._steps = np.zeros(n, np.int64)
        self._reset = np.zeros(n, np.uint8)
        self._rewards = np.zeros(n)
        self._terminated = np.zeros(n, np.uint8)
        self._truncated = np.zeros(n, np.uint8)
        self._allocate(n)
        self._rngs = None
        # each env's next BANK records of DRAWS doubles, drawn ahead (_raw),
        # and what the kernel reads from them (_bank: the same unless
        # bank_records is set)
        self._raw = np.zeros((n, self.BANK, self.DRAWS))
        self._bank = self.bank_records(self._raw)
        self._cursor = np.zeros(n, np.int64)

    def _allocate(self, n):
        """The state and observation buffers the kernel writes."""
        d = self.OBS or self.STATE
        self._state = np.zeros((n, self.STATE))
        self._obs = np.zeros((n, d), np.float32)
        self._final_obs = np.zeros((n, d), np.float32)

    def _refill(self, need=None):
        """Refill the banks that a kernel call could exhaust (that have fewer
        than ``need`` records left, NEED by default): their unused records
        first, then new draws of each env's generator. Refilling early
        changes nothing but when the draws are taken: each env still reads
        its generator's doubles in order."""
        raw, K = self._raw, self.BANK
        need = self.NEED if need is None else need
        for i in np.flatnonzero(self._cursor > K - need).tolist():
            left = K - int(self._cursor[i])
            if left:
                raw[i, :left] = raw[i, K - left:]
            self._rngs[i].random(out=raw[i, left:])  # in place: this runs per env
            if self._bank is not raw:
                self._bank[i] = self.bank_records(raw[i])
            self._cursor[i] = 0

    def _seed(self, seed):
        """Seed (or keep) each env's generator as ``SyncVectorEnv`` does (s + i)."""
        seeds = _seeds(seed, self.num_envs)
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(
                seed if isinstance(seed, (int, np.integer)) else None)
        if self._rngs is None or seed is not None:
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
            self._cursor[:] = self.BANK
        # else each env's generator goes on, as gymnasium's env.reset()
        self._refill()

    def reset(self, *, seed=None, options=None):
        """Start every env's episode; ``seed`` as ``SyncVectorEnv`` (s + i for env i)."""
        low, high = _bounds(options, *self.BOUNDS)
        self._seed(seed)
        envs = np.arange(self.num_envs)
        u = self._raw[envs, self._cursor]
        self._cursor += 1
        self._refill()
        self._state[:] = self.start_states(u, low, high)
        self._steps[:] = 0
        self._reset[:] = 0
        self._obs[:] = self.observe(self._state)
        return (self._obs.copy() if self.copy else self._obs), {}

    def _call(self, a, same):
        """The kernel's call on actions ``a``: its return code."""
        return self._step(self._state, a, self._bank, self._cursor, self._steps, self._reset,
                          self.max_episode_steps, same, self._obs, self._rewards,
                          self._terminated, self._truncated, self._final_obs)

    def _bad_action(self, a, i):
        return f"actions[{i}] = {a[i]}: {self.ID}'s actions are 0 to {self.ACTIONS - 1}"

    def _observations(self):
        return self._obs.copy() if self.copy else self._obs

    def _final_observation(self, i):
        return self._final_obs[i].copy()

    @property
    def observations(self):
        """The envs' current observations (a copy): what the next step acts on,
        e.g. after :meth:`rollout`."""
        return np.array(self._observations(), copy=True)

    def step(self, actions):
        """One step of every env: (obs, rewards, terminated, truncated, infos)."""
        if self._rngs is None:
            raise RuntimeError("call reset() before step()")
        a = actions
        if not (type(a) is np.ndarray and a.dtype is _INT64 and a.shape == (self.num_envs,)
                and a.flags.carray):  # C-contiguous, aligned, writeable
            # else converted; the kernel checks the values
            a = C.index_array(actions, "actions", self.num_envs, self.ACTIONS,
                              "the number of actions",
                              allow_float=False)
            if not a.flags.writeable:
                a = a.copy()
        same = self.autoreset_mode is AutoresetMode.SAME_STEP
        rc = self._call(a, same)
        if rc >= 0:
            raise ValueError(self._bad_action(a, rc))
        if rc == -3:  # every call that leaves a bank short is followed by _refill
            raise RuntimeError(f"{self.ID}: a reset bank was used up before the step; the "
                               "env's state is unchanged (a fastpg bug: please report it)")
        if rc == -2:
            self._refill()
        infos = {}
        if same and self._reset.any():
            mask = self._reset.astype(bool)
            final = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(mask):
                final[i] = self._final_observation(i)
            infos = {"final_obs": final, "_final_obs": mask, "final_info": {},
                     "_final_info": mask.copy()}
        return (self._observations(), self._rewards.copy(),
                self._terminated.astype(bool), self._truncated.astype(bool), infos)


class KernelEnv(gym.Env):
    """One environment on a vector env's kernel (``VECTOR``); ``gymnasium.make``
    adds the ``TimeLimit``, as for gymnasium's own."""

    VECTOR = KernelVectorEnv

    metadata = {"render_modes": [], "render_fps": 50}

    def __init__(self, render_mode=None, backend: str | None = None):
        self._vec = self.VECTOR(1, max_episode_steps=2 ** 62, backend=backend,
                                render_mode=render_mode)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.render_mode = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs, _ = self._vec.reset(seed=seed, options=options)
        return obs[0], {}

    def step(self, action):
        self._vec._reset[0] = 0  # one env never autoresets: its user calls reset()
        obs, rewards, terminated, truncated, _ = self._vec.step([action])
        return obs[0], float(rewards[0]), bool(terminated[0]), bool(truncated[0]), {}
