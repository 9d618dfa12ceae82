"""Numba environment kernels: numba's compilation of the one source,
fastpg/_kernels/envs.py, which Cython compiles too (semantics and argument
layout: fastpg.reference.envs); the source's helpers are inlined."""
from __future__ import annotations

import types

import numpy as np

from .._kernels import envs as _src
from . import jit

__all__ = ["cartpole_step", "cartpole_rollout", "mountaincar_step", "acrobot_step"]

_scope = dict(vars(_src))
_scope.update({name: jit(f, inline="always", cache=False) for name, f in vars(_src).items()
               if name.startswith("_") and isinstance(f, types.FunctionType)})

cartpole_step = jit(types.FunctionType(_src.cartpole_step_c.__code__, _scope, "cartpole_step"))
cartpole_rollout = jit(types.FunctionType(_src.cartpole_rollout_c.__code__, _scope,
                                          "cartpole_rollout"))
mountaincar_step = jit(types.FunctionType(_src.mountaincar_step_c.__code__, _scope,
                                          "mountaincar_step"))
_acrobot = jit(types.FunctionType(_src.acrobot_step_c.__code__, _scope, "acrobot_step_c"))


@jit
def acrobot_step(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs, rewards,
                 terminated, truncated, final_obs):
    work = np.zeros((6, 4))
    work[5, 0] = 2.0
    return _acrobot(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs,
                    rewards, terminated, truncated, final_obs, work)
