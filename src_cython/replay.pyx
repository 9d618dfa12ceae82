# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython replay kernels (semantics and argument layout: fastpg.reference.replay).

The ``*_c`` functions declared in replay.pxd are the cimport-able API
(nogil, noexcept); the public classes validate their arguments.
"""
from cython cimport floating
from libc.math cimport INFINITY, pow
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from cpython.pycapsule cimport PyCapsule_GetPointer
from numpy.random cimport bitgen_t

include "_ndarg.pxi"  # Rows: the Python-callable kernels' array arguments


cdef extern from *:
    """
    #if defined(__GNUC__)
    #define FASTPG_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define FASTPG_PREFETCH(p) ((void)0)
    #endif
    """
    void FASTPG_PREFETCH(const void *p) nogil


cdef inline Py_ssize_t _first_leaf(Py_ssize_t depth) noexcept nogil:
    cdef Py_ssize_t n = 1, k
    for k in range(depth):
        n *= 8
    return 8 * (n - 1) // 7


cdef Py_ssize_t tree_update_c(double[:, ::1] tree, Py_ssize_t depth,
                              const int64_t[::1] indices,
                              const double[::1] priorities) noexcept nogil:
    cdef Py_ssize_t first = _first_leaf(depth), B = indices.shape[0], i, j, k, n, level
    cdef double p, a, m, v
    cdef double *sums = &tree[0, 0]
    cdef double *mins = &tree[1, 0]
    for i in range(B):
        p = priorities[i]
        sums[first + indices[i]] = p
        mins[first + indices[i]] = p if p > 0 else INFINITY
    if B == 0:
        return -1
    # ancestors after every leaf is written (a duplicate's last write wins),
    # a level at a time for the whole batch so that the misses of different
    # paths overlap; recomputed from the children, never incremented: no drift
    cdef int64_t *nodes = <int64_t *> malloc(B * sizeof(int64_t))
    if nodes == NULL:
        return -2
    for i in range(B):
        nodes[i] = first + indices[i]
    for level in range(depth):
        for i in range(B):
            n = nodes[i] // 8 - 1
            k = 8 * n + 8
            a = 0.0
            m = INFINITY
            for j in range(8):
                a = a + sums[k + j]
                v = mins[k + j]
                m = v if v < m else m
            sums[n] = a
            mins[n] = m
            nodes[i] = n
    free(nodes)
    return -1


cdef Py_ssize_t tree_sample_c(const double[:, ::1] tree, Py_ssize_t depth,
                              const double[::1] u, int64_t[::1] out) noexcept nogil:
    cdef Py_ssize_t first = _first_leaf(depth), B = u.shape[0], i, j, k, level, pick, last
    cdef const double *sums = &tree[0, 0]
    cdef double total = sums[0], s, m
    if B == 0:
        return -1
    cdef double *mass = <double *> malloc(B * sizeof(double))
    if mass == NULL:
        return -2
    for i in range(B):
        mass[i] = (i + u[i]) / B * total
        out[i] = 0
    for level in range(depth):  # one tree level for the whole batch
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
                    m = m - s
            if pick < 0:  # mass at or a hair above the sum: last positive child
                pick = last
                m = m + sums[k + last]
            mass[i] = m
            out[i] = k + pick
            if level + 1 < depth:
                FASTPG_PREFETCH(&sums[8 * out[i] + 8])
    for i in range(B):
        out[i] -= first
    free(mass)
    return -1


cdef Py_ssize_t importance_weights_c(const double[:, ::1] tree, Py_ssize_t depth,
                                     const int64_t[::1] indices, double beta,
                                     floating[::1] out) noexcept nogil:
    cdef Py_ssize_t first = _first_leaf(depth), i
    cdef double pmin = tree[1, 0]
    for i in range(indices.shape[0]):
        out[i] = pow(pmin / tree[0, first + indices[i]], beta)
    return -1


cdef inline Rows _mv_rows(const uint8_t[:, :] a) noexcept nogil:
    cdef Rows v
    v.p = <char*>&a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL
    v.n = a.shape[0]
    v.R = a.shape[1]
    v.s0 = a.strides[0]
    v.s1 = a.strides[1]
    return v


cdef inline void _copy_row(char* d, Py_ssize_t ds, const char* s, Py_ssize_t ss,
                           Py_ssize_t R) noexcept nogil:
    cdef Py_ssize_t j
    if ds == 1 and ss == 1:
        memcpy(d, s, R)
    else:
        for j in range(R):
            d[j * ds] = s[j * ss]


cdef Py_ssize_t _ring(Rows dst, Rows src, Py_ssize_t start) noexcept nogil:
    cdef Py_ssize_t C = dst.n, n = src.n, R = dst.R, i, slot
    if C == 0 or R == 0:
        return -1
    cdef Py_ssize_t first = n - C if n > C else 0
    slot = (start + first) % C
    for i in range(first, n):
        _copy_row(dst.p + slot * dst.s0, dst.s1, src.p + i * src.s0, src.s1, R)
        slot += 1
        if slot == C:
            slot = 0
    return -1


cdef Py_ssize_t _gather(Rows src, const int64_t* indices, Py_ssize_t B, Rows out) noexcept nogil:
    cdef Py_ssize_t i
    if src.R == 0:
        return -1
    for i in range(B):
        _copy_row(out.p + i * out.s0, out.s1, src.p + indices[i] * src.s0, src.s1, src.R)
    return -1


cdef inline int64_t _slot(double u, int64_t size) noexcept nogil:
    # min(floor(u * size), size - 1): u * size may round up to size
    cdef int64_t k = <int64_t>(u * size)
    return k if k < size else size - 1


cdef Py_ssize_t _uniform(const double* u, Py_ssize_t B, int64_t size, int64_t* out) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(B):
        out[i] = _slot(u[i], size)
    return -1


cdef void _uniform_bitgen(bitgen_t* bg, Py_ssize_t B, int64_t size, int64_t* out) noexcept nogil:
    # next_double: what Generator.random() returns, draw for draw
    cdef Py_ssize_t i
    for i in range(B):
        out[i] = _slot(bg.next_double(bg.state), size)


cdef Py_ssize_t ring_write_c(uint8_t[:, :] dst, const uint8_t[:, :] src,
                             Py_ssize_t start) noexcept nogil:
    return _ring(_mv_rows(dst), _mv_rows(src), start)


cdef Py_ssize_t gather_rows_c(const uint8_t[:, :] src, const int64_t[::1] indices,
                              uint8_t[:, :] out) noexcept nogil:
    return _gather(_mv_rows(src), &indices[0] if indices.shape[0] > 0 else NULL,
                   indices.shape[0], _mv_rows(out))


cdef Py_ssize_t uniform_sample_c(const double[::1] u, int64_t size,
                                 int64_t[::1] out) noexcept nogil:
    return _uniform(&u[0] if u.shape[0] > 0 else NULL, u.shape[0], size,
                    &out[0] if out.shape[0] > 0 else NULL)


cdef Py_ssize_t nstep_gather_c(const floating[:] rewards, const uint8_t[:] terminated,
                               const uint8_t[:] cut, const int64_t[::1] indices,
                               Py_ssize_t stride, Py_ssize_t newest_row, Py_ssize_t n,
                               double gamma, floating[::1] out_return,
                               floating[::1] out_discount, int64_t[::1] out_boot) noexcept nogil:
    cdef Py_ssize_t C = rewards.shape[0], rows = C // stride, i, s, left, k
    cdef double G, g
    for i in range(indices.shape[0]):
        s = indices[i]
        left = (newest_row - s // stride) % rows
        if left < 0:  # C remainder (cdivision)
            left += rows
        G = 0.0
        g = 1.0
        k = 0
        while True:
            G += g * rewards[s]
            g *= gamma
            k += 1
            if terminated[s]:
                g = 0.0
                break
            if cut[s] or k == n or k > left:
                break
            s += stride
            if s >= C:
                s -= C
        out_return[i] = G
        out_discount[i] = g
        out_boot[i] = s
    return -1


def tree_update(double[:, ::1] tree, Py_ssize_t depth, const int64_t[::1] indices,
                const double[::1] priorities):
    cdef Py_ssize_t rc
    with nogil:
        rc = tree_update_c(tree, depth, indices, priorities)
    if rc == -2:
        raise MemoryError("fastpg: out of memory in a replay kernel")
    return rc


def tree_sample(const double[:, ::1] tree, Py_ssize_t depth, const double[::1] u,
                int64_t[::1] out):
    cdef Py_ssize_t rc
    with nogil:
        rc = tree_sample_c(tree, depth, u, out)
    if rc == -2:
        raise MemoryError("fastpg: out of memory in a replay kernel")
    return rc


def importance_weights(const double[:, ::1] tree, Py_ssize_t depth,
                       const int64_t[::1] indices, double beta, floating[::1] out):
    cdef Py_ssize_t rc
    with nogil:
        rc = importance_weights_c(tree, depth, indices, beta, out)
    return rc


# ring_write, gather_rows, uniform_sample and uniform_gather run once per
# transition or batch in training loops: they take arrays through the NumPy C
# API (_ndarg.pxi), with the checks that keep every access in bounds.
def ring_write(cnp.ndarray dst not None, cnp.ndarray src not None, Py_ssize_t start):
    cdef Rows d, s
    _rows_arg(dst, "dst", True, &d)
    _rows_arg(src, "src", False, &s)
    if s.R != d.R or start < 0:
        raise ValueError(f"ring_write: src must have dst's {d.R} bytes per row (got {s.R}) "
                         f"and start must be >= 0 (got {start})")
    with nogil:
        _ring(d, s, start)
    return -1


def gather_rows(cnp.ndarray src not None, cnp.ndarray indices not None, cnp.ndarray out not None):
    cdef Rows s, o
    cdef Py_ssize_t B, i
    _rows_arg(src, "src", False, &s)
    cdef const int64_t* idx = <const int64_t*>_vec_arg(indices, cnp.NPY_INT64, "indices",
                                                        False, &B)
    _rows_arg(out, "out", True, &o)
    if o.n != B or o.R != s.R:
        raise ValueError(f"gather_rows: out must have shape ({B}, {s.R}), got ({o.n}, {o.R})")
    for i in range(B):
        if idx[i] < 0 or idx[i] >= s.n:
            raise IndexError(f"gather_rows: indices[{i}] = {idx[i]} is outside [0, {s.n})")
    with nogil:
        _gather(s, idx, B, o)
    return -1


def uniform_sample(cnp.ndarray u not None, int64_t size, cnp.ndarray out not None):
    cdef Py_ssize_t B, n
    cdef const double* pu = <const double*>_vec_arg(u, cnp.NPY_FLOAT64, "u", False, &B)
    cdef int64_t* po = <int64_t*>_vec_arg(out, cnp.NPY_INT64, "out", True, &n)
    if n < B or size < 1:
        raise ValueError(f"uniform_sample: out needs len(u) = {B} slots (got {n}) and "
                         f"size must be >= 1 (got {size})")
    with nogil:
        _uniform(pu, B, size, po)
    return -1


def uniform_gather(object rng, int64_t size, cnp.ndarray src not None,
                   cnp.ndarray indices_out not None, cnp.ndarray out not None):
    cdef Rows s, o
    cdef Py_ssize_t B
    _rows_arg(src, "src", False, &s)
    cdef int64_t* idx = <int64_t*>_vec_arg(indices_out, cnp.NPY_INT64, "indices_out", True, &B)
    _rows_arg(out, "out", True, &o)
    if o.n != B or o.R != s.R:
        raise ValueError(f"uniform_gather: out must have shape ({B}, {s.R}), got ({o.n}, {o.R})")
    if not 1 <= size <= s.n:
        raise ValueError(f"uniform_gather: size must lie in [1, {s.n}] (the rows of src); "
                         f"got {size}")
    try:
        bitgen = rng.bit_generator
        capsule, lock = bitgen.capsule, bitgen.lock
    except AttributeError:
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}") from None
    cdef bitgen_t* bg = <bitgen_t*>PyCapsule_GetPointer(capsule, "BitGenerator")
    with lock, nogil:
        _uniform_bitgen(bg, B, size, idx)
    with nogil:
        _gather(s, idx, B, o)
    return -1


def nstep_gather(const floating[:] rewards, const uint8_t[:] terminated,
                 const uint8_t[:] cut, const int64_t[::1] indices, Py_ssize_t stride,
                 Py_ssize_t newest_row, Py_ssize_t n, double gamma,
                 floating[::1] out_return, floating[::1] out_discount, int64_t[::1] out_boot):
    cdef Py_ssize_t rc
    with nogil:
        rc = nstep_gather_c(rewards, terminated, cut, indices, stride, newest_row, n, gamma,
                            out_return, out_discount, out_boot)
    return rc


include "_records.pxi"  # record_fields, add_one: the adapters' per-batch and per-step helpers
