# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython return kernels (semantics and argument layout: fastpg.reference.returns).

Same algorithm as the numba backend: the three scans are the linear
recurrence y_t = a_t + c_t y_{t+1}; wide arrays run a reverse loop over time
with the batch as the inner loop, narrow ones (a flat stream) are cut into
blocks scanned independently (a flat stream in vector chunks at the AVX2 and
AVX-512 levels, fpg_scan_simd.h; else as 4 interleaved chains), then fixed
up with the true carry (the fix-up stops at the first zero coefficient, i.e.
usually at the first episode end). ``*_parallel`` spreads column slabs or blocks over
OpenMP threads when the extension was built with OpenMP.

The ``*_c`` functions declared in returns.pxd are the cimport-able API: they
take typed memoryviews, run without the GIL and never raise; the caller
passes arrays laid out as the reference module describes.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, calloc, free

include "_tuning.pxi"  # BLOCK, ROW_MIN_B, MAX_SLABS (from fastpg/_tuning.py)
include "_ndarg.pxi"  # Arr2: the Python-callable kernels' array arguments
include "_scan.pxi"  # Src and _scan: the recurrence, its row and (_scan_blocks.pxi) block paths


ctypedef fused elem_t:
    float
    double
    unsigned char


cdef inline Arr2 _mv(const elem_t[:, ::1] a) noexcept nogil:
    cdef Arr2 v
    v.p = <void*>&a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL
    v.rows = a.shape[0]
    v.cols = a.shape[1]
    return v


cdef inline Arr2 _none(Py_ssize_t B) noexcept nogil:
    cdef Arr2 v
    v.p = NULL
    v.rows = 0
    v.cols = B
    return v


cdef int _run(int m, Arr2 rewards, Arr2 values, Arr2 next_values, Arr2 gamma, Arr2 lam,
              Arr2 terminated, Arr2 truncated, Arr2 out, Arr2 out2, bint parallel,
              floating zero) noexcept nogil:
    """Fill a Src from the arguments' views (rows 0 = absent) and run its scan."""
    cdef Src S
    cdef Py_ssize_t T = rewards.rows, B = rewards.cols
    cdef int rc
    if T == 0 or B == 0:
        return 0
    # absent flags / next_values read as a zero row with row stride 0
    cdef void* zeros = calloc(B, sizeof(double))
    if zeros == NULL:
        return -1
    S.m = m
    S.T = T
    S.B = B
    S.r = rewards.p
    S.v = values.p if values.rows > 0 else zeros
    S.out = out.p
    S.out2 = out2.p if out2.rows > 0 else S.out
    S.g = gamma.p
    S.gs = B if gamma.rows > 1 else 0
    S.lm = lam.p
    S.ls = B if lam.rows > 1 else 0
    S.te = <const unsigned char*>terminated.p if terminated.rows > 0 else <unsigned char*>zeros
    S.tes = B if terminated.rows > 0 else 0
    S.tr = <const unsigned char*>truncated.p if truncated.rows > 0 else <unsigned char*>zeros
    S.trs = B if truncated.rows > 0 else 0
    S.nvmode = 0
    if next_values.rows == 0:
        S.nv = zeros
        S.nvs = 0
    else:
        S.nv = next_values.p
        S.nvs = B if next_values.rows == T else 0  # (1, B): one row for every step
        if m == GAE and next_values.rows != T:
            S.nvmode = 1
    cdef DiscTag disc_tag
    cdef GaeTag gae_tag
    cdef LamTag lam_tag
    if m == DISC:
        rc = _scan(&S, zero, parallel, &disc_tag)
    elif m == GAE:
        rc = _scan(&S, zero, parallel, &gae_tag)
    else:
        rc = _scan(&S, zero, parallel, &lam_tag)
    free(zeros)
    return rc


cdef void _nstep(Arr2 rv, Arr2 nvv, Arr2 gv, Py_ssize_t n, Arr2 te, Arr2 tr, Arr2 ov,
                 Py_ssize_t t0, Py_ssize_t t1, floating zero) noexcept nogil:
    cdef Py_ssize_t T = rv.rows, B = rv.cols, t, b, k, s
    cdef Py_ssize_t gs = B if gv.rows > 1 else 0
    cdef const floating* r = <const floating*>rv.p
    cdef const floating* nv = <const floating*>nvv.p
    cdef const floating* g = <const floating*>gv.p
    cdef const unsigned char* term = <const unsigned char*>te.p
    cdef const unsigned char* trunc = <const unsigned char*>tr.p
    cdef floating* out = <floating*>ov.p
    cdef bint has_te = te.rows > 0, has_tr = tr.rows > 0
    cdef double acc, disc, gk  # float64 sums, as the reference: gamma^k must not underflow
    for t in range(t0, t1):
        for b in range(B):
            acc = 0
            disc = 1
            for k in range(min(n, T - t)):
                s = t + k
                gk = g[s * gs + b]
                acc = acc + disc * r[s * B + b]
                if has_te and term[s * B + b] != 0:
                    break
                if k == n - 1 or s == T - 1 or (has_tr and trunc[s * B + b] != 0):
                    acc = acc + disc * gk * nv[s * B + b]
                    break
                disc = disc * gk
            out[t * B + b] = <floating>acc


