"""Numba environment kernels: numba's compilation of the one source,
fastpg/_kernels/envs.py, which Cython compiles too (semantics and argument
layout: fastpg.reference.envs); the source's helpers are inlined."""
from __future__ import annotations

import types

import numba
import numpy as np

from .._kernels import envs as _src
from . import _fmath, jit

__all__ = ["cartpole_step", "cartpole_step_parallel", "cartpole_rollout",
           "cartpole_rollout_parallel", "mountaincar_step", "acrobot_step"]

# the helpers see each other's jitted forms through _scope (they call each
# other); the per-chunk ones stay calls (a prange body inlines them once per region)
_scope = dict(vars(_src), prange=numba.prange, fpg_sincos=_fmath.sincos)
_CALLED = ("_cartpole_rows", "_rollout_rows")
_scope.update({name: jit(types.FunctionType(f.__code__, _scope, name),
                         inline="never" if name in _CALLED else "always", cache=False,
                         refcount=False)
               for name, f in vars(_src).items()
               if name.startswith("_") and isinstance(f, types.FunctionType)})
_scope["_env_index"] = jit(lambda i: numba.uint64(i), inline="always", cache=False)

# the serial bodies allocate nothing: no reference counting (fastpg._numba.jit)
cartpole_step = jit(types.FunctionType(_src.cartpole_step_c.__code__, _scope, "cartpole_step"),
                    refcount=False)
_step_parallel = jit(types.FunctionType(_src.cartpole_step_parallel_c.__code__, _scope,
                                        "cartpole_step_parallel_c"), parallel=True, cache=False)


@jit
def cartpole_step_parallel(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs,
                           rewards, terminated, truncated, final_obs):
    return _step_parallel(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs,
                          rewards, terminated, truncated, final_obs,
                          np.zeros(_src.ENV_CHUNKS, np.int64))


_rollout = jit(types.FunctionType(_src.cartpole_rollout_c.__code__, _scope,
                                  "cartpole_rollout_c"), refcount=False)


@jit
def cartpole_rollout(W, u, state, bank, cursor, steps, reset, max_steps, obs_out, actions_out,
                     rewards_out, terminated_out, truncated_out, logp_out):
    return _rollout(W, u, state, bank, cursor, steps, reset, max_steps, obs_out, actions_out,
                    rewards_out, terminated_out, truncated_out, logp_out,
                    np.empty((2, u.shape[1])))


_rollout_parallel = jit(types.FunctionType(_src.cartpole_rollout_parallel_c.__code__, _scope,
                                           "cartpole_rollout_parallel_c"), parallel=True,
                        cache=False)


@jit
def cartpole_rollout_parallel(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                              actions_out, rewards_out, terminated_out, truncated_out, logp_out):
    return _rollout_parallel(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                             actions_out, rewards_out, terminated_out, truncated_out, logp_out,
                             np.empty((2, u.shape[1])), np.zeros(_src.ENV_CHUNKS, np.int64))


mountaincar_step = jit(types.FunctionType(_src.mountaincar_step_c.__code__, _scope,
                                          "mountaincar_step"), refcount=False)
_acrobot = jit(types.FunctionType(_src.acrobot_step_c.__code__, _scope, "acrobot_step_c"),
               refcount=False)


@jit
def acrobot_step(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs, rewards,
                 terminated, truncated, final_obs):
    work = np.zeros((6, 4))
    work[5, 0] = 2.0
    return _acrobot(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs,
                    rewards, terminated, truncated, final_obs, work)
