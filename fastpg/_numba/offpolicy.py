"""Numba off-policy return kernels: numba's compilation of the one source,
fastpg/_kernels/offpolicy.py, which Cython compiles too (semantics and
argument layout: fastpg.reference.offpolicy)."""
from __future__ import annotations

import types

import numpy as np

from .._kernels import offpolicy as _src
from . import _fmath, jit

__all__ = ["vtrace", "retrace"]


# fastpg's exp: fmath.pxd's fpg_exp in Cython, its twin here
_scope = {**vars(_src), "fpg_exp": _fmath.exp}


def _compiled(f, **opts):
    return jit(types.FunctionType(f.__code__, _scope, f.__name__), **opts)


_scope["_exp_row"] = _compiled(_src._exp_row, inline="never", cache=False)


_vtrace_c = _compiled(_src.vtrace_c)
_retrace_c = _compiled(_src.retrace_c)


@jit
def vtrace(rewards, values, next_values, log_rhos, gamma, lam, rho_clip, c_clip, pg_rho_clip,
           terminated, truncated, vs_out, pg_out):
    _vtrace_c(rewards, values, next_values, log_rhos, gamma, lam, rho_clip, c_clip, pg_rho_clip,
              terminated, truncated, vs_out, pg_out, np.empty((2, max(1, rewards.shape[1]))))
    return vs_out, pg_out


@jit
def retrace(rewards, q_values, next_values, log_rhos, gamma, lam, c_clip, terminated, truncated,
            out):
    _retrace_c(rewards, q_values, next_values, log_rhos, gamma, lam, c_clip, terminated,
               truncated, out, np.empty(max(1, rewards.shape[1])))
    return out