cdef int _nstep_run(Arr2 r, Arr2 nv, Arr2 g, Py_ssize_t n, Arr2 te, Arr2 tr, Arr2 out,
                    bint parallel, floating zero) noexcept nogil:
    cdef Py_ssize_t T = r.rows, nchunk, i
    if T == 0 or r.cols == 0:
        return 0
    if not parallel:
        _nstep(r, nv, g, n, te, tr, out, 0, T, zero)
        return 0
    nchunk = max(1, min(T // 4096, 256))
    for i in prange(nchunk, schedule='static'):
        _nstep(r, nv, g, n, te, tr, out, i * T // nchunk, (i + 1) * T // nchunk, zero)
    return 0


# ---- cimport-able API (declared in returns.pxd) ---------------------------

cdef int discounted_returns_c(const floating[:, ::1] rewards, const floating[:, ::1] gamma,
                              const unsigned char[:, ::1] terminated,
                              const unsigned char[:, ::1] truncated,
                              const floating[:, ::1] next_values,
                              floating[:, ::1] out, bint parallel) noexcept nogil:
    cdef floating zero = 0
    return _run(DISC, _mv(rewards), _none(rewards.shape[1]), _mv(next_values), _mv(gamma),
                _mv(gamma), _mv(terminated), _mv(truncated), _mv(out),
                _none(rewards.shape[1]), parallel, zero)


cdef int gae_c(const floating[:, ::1] rewards, const floating[:, ::1] values,
               const floating[:, ::1] next_values, const floating[:, ::1] gamma,
               const floating[:, ::1] lam, const unsigned char[:, ::1] terminated,
               const unsigned char[:, ::1] truncated, floating[:, ::1] advantages_out,
               floating[:, ::1] returns_out, bint parallel) noexcept nogil:
    cdef floating zero = 0
    return _run(GAE, _mv(rewards), _mv(values), _mv(next_values), _mv(gamma), _mv(lam),
                _mv(terminated), _mv(truncated), _mv(advantages_out), _mv(returns_out),
                parallel, zero)


cdef int lambda_returns_c(const floating[:, ::1] rewards, const floating[:, ::1] next_values,
                          const floating[:, ::1] gamma, const floating[:, ::1] lam,
                          const unsigned char[:, ::1] terminated,
                          const unsigned char[:, ::1] truncated,
                          floating[:, ::1] out, bint parallel) noexcept nogil:
    cdef floating zero = 0
    return _run(LAMBDA, _mv(rewards), _none(rewards.shape[1]), _mv(next_values), _mv(gamma),
                _mv(lam), _mv(terminated), _mv(truncated), _mv(out),
                _none(rewards.shape[1]), parallel, zero)


cdef int nstep_returns_c(const floating[:, ::1] rewards, const floating[:, ::1] next_values,
                         const floating[:, ::1] gamma, Py_ssize_t n,
                         const unsigned char[:, ::1] terminated,
                         const unsigned char[:, ::1] truncated,
                         floating[:, ::1] out, bint parallel) noexcept nogil:
    cdef floating zero = 0
    return _nstep_run(_mv(rewards), _mv(next_values), _mv(gamma), n, _mv(terminated),
                      _mv(truncated), _mv(out), parallel, zero)


# ---- registry kernels (Python-callable; same names as fastpg.reference) ----

cdef inline _check(int rc):
    if rc != 0:
        raise MemoryError("fastpg: out of memory in a return kernel")


include "_returns_api.pxi"


def openmp_threads():
    """Threads an OpenMP parallel region would use (1 without OpenMP)."""
    cdef int n = 0, i
    for i in prange(1, nogil=True):
        n = _omp_threads()
    return n


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int _omp_threads(void) { return omp_get_num_threads(); }
    #else
    static int _omp_threads(void) { return 1; }
    #endif
    """
    int _omp_threads() noexcept nogil
