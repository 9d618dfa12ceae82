"""Numba tabular kernels: numba's compilation of the one source,
fastpg/_kernels/tabular.py, which Cython compiles too (semantics and
argument layout: fastpg.reference.tabular).

Each kernel is the ``*_c`` body under its registry name, jitted with the
source module's helpers inlined and without reference counting
(``refcount=False``: each array handed to a helper, inlined or not, cost an
atomic increment and decrement per call).
"""
from __future__ import annotations

import types

import numpy as np

from .._kernels import tabular as _src
from . import jit
from ._simd import dot8

__all__ = ["q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0",
           "epsilon_greedy", "value_iteration", "q_learning_rollout"]

# the source's globals, each helper (a private function) replaced by its
# inlined jit (the helpers see each other's jitted forms through _scope), then
# each *_c kernel by its jit
_scope = dict(vars(_src))
_scope.update({name: jit(types.FunctionType(f.__code__, _scope, name), inline="always",
                         cache=False, refcount=False)
               for name, f in vars(_src).items()
               if name.startswith("_") and isinstance(f, types.FunctionType)})
# the dense sum's 8 lanes as vector operations (numba runs LLVM without its SLP
# vectoriser, so the source's scalar lanes stayed scalar): dense value
# iteration S500 A6 139 -> 48-55 ms, Cython's baseline build 69-70 ms
_scope["_dense_dot"] = jit(lambda P, V, s, a, n8: dot8(P[s, a], V, n8), inline="always",
                           cache=False, refcount=False)


def _compiled(name):
    f = getattr(_src, name)
    return jit(types.FunctionType(f.__code__, _scope, f.__name__, f.__defaults__,
                                  f.__closure__), refcount=False)


_scope.update({name: _compiled(name) for name in vars(_src) if name.endswith("_c")})

q_learning = _scope["q_learning_c"]
sarsa = _scope["sarsa_c"]
expected_sarsa = _scope["expected_sarsa_c"]
double_q_learning = _scope["double_q_learning_c"]
td0 = _scope["td0_c"]
epsilon_greedy = _scope["epsilon_greedy_c"]
q_learning_rollout = _scope["q_learning_rollout_c"]
# Inlined into its wrapper: the wrapper's own copy of a called kernel, which
# it keeps in its cached code, ran 1.5x slower than the same kernel compiled
# on its own (S5000 A8 K10: 87 against 59 ms; Cython 59 ms)
_value_iteration_c = jit(types.FunctionType(_src.value_iteration_c.__code__, _scope,
                                            "value_iteration_c"), inline="always", cache=False)


@jit
def value_iteration(P, idx, r_sa, gamma, tol, max_iter, mask, V_out, Q_out, policy_out):
    # uint64 indices: no negative-index fix-up on each V[idx] (80 -> 59 ms)
    return _value_iteration_c(P, idx.view(np.uint64), r_sa, gamma, tol, max_iter, mask, V_out,
                              np.empty(V_out.shape[0]), Q_out, policy_out)
