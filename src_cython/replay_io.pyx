# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The Cython replay kernels that copy records and draw slots (semantics and
argument layout: fastpg.reference.replay): ``ring_write``, ``gather_rows``,
``uniform_sample``, ``uniform_gather``, and the buffers' per-step helpers
(_records.pxi). The family's module, fastpg._cy.replay (compiled from
fastpg/_kernels/replay.py: the sum tree and n-step kernels), re-exports the
kernels; these stay Cython-only because they use memcpy, the NumPy C API
and the bit generator's C struct.

The ``*_c`` functions declared in replay_io.pxd are the cimport-able API
(nogil, noexcept; replay.pxd re-exports them); the public classes validate
their arguments.
"""
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy
from cpython.pycapsule cimport PyCapsule_GetPointer
from numpy.random cimport bitgen_t

include "_ndarg.pxi"  # Rows: the Python-callable kernels' array arguments


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


cdef inline void _prefetch_rows(const Rows* s, const int64_t* idx, Py_ssize_t B) noexcept nogil:
    """Asks for the first and last line of each record idx[i], so that the
    misses of a batch overlap (see _gather; also before a record split,
    _records.pxi)."""
    cdef Py_ssize_t i
    for i in range(B):
        FASTPG_PREFETCH(s.p + idx[i] * s.s0)
        FASTPG_PREFETCH(s.p + idx[i] * s.s0 + s.R - 1)


cdef Py_ssize_t _gather(Rows src, const int64_t* indices, Py_ssize_t B, Rows out) noexcept nogil:
    cdef Py_ssize_t i, k, R = src.R
    if R == 0:
        return -1
    if src.s1 != 1:
        for i in range(B):
            _copy_row(out.p + i * out.s0, out.s1, src.p + indices[i] * src.s0, src.s1, R)
        return -1
    # The misses overlap: every row's first and last line asked for before the
    # copies, and a long row's (a frame's) other lines one row ahead
    # (256 random rows of 48 B from 1M: 5.1 -> 1.2-1.8 us; of 84x84 B from
    # 100k: 132 -> 90-100 us)
    _prefetch_rows(&src, indices, B)
    for i in range(B):
        if i + 1 < B:
            for k in range(64, R - 64, 64):
                FASTPG_PREFETCH(src.p + indices[i + 1] * src.s0 + k)
        _copy_row(out.p + i * out.s0, out.s1, src.p + indices[i] * src.s0, 1, R)
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


include "_records.pxi"  # record_fields, add_one, add_rows: the per-batch and per-step helpers
