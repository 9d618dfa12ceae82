# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""Replay kernels, one source for both compilers: the sum tree's update,
stratified descent and importance weights, and n-step gathering (semantics
and argument layout: fastpg.reference.replay; how one source works:
fastpg/_kernels/tabular.py and docs/design.md).

The record copies and uniform draws (``ring_write``, ``gather_rows``,
``uniform_sample``, ``uniform_gather``) are written per compiler: Cython's
take arrays through the NumPy C API, copy rows with memcpy and draw from the
bit generator's C struct (src_cython/replay_io.pyx, re-exported by the
compiled module), numba's are in fastpg._numba.replay.

The tree kernels walk the tree one level at a time for the whole batch, so
that the cache misses of different paths overlap; their O(batch) scratch
comes from the caller.
"""
import cython
import numpy as np

if cython.compiled:  # the per-compiler kernels, under the family's module
    from .replay_io import gather_rows, ring_write, uniform_gather, uniform_sample
    __all__ = ["tree_update", "tree_sample", "importance_weights", "nstep_gather",
               "ring_write", "gather_rows", "uniform_sample", "uniform_gather"]
else:  # compiled, these are C names cimported by replay.pxd
    from ._py import INF, pow


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(n=cython.Py_ssize_t, k=cython.Py_ssize_t)
def _first_leaf(depth: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """The position of leaf 0: 8 (8**depth - 1) / 7."""
    n = 1
    for k in range(depth):
        n *= 8
    return 8 * (n - 1) // 7


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _prefetch(sums: cython.const[cython.double][::1], k: cython.Py_ssize_t) -> cython.void:
    """Asks for the cache line of sums[k] ahead of its use (Cython: gcc's
    __builtin_prefetch; numba's module binds LLVM's prefetch intrinsic)."""
    FASTPG_PREFETCH(cython.address(sums[k]))


def tree_update_c(tree, depth, indices, priorities, nodes):
    """Leaf indices[i] <- priorities[i] (min entry +inf for 0), then every
    touched leaf's ancestors recomputed from their children, a level at a
    time, once per run of equal nodes; nodes: (len(indices),) int64 scratch."""
    first = _first_leaf(depth)
    B = indices.shape[0]
    for i in range(B):
        p = priorities[i]
        tree[0, first + indices[i]] = p
        tree[1, first + indices[i]] = p if p > 0 else INF
    # after every leaf is written, so a duplicate's last write wins; never
    # incremented, so nothing drifts
    for i in range(B):
        nodes[i] = first + indices[i]
    for level in range(depth):
        for i in range(B):
            n = nodes[i] // 8 - 1
            if i > 0 and nodes[i - 1] == n:
                # the node just recomputed (its children are final for this
                # level): a sampled batch is sorted, so near the root most are
                nodes[i] = n
                continue
            k = 8 * n + 8
            a = 0.0
            m = INF
            for j in range(8):
                a += tree[0, k + j]
                v = tree[1, k + j]
                if v < m:
                    m = v
            tree[0, n] = a
            tree[1, n] = m
            nodes[i] = n
    return -1


def tree_sample_c(tree, depth, u, out, mass):
    """Stratified proportional descent: sample i takes the mass (i + u_i) / B
    of the total; mass: (len(u),) float64 scratch."""
    first = _first_leaf(depth)
    B = u.shape[0]
    sums = tree[0]
    total = sums[0]
    for i in range(B):
        mass[i] = (i + u[i]) / B * total
        out[i] = 0
    for level in range(depth):
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
            if level + 1 < depth:
                _prefetch(sums, 8 * out[i] + 8)
    for i in range(B):
        out[i] -= first
    return -1


def importance_weights_c(tree, depth, indices, beta, out):
    """w_i = (p_min / p_i)^β."""
    first = _first_leaf(depth)
    pmin = tree[1, 0]
    for i in range(indices.shape[0]):
        out[i] = pow(pmin / tree[0, first + indices[i]], beta)
    return -1


def nstep_gather_c(rewards, terminated, cut, indices, stride, newest_row, n, gamma,
                   out_return, out_discount, out_boot):
    """For each start slot: G = Σ_k γ^k r_{s+k·stride} up to n steps, the end of
    its episode (terminated: discount 0; cut) or the newest row; the
    discount γ^k left to bootstrap with, and the slot to bootstrap from."""
    C = rewards.shape[0]
    rows = C // stride
    for i in range(indices.shape[0]):
        s = indices[i]
        left = (newest_row - s // stride) % rows
        if left < 0:  # C's remainder (cdivision); numba's is never negative
            left += rows
        G = 0.0
        g = 1.0
        k = 0
        while True:
            G += g * rewards[s]
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


# ---- the Cython backend's registry kernels: the *_c functions without the
# GIL, scratch allocated here (numba's are in fastpg._numba.replay)

def tree_update(tree, depth, indices, priorities):
    nodes = np.empty(indices.shape[0], np.int64)
    with cython.nogil:
        return tree_update_c(tree, depth, indices, priorities, nodes)


def tree_sample(tree, depth, u, out):
    mass = np.empty(u.shape[0])
    with cython.nogil:
        return tree_sample_c(tree, depth, u, out, mass)


def importance_weights(tree, depth, indices, beta, out):
    with cython.nogil:
        return importance_weights_c(tree, depth, indices, beta, out)


def nstep_gather(rewards, terminated, cut, indices, stride, newest_row, n, gamma, out_return,
                 out_discount, out_boot):
    with cython.nogil:
        return nstep_gather_c(rewards, terminated, cut, indices, stride, newest_row, n, gamma,
                              out_return, out_discount, out_boot)
