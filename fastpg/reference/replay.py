"""NumPy reference for the replay kernels: the executable specification.

Sum tree layout (used by the prioritized buffer). The tree has fan-out 8: the
8 children of a node are adjacent, so a level of the descent reads one 64-byte
cache line (a 1M-slot tree is 7 levels deep, not 20). For ``capacity`` C it
has ``8**D`` leaves, D the smallest depth with 8**D >= C. ``tree`` is a
float64 array of shape (2, M): ``tree[0, n]`` is node n's sum and
``tree[1, n]`` its min. Node positions: the root is at 0, the children of n
at 8n+8 .. 8n+15 (positions 1..7 are padding, so every block of 8 siblings
starts at a multiple of 8), so the parent of m is ``m // 8 - 1`` and leaf j
is at ``8 * (8**D - 1) / 7 + j``. A node's sum is the sum of its 8 children
added left to right; its min is their minimum. A leaf's min entry is its
priority, or +inf when the priority is 0 (empty or never to be sampled), so
``tree[1, 0]`` is the smallest *positive* priority. Parents are always
recomputed from their children (never incremented), so nothing drifts.

Kernels (every backend takes exactly these arguments; the public classes in
:mod:`fastpg.replay` validate; ``D`` = ``depth``):

* ``tree_update(tree, depth, indices, priorities)``: sequentially, leaf
  ``indices[i]`` <- ``priorities[i]`` (duplicates: the last wins), then the
  ancestors of every touched leaf are recomputed, bottom level first.
* ``tree_sample(tree, depth, u, out)``: stratified proportional sampling:
  sample i takes the mass ``(i + u[i]) / B`` of the total and descends from
  the root; at each node it enters the first child with a positive sum whose
  cumulative sum exceeds the mass (subtracting the sums it skips), and when
  there is none (a mass equal to, or a rounding hair above, the node's sum)
  the last child with a positive sum. A zero-sum child is never entered, so
  the result is always a positive-priority leaf.
* ``importance_weights(tree, depth, indices, beta, out)``:
  w_i = (N P(i))^-β / max_j (N P(j))^-β = (p_min / p_i)^β, with p_min the
  smallest positive priority (the N and the total cancel).

The compiled kernels walk the tree one level at a time for the whole batch
(all samples' level-k nodes, then level k+1): the loads of different samples
are independent, so their cache misses overlap instead of queueing; the
results are the same as one walk per sample.

Storage kernels. Storage of ``capacity`` C slots is viewed as bytes, ``(C, R)``
uint8 with R = the bytes of one slot (a whole record, or one field's part of
it: rows may be strided, each row's bytes contiguous), so one kernel serves
every dtype and shape:

* ``ring_write(dst, src, start)``: row i of ``src`` (n, R) goes to slot
  ``(start + i) % C`` of ``dst`` (C, R), in order (with n > C the later rows
  win, as if written one at a time).
* ``gather_rows(src, indices, out)``: ``out[i] = src[indices[i]]``.
* ``uniform_sample(u, size, out)``: ``out[i] = min(floor(u[i] * size), size - 1)``
  for ``u`` in [0, 1) (float64): uniform over the ``size`` filled slots,
  which are always slots 0 .. size-1 (the ring starts at slot 0).
* ``uniform_gather(rng, size, src, indices_out, out)``: B =
  ``len(indices_out)`` uniform draws and their rows in one pass, exactly
  ``uniform_sample(rng.random(B), size, indices_out)`` then
  ``gather_rows(src, indices_out, out)``: the same ``rng`` stream, slots and
  rows, and ``rng`` advanced by B doubles (``rng``: a numpy.random.Generator;
  1 <= size <= C). For a batch drawn once per gradient step: one compiled
  call instead of a draw, a kernel and a gather. Every backend draws under
  the bit generator's lock (numba's draws with NumPy, then jits the rest).
* ``nstep_gather(rewards, terminated, cut, indices, stride, newest_row, n,
  gamma, out_return, out_discount, out_boot)`` (``rewards`` float32/64,
  ``terminated`` and ``cut`` uint8, all of length C, possibly strided; the
  outputs in the rewards' dtype): the n-step return of the
  transition in slot ``s = indices[i]``. Slots hold ``stride`` (= n_envs)
  interleaved streams: the step after slot s of the same env is slot
  ``(s + stride) % C``; slots form rows of ``stride`` (row = slot // stride,
  R = C / stride rows) and ``newest_row`` is the row written last. Walking
  k = 0, 1, ... from s: ``G += γ^k r``; the walk stops after the step that
  is terminated (discount 0: no bootstrap), after a step with ``cut``
  (truncated, or the env's next step is not the continuation: bootstrap),
  after the newest row (the write head: bootstrap from what was stored), or
  after n steps. ``out_return[i]`` = G, ``out_discount[i]`` = γ^m (m steps
  taken; 0 after a termination), ``out_boot[i]`` = the slot of the last step
  taken, whose next observation is the bootstrap observation. Sums run in
  float64. The walk only moves forward in time from s up to the write head,
  so it never reads overwritten data.
"""
from __future__ import annotations

