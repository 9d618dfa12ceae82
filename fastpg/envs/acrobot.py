"""Acrobot-v1 on fastpg's compiled kernel: a gymnasium vector env and a single
env with gymnasium's ``AcrobotEnv`` dynamics (the book's equations, RK4),
rewards, termination, 500-step truncation and reset states (the kernel's
specification: fastpg.reference.envs; seeding and autoreset:
fastpg.envs._vector).

``gymnasium.make_vec("fastpg/Acrobot-v1", num_envs=N)`` gives an
:class:`AcrobotVectorEnv`, ``gymnasium.make("fastpg/Acrobot-v1")`` one
:class:`AcrobotEnv`.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ._vector import KernelEnv, KernelVectorEnv


class AcrobotVectorEnv(KernelVectorEnv):
    """N Acrobot-v1 environments stepped by one kernel call (the arguments:
    :class:`fastpg.envs._vector.KernelVectorEnv`)."""

    ID, KERNEL, STATE, DRAWS, ACTIONS, BOUNDS, MAX_STEPS = (
        "Acrobot-v1", "acrobot_step", 4, 4, 3, (-0.1, 0.1), 500)
    OBS = 6

    @staticmethod
    def observation_space_1():
        high = np.array([1.0, 1.0, 1.0, 1.0, 4 * np.pi, 9 * np.pi], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    @staticmethod
    def start_states(u, low, high):
        # gymnasium's uniform(low, high, 4).astype(np.float32)
        return (low + (high - low) * u).astype(np.float32).astype(np.float64)

    @staticmethod
    def observe(state):
        # at a reset gymnasium's state is float32: its cos and sin are float32's
        s = state.astype(np.float32)
        return np.stack([np.cos(s[..., 0]), np.sin(s[..., 0]), np.cos(s[..., 1]),
                         np.sin(s[..., 1]), s[..., 2], s[..., 3]], axis=-1)

    @classmethod
    def bank_records(cls, u):
        """Each reset's state and first observation, as gymnasium computes them."""
        states = cls.start_states(u, *cls.BOUNDS)
        return np.concatenate([states, cls.observe(states).astype(np.float64)], axis=-1)


class AcrobotEnv(KernelEnv):
    """One Acrobot-v1 environment on the same kernel (``gymnasium.make`` adds
    the 500-step ``TimeLimit``, as for gymnasium's own)."""

    VECTOR = AcrobotVectorEnv
