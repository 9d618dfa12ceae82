"""Numba replay kernels (semantics and argument layout: fastpg.reference.replay)."""
from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["tree_update", "tree_sample", "importance_weights", "ring_write", "gather_rows",
           "uniform_sample", "uniform_gather", "nstep_gather"]


@jit
def _first_leaf(depth):
    n = 1
    for _ in range(depth):
        n *= 8
    return 8 * (n - 1) // 7


@jit
def tree_update(tree, depth, indices, priorities):
    first = _first_leaf(depth)
    B = indices.shape[0]
    sums = tree[0]
    mins = tree[1]
    for i in range(B):
        leaf = first + indices[i]
        p = priorities[i]
        sums[leaf] = p
        mins[leaf] = p if p > 0 else np.inf
    # ancestors after all leaves are written (a duplicate's last write wins),
    # a level at a time for the whole batch (independent loads overlap their
    # misses); recomputed from the children, never incremented: no drift
    nodes = np.empty(B, np.int64)
    for i in range(B):
        nodes[i] = first + indices[i]
    for _ in range(depth):
        for i in range(B):
            n = nodes[i] // 8 - 1
            k = 8 * n + 8
            a = 0.0
            m = np.inf
            for j in range(8):
                a += sums[k + j]
                v = mins[k + j]
                if v < m:
                    m = v
            sums[n] = a
            mins[n] = m
            nodes[i] = n
    return -1


@jit
def tree_sample(tree, depth, u, out):
    first = _first_leaf(depth)
    B = u.shape[0]
    sums = tree[0]
    total = sums[0]
    mass = np.empty(B)
    for i in range(B):
        mass[i] = (i + u[i]) / B * total
        out[i] = 0
    for _ in range(depth):  # one tree level for the whole batch
        for i in range(B):
            k = 8 * out[i] + 8
            m = mass[i]
            last = -1
            pick = -1
            for j in range(8):
                s = sums[k + j]
                if s > 0:
                    last = j
                    if m < s:
                        pick = j
                        break
                    m -= s
            if pick < 0:  # mass at or a hair above the sum: last positive child
                pick = last
                m += sums[k + last]
            mass[i] = m
            out[i] = k + pick
    for i in range(B):
        out[i] -= first
    return -1


@jit
def importance_weights(tree, depth, indices, beta, out):
    first = _first_leaf(depth)
    pmin = tree[1, 0]
    for i in range(indices.shape[0]):
        out[i] = (pmin / tree[0, first + indices[i]]) ** beta
    return -1


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


@jit
def nstep_gather(rewards, terminated, cut, indices, stride, newest_row, n, gamma,
                 out_return, out_discount, out_boot):
    C = rewards.shape[0]
    rows = C // stride
    for i in range(indices.shape[0]):
        s = indices[i]
        left = (newest_row - s // stride) % rows
        G = 0.0
        g = 1.0
        k = 0
        while True:
            G += g * np.float64(rewards[s])
            g *= gamma
            k += 1
            if terminated[s] != 0:
                g = 0.0
                break
            if cut[s] != 0 or k == n or k > left:
                break
            s += stride
            if s >= C:
                s -= C
        out_return[i] = G
        out_discount[i] = g
        out_boot[i] = s
    return -1
