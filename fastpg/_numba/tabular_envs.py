"""Numba tabular environment kernel: numba's compilation of the one source,
fastpg/_kernels/tabular_envs.py, which Cython compiles too (semantics and
argument layout: fastpg.reference.tabular_envs); the source's helpers are
inlined."""
from __future__ import annotations

import types

from .._kernels import tabular_envs as _src
from . import jit

__all__ = ["mdp_step"]

# the helpers see each other's jitted forms through _scope (they call each other)
_scope = dict(vars(_src))
_scope.update({name: jit(types.FunctionType(f.__code__, _scope, name), inline="always",
                         cache=False, refcount=False)
               for name, f in vars(_src).items()
               if name.startswith("_") and isinstance(f, types.FunctionType)})

mdp_step = jit(types.FunctionType(_src.mdp_step_c.__code__, _scope, "mdp_step"), refcount=False)
