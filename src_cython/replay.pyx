# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython replay kernels (semantics and argument layout: fastpg.reference.replay).

The ``*_c`` functions declared in replay.pxd are the cimport-able API
(nogil, noexcept); the public classes validate their arguments.
"""
from cython cimport floating
from libc.math cimport INFINITY, pow
from libc.stdint cimport int64_t


cdef Py_ssize_t tree_update_c(double[::1] sum_tree, double[::1] min_tree,
                              const int64_t[::1] indices,
                              const double[::1] priorities) noexcept nogil:
    cdef Py_ssize_t L = sum_tree.shape[0] // 2, i, node
    cdef double p, l, r
    for i in range(indices.shape[0]):
        p = priorities[i]
        sum_tree[L + indices[i]] = p
        min_tree[L + indices[i]] = p if p > 0 else INFINITY
    # ancestors after every leaf is written (a duplicate's last write wins),
    # recomputed from the children, never incremented: no drift
    for i in range(indices.shape[0]):
        node = (L + indices[i]) >> 1
        while node >= 1:
            sum_tree[node] = sum_tree[2 * node] + sum_tree[2 * node + 1]
            l = min_tree[2 * node]
            r = min_tree[2 * node + 1]
            min_tree[node] = l if l < r else r
            node >>= 1
    return -1


cdef Py_ssize_t tree_sample_c(const double[::1] sum_tree, const double[::1] u,
                              int64_t[::1] out) noexcept nogil:
    cdef Py_ssize_t L = sum_tree.shape[0] // 2, B = u.shape[0], i, node, left
    cdef double total = sum_tree[1], mass
    for i in range(B):
        mass = (i + u[i]) / B * total
        node = 1
        while node < L:
            left = 2 * node
            # never enter a zero-mass child: a mass at (or a hair above) the
            # total still ends on a positive-priority leaf
            if (mass < sum_tree[left] or sum_tree[left + 1] <= 0) and sum_tree[left] > 0:
                node = left
            else:
                mass -= sum_tree[left]
                node = left + 1
        out[i] = node - L
    return -1


cdef Py_ssize_t importance_weights_c(const double[::1] sum_tree, const double[::1] min_tree,
                                     const int64_t[::1] indices, double beta,
                                     floating[::1] out) noexcept nogil:
    cdef Py_ssize_t L = sum_tree.shape[0] // 2, i
    cdef double pmin = min_tree[1]
    for i in range(indices.shape[0]):
        out[i] = pow(pmin / sum_tree[L + indices[i]], beta)
    return -1


def tree_update(double[::1] sum_tree, double[::1] min_tree, const int64_t[::1] indices,
                const double[::1] priorities):
    cdef Py_ssize_t rc
    with nogil:
        rc = tree_update_c(sum_tree, min_tree, indices, priorities)
    return rc


def tree_sample(const double[::1] sum_tree, const double[::1] u, int64_t[::1] out):
    cdef Py_ssize_t rc
    with nogil:
        rc = tree_sample_c(sum_tree, u, out)
    return rc


def importance_weights(const double[::1] sum_tree, const double[::1] min_tree,
                       const int64_t[::1] indices, double beta, floating[::1] out):
    cdef Py_ssize_t rc
    with nogil:
        rc = importance_weights_c(sum_tree, min_tree, indices, beta, out)
    return rc
