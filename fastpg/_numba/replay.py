"""Numba replay kernels (semantics and argument layout: fastpg.reference.replay).

The sum tree and n-step kernels are numba's compilation of the one source,
fastpg/_kernels/replay.py, which Cython compiles too (jitted wrappers here
allocate their scratch). The record copies and uniform draws are written for
numba here: Cython's twins use memcpy and C-level APIs numba does not have.
"""
from __future__ import annotations

import types

import numpy as np
from llvmlite import ir
from numba import types as nbtypes
from numba.core import cgutils
from numba.extending import intrinsic

from .._kernels import replay as _src
from . import jit

__all__ = ["tree_update", "tree_sample", "importance_weights", "ring_write", "gather_rows",
           "uniform_sample", "uniform_gather", "nstep_gather"]

_scope = dict(vars(_src))


def _in_scope(f):
    return types.FunctionType(f.__code__, _scope, f.__name__)


_scope["_first_leaf"] = jit(_in_scope(_src._first_leaf), inline="always", cache=False,
                            refcount=False)


@intrinsic
def _prefetch_item(typingctx, arr, k):
    """LLVM's prefetch of arr[k] for reading, into every cache level (the
    one-source _prefetch, which gcc's __builtin_prefetch is in Cython)."""
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        # the intrinsic's name carries the pointer type: p0 (opaque) or p0i8
        name = "llvm.prefetch.p0" if str(i8p) == "ptr" else "llvm.prefetch.p0i8"
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), name)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return nbtypes.void(arr, k), codegen


# the tree descent asks for the next level's node ahead (tree_sample_c):
# 256 samples of 1M leaves 23-30 -> 17 us, as Cython's
_scope["_prefetch"] = jit(lambda sums, k: _prefetch_item(sums, k), inline="always", cache=False,
                          refcount=False)
# the one-source bodies allocate nothing: no reference counting (fastpg._numba.jit)
_tree_update = jit(_in_scope(_src.tree_update_c), refcount=False)
_tree_sample = jit(_in_scope(_src.tree_sample_c), refcount=False)
importance_weights = jit(_in_scope(_src.importance_weights_c), refcount=False)
nstep_gather = jit(_in_scope(_src.nstep_gather_c), refcount=False)


@jit
def tree_update(tree, depth, indices, priorities):
    return _tree_update(tree, depth, indices, priorities, np.empty(indices.shape[0], np.int64))


@jit
def tree_sample(tree, depth, u, out):
    return _tree_sample(tree, depth, u, out, np.empty(u.shape[0]))


@jit(refcount=False)  # allocates nothing (fastpg._numba.jit)
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


@intrinsic
def _copy_bytes(typingctx, dst, src, n):
    """memcpy(dst.data, src.data, n): LLVM's memcpy, where a loop over a row
    of unknown length stays scalar below the vector loop's minimum (a 48-byte
    record: 48 byte moves)."""
    def codegen(context, builder, signature, args):
        d = context.make_array(signature.args[0])(context, builder, args[0])
        s = context.make_array(signature.args[1])(context, builder, args[1])
        cgutils.raw_memcpy(builder, d.data, s.data, args[2], 1)
        return context.get_dummy_value()
    return nbtypes.void(dst, src, n), codegen


@jit(refcount=False)  # allocates nothing (fastpg._numba.jit)
def gather_rows(src, indices, out):
    # the prefetches as in Cython's _gather (replay_io.pyx), which says why
    R = src.shape[1]
    B = indices.shape[0]
    if R == 0:
        return -1
    if src.strides[1] != 1 or out.strides[1] != 1:
        for i in range(B):
            k = indices[i]
            for j in range(R):
                out[i, j] = src[k, j]
        return -1
    for i in range(B):
        row = src[indices[i]]
        _prefetch_item(row, 0)
        _prefetch_item(row, R - 1)
    if R <= 128:
        for i in range(B):
            _copy_bytes(out[i], src[indices[i]], R)
        return -1
    for i in range(B):
        if i + 1 < B:
            ahead = src[indices[i + 1]]
            for j in range(64, R - 64, 64):
                _prefetch_item(ahead, j)
        _copy_bytes(out[i], src[indices[i]], R)
    return -1


@jit(inline="always")
def _slot(u, size):
    # min(floor(u * size), size - 1): u * size may round up to size
    k = np.int64(u * size)
    return k if k < size else size - 1


@jit(refcount=False)  # allocates nothing (fastpg._numba.jit)
def uniform_sample(u, size, out):
    for i in range(u.shape[0]):
        out[i] = _slot(u[i], size)
    return -1


@jit(refcount=False)  # allocates nothing (fastpg._numba.jit)
def _uniform_gather_u(u, size, src, indices_out, out):
    uniform_sample(u, size, indices_out)
    return gather_rows(src, indices_out, out)


def uniform_gather(rng, size, src, indices_out, out):
    # The draws in NumPy (rng.random(B), under the bit generator's lock), the
    # slots and rows in one jitted call: handing a Generator to a jitted
    # function costs ~5.6 us a call (numba unboxes it), ~1 us for the draws
    # (256 rows of 1M: 19 -> 8 us)
    return _uniform_gather_u(rng.random(indices_out.shape[0]), size, src, indices_out, out)