import numpy as np

__all__ = ["tree_update", "tree_sample", "importance_weights", "ring_write", "gather_rows",
           "uniform_sample", "uniform_gather", "nstep_gather"]


def tree_positions(depth):
    """(position of leaf 0, array length M) for a tree of the given depth."""
    first_leaf = 8 * (8 ** depth - 1) // 7
    M = first_leaf + 8 ** depth
    return first_leaf, -(-M // 8) * 8


def _pick(sums, mass):
    """The child a mass enters: (child, mass left inside it)."""
    last = -1
    for j in range(8):
        s = sums[j]
        if s > 0:
            last = j
            if mass < s:
                return j, mass
            mass -= s
    return last, mass + sums[last]


def tree_update(tree, depth, indices, priorities):
    first_leaf = tree_positions(depth)[0]
    for i in range(indices.shape[0]):
        leaf = first_leaf + indices[i]
        p = priorities[i]
        tree[0, leaf] = p
        tree[1, leaf] = p if p > 0 else np.inf
    for leaf in np.unique(first_leaf + indices):
        node = leaf
        while node > 0:
            node = node // 8 - 1
            kids = slice(8 * node + 8, 8 * node + 16)
            total = 0.0
            for s in tree[0, kids]:
                total += s
            tree[0, node] = total
            tree[1, node] = tree[1, kids].min()
    return -1


def tree_sample(tree, depth, u, out):
    first_leaf = tree_positions(depth)[0]
    B = u.shape[0]
    total = tree[0, 0]
    for i in range(B):
        mass = (i + u[i]) / B * total
        node = 0
        for _ in range(depth):
            j, mass = _pick(tree[0, 8 * node + 8:8 * node + 16], mass)
            node = 8 * node + 8 + j
        out[i] = node - first_leaf
    return -1


def importance_weights(tree, depth, indices, beta, out):
    first_leaf = tree_positions(depth)[0]
    p = tree[0, first_leaf + indices]
    out[...] = (tree[1, 0] / p) ** beta
    return -1


def ring_write(dst, src, start):
    C = dst.shape[0]
    n = src.shape[0]
    first = max(0, n - C)  # earlier rows would be overwritten within this call
    slots = (start + np.arange(first, n)) % C
    dst[slots] = src[first:]
    return -1


def gather_rows(src, indices, out):
    out[...] = src[indices]
    return -1


def uniform_sample(u, size, out):
    out[...] = np.minimum(np.floor(u * size).astype(np.int64), size - 1)
    return -1


def uniform_gather(rng, size, src, indices_out, out):
    uniform_sample(rng.random(indices_out.shape[0]), size, indices_out)
    return gather_rows(src, indices_out, out)


def nstep_gather(rewards, terminated, cut, indices, stride, newest_row, n, gamma,
                 out_return, out_discount, out_boot):
    C = rewards.shape[0]
    rows = C // stride
    for i in range(indices.shape[0]):
        s = int(indices[i])
        left = (newest_row - s // stride) % rows  # steps after s up to the write head
        G = 0.0
        g = 1.0
        k = 0
        while True:
            G += g * float(rewards[s])
            g *= gamma
            k += 1
            if terminated[s]:
                g = 0.0
                break
            if cut[s] or k == n or k > left:
                break
            s = (s + stride) % C
        out_return[i] = G
        out_discount[i] = g
        out_boot[i] = s
    return -1
