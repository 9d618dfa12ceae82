"""NumPy reference for the replay kernels: the executable specification.

Sum tree layout (used by the prioritized buffer): for ``capacity`` C the tree
has ``L`` = the smallest power of two >= C leaves; ``sum_tree`` and
``min_tree`` are float64 arrays of length 2L with the root at index 1 and
leaf j at index L + j; index 0 is unused. ``sum_tree[n]`` is the sum of its
two children, ``min_tree[n]`` their minimum; a leaf's min entry is its
priority, or +inf when the priority is 0 (empty or never to be sampled), so
``min_tree[1]`` is the smallest *positive* priority. Parents are always
recomputed from their children (never incremented), so nothing drifts.

Kernels (every backend takes exactly these arguments; the public classes in
:mod:`fastpg.replay` validate):

* ``tree_update(sum_tree, min_tree, indices, priorities)``: sequentially,
  leaf ``indices[i]`` <- ``priorities[i]`` (duplicates: the last wins), then
  the ancestors of every touched leaf are recomputed.
* ``tree_sample(sum_tree, u, out)``: stratified proportional sampling; sample
  i takes the mass ``(i + u[i]) / B`` of the total and descends from the
  root, going right when the mass is not below the left child's sum. A child
  whose sum is 0 is never entered (so a mass equal to, or a rounding hair
  above, the total still lands on a positive-priority leaf, never on an
  empty one).
* ``importance_weights(sum_tree, min_tree, indices, beta, out)``:
  w_i = (N P(i))^-β / max_j (N P(j))^-β = (p_min / p_i)^β, with p_min the
  smallest positive priority (the N and the total cancel).
"""
from __future__ import annotations

import numpy as np

__all__ = ["tree_update", "tree_sample", "importance_weights"]


def tree_update(sum_tree, min_tree, indices, priorities):
    L = sum_tree.shape[0] // 2
    for i in range(indices.shape[0]):
        leaf = L + indices[i]
        p = priorities[i]
        sum_tree[leaf] = p
        min_tree[leaf] = p if p > 0 else np.inf
    for leaf in np.unique(L + indices):
        node = leaf >> 1
        while node >= 1:
            sum_tree[node] = sum_tree[2 * node] + sum_tree[2 * node + 1]
            min_tree[node] = min(min_tree[2 * node], min_tree[2 * node + 1])
            node >>= 1
    return -1


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


def importance_weights(sum_tree, min_tree, indices, beta, out):
    L = sum_tree.shape[0] // 2
    p = sum_tree[L + indices]
    out[...] = (min_tree[1] / p) ** beta
    return -1
