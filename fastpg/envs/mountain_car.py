"""MountainCar-v0 on fastpg's compiled kernel: a gymnasium vector env and a
single env with gymnasium's ``MountainCarEnv`` dynamics, rewards, termination,
200-step truncation and reset states (the kernel's specification:
fastpg.reference.envs; seeding and autoreset: fastpg.envs._vector).

``gymnasium.make_vec("fastpg/MountainCar-v0", num_envs=N)`` gives a
:class:`MountainCarVectorEnv`, ``gymnasium.make("fastpg/MountainCar-v0")`` one
:class:`MountainCarEnv`.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ._vector import KernelEnv, KernelVectorEnv


class MountainCarVectorEnv(KernelVectorEnv):
    """N MountainCar-v0 environments stepped by one kernel call (the
    arguments: :class:`fastpg.envs._vector.KernelVectorEnv`)."""

    ID, KERNEL, STATE, DRAWS, ACTIONS, BOUNDS, MAX_STEPS = (
        "MountainCar-v0", "mountaincar_step", 2, 1, 3, (-0.6, -0.4), 200)

    @staticmethod
    def observation_space_1():
        return spaces.Box(np.array([-1.2, -0.07], np.float32), np.array([0.6, 0.07], np.float32),
                          dtype=np.float32)

    @staticmethod
    def start_states(u, low, high):
        # gymnasium's [uniform(low, high), 0]
        return np.stack([low + (high - low) * u[:, 0], np.zeros(len(u))], axis=1)


class MountainCarEnv(KernelEnv):
    """One MountainCar-v0 environment on the same kernel (``gymnasium.make``
    adds the 200-step ``TimeLimit``, as for gymnasium's own)."""

    VECTOR = MountainCarVectorEnv
