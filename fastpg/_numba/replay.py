"""Numba replay kernels (semantics and argument layout: fastpg.reference.replay).

The sum tree and n-step kernels are numba's compilation of the one source,
fastpg/_kernels/replay.py, which Cython compiles too (jitted wrappers here
allocate their scratch). The record copies and uniform draws are written for
numba here: Cython's twins use memcpy and C-level APIs numba does not have.
"""
from __future__ import annotations

import types

import numpy as np

from .._kernels import replay as _src
from . import jit

__all__ = ["tree_update", "tree_sample", "importance_weights", "ring_write", "gather_rows",
           "uniform_sample", "uniform_gather", "nstep_gather"]

_scope = dict(vars(_src))


def _in_scope(f):
    return types.FunctionType(f.__code__, _scope, f.__name__)


_scope["_first_leaf"] = jit(_in_scope(_src._first_leaf), inline="always", cache=False)
# the prefetch hint is a C builtin: numba's twin does nothing
_scope["_prefetch"] = jit(lambda sums, k: None, inline="always", cache=False)
_tree_update = jit(_in_scope(_src.tree_update_c))
_tree_sample = jit(_in_scope(_src.tree_sample_c))
importance_weights = jit(_in_scope(_src.importance_weights_c))
nstep_gather = jit(_in_scope(_src.nstep_gather_c))


@jit
def tree_update(tree, depth, indices, priorities):
    return _tree_update(tree, depth, indices, priorities, np.empty(indices.shape[0], np.int64))


@jit
def tree_sample(tree, depth, u, out):
    return _tree_sample(tree, depth, u, out, np.empty(u.shape[0]))


@jit
def ring_write(dst, src, start):
    C = dst.shape[0]
    n = src.shape[0]
    R = dst.shape[1]
    first = n - C if n > C else 0
    slot = (start + first) % C
    for i in range(first, n):
        for j in range(R):
            dst[slot, j] = src[i, j]
        slot += 1
        if slot == C:
            slot = 0
    return -1


@jit
def gather_rows(src, indices, out):
    R = src.shape[1]
    for i in range(indices.shape[0]):
        k = indices[i]
        for j in range(R):
            out[i, j] = src[k, j]
    return -1


@jit(inline="always")
def _slot(u, size):
    # min(floor(u * size), size - 1): u * size may round up to size
    k = np.int64(u * size)
    return k if k < size else size - 1


@jit
def uniform_sample(u, size, out):
    for i in range(u.shape[0]):
        out[i] = _slot(u[i], size)
    return -1


@jit
def uniform_gather(rng, size, src, indices_out, out):
    # numba's Generator.random() reads the same bit generator stream as NumPy's
    R = src.shape[1]
    for i in range(indices_out.shape[0]):
        k = _slot(rng.random(), size)
        indices_out[i] = k
        for j in range(R):
            out[i, j] = src[k, j]
    return -1
