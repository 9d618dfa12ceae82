"""Numba replay kernels (semantics and argument layout: fastpg.reference.replay)."""
from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["tree_update", "tree_sample", "importance_weights"]


@jit
def tree_update(sum_tree, min_tree, indices, priorities):
    L = sum_tree.shape[0] // 2
    for i in range(indices.shape[0]):
        leaf = L + indices[i]
        p = priorities[i]
        sum_tree[leaf] = p
        min_tree[leaf] = p if p > 0 else np.inf
    # ancestors after all leaves are written (a duplicate's last write wins);
    # recomputed from the children, never incremented: no drift
    for i in range(indices.shape[0]):
        node = (L + indices[i]) >> 1
        while node >= 1:
            a = sum_tree[2 * node] + sum_tree[2 * node + 1]
            l, r = min_tree[2 * node], min_tree[2 * node + 1]
            m = l if l < r else r
            sum_tree[node] = a
            min_tree[node] = m
            node >>= 1
    return -1


@jit
def tree_sample(sum_tree, u, out):
    L = sum_tree.shape[0] // 2
    B = u.shape[0]
    total = sum_tree[1]
    for i in range(B):
        mass = (i + u[i]) / B * total
        node = 1
        while node < L:
            left = 2 * node
            if (mass < sum_tree[left] or sum_tree[left + 1] <= 0) and sum_tree[left] > 0:
                node = left
            else:
                mass -= sum_tree[left]
                node = left + 1
        out[i] = node - L
    return -1


@jit
def importance_weights(sum_tree, min_tree, indices, beta, out):
    L = sum_tree.shape[0] // 2
    pmin = min_tree[1]
    for i in range(indices.shape[0]):
        out[i] = (pmin / sum_tree[L + indices[i]]) ** beta
    return -1
