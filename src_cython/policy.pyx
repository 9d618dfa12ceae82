# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython softmax policy kernels (semantics and argument layout: fastpg.reference.policy).

Each kernel streams over its rows once with per-row scratch of size A or d
(no (N, A) temporaries), computes in double and accumulates sums in double.
Kernels return -1 or the index of the first invalid row. The ``*_c``
functions declared in policy.pxd are the cimport-able API (nogil, noexcept).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expf, log, INFINITY, isnan
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, calloc, free

include "_tuning.pxi"  # NCHUNK (from fastpg/_tuning.py)


cdef inline double _row_max(const floating[:, ::1] z, Py_ssize_t i) noexcept nogil:
    """max of row i, or NaN when the row is invalid (NaN, +inf, or no finite value)."""
    cdef double m = -INFINITY, x
    cdef Py_ssize_t a
    for a in range(z.shape[1]):
        x = z[i, a]
        if isnan(x) or x == INFINITY:
            return x - x  # NaN
        if x > m:
            m = x
    if m == -INFINITY:
        return m - m  # NaN
    return m


cdef inline double _lse(const floating[:, ::1] z, Py_ssize_t i, double m) noexcept nogil:
    cdef double s = 0
    cdef Py_ssize_t a
    for a in range(z.shape[1]):
        s += exp(z[i, a] - m)
    return log(s)


cdef Py_ssize_t softmax_c(const floating[:, ::1] logits, floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = logits.shape[0], A = logits.shape[1], i, a
    cdef double m, s, e
    for i in range(N):
        m = _row_max(logits, i)
        if isnan(m):
            return i
        s = 0
        for a in range(A):
            e = exp(logits[i, a] - m)
            out[i, a] = e
            s += e
        s = 1 / s
        for a in range(A):
            out[i, a] = out[i, a] * s
    return -1


cdef Py_ssize_t log_softmax_c(const floating[:, ::1] logits, floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = logits.shape[0], A = logits.shape[1], i, a
    cdef double m, lse
    for i in range(N):
        m = _row_max(logits, i)
        if isnan(m):
            return i
        lse = _lse(logits, i, m)
        for a in range(A):
            out[i, a] = (logits[i, a] - m) - lse
    return -1


cdef Py_ssize_t softmax_jacobian_c(const floating[:, ::1] probs,
                                   floating[:, :, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = probs.shape[0], A = probs.shape[1], i, a, b
    cdef double pa
    for i in range(N):
        for a in range(A):
            pa = probs[i, a]
            for b in range(A):
                out[i, a, b] = -pa * probs[i, b]
            out[i, a, a] = out[i, a, a] + pa
    return -1


cdef Py_ssize_t softmax_jvp_c(const floating[:, ::1] probs, const floating[:, ::1] v,
                              floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = probs.shape[0], A = probs.shape[1], i, a
    cdef double dot
    for i in range(N):
        dot = 0
        for a in range(A):
            dot += <double>probs[i, a] * v[i, a]
        for a in range(A):
            out[i, a] = probs[i, a] * (v[i, a] - dot)
    return -1


cdef Py_ssize_t log_prob_grad_c(const floating[:, ::1] logits, const int64_t[::1] actions,
                                floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = logits.shape[0], A = logits.shape[1], i, a
    cdef double m, s, e
    for i in range(N):
        m = _row_max(logits, i)
        if isnan(m) or logits[i, actions[i]] == -INFINITY:
            return i
        s = 0
        for a in range(A):
            e = exp(logits[i, a] - m)
            out[i, a] = e
            s += e
        s = -1 / s
        for a in range(A):
            out[i, a] = out[i, a] * s
        out[i, actions[i]] = out[i, actions[i]] + 1
    return -1


include "_policy_linear.pxi"  # the linear softmax policies


cdef Py_ssize_t sample_categorical_c(const floating[:, ::1] logits, const double[::1] u,
                                     int64_t[::1] out) noexcept nogil:
    cdef Py_ssize_t N = logits.shape[0], A = logits.shape[1], i, a, pick, last
    cdef double m, tot, thresh, acc, e
    for i in range(N):
        m = _row_max(logits, i)
        if isnan(m):
            return i
        tot = 0
        for a in range(A):
            tot += exp(<double>logits[i, a] - m)
        thresh = u[i] * tot
        acc = 0
        pick = -1
        last = 0
        for a in range(A):
            e = exp(<double>logits[i, a] - m)
            if e > 0:
                last = a
            acc += e
            if pick < 0 and acc > thresh:
                pick = a
        out[i] = pick if pick >= 0 else last
    return -1


cdef Py_ssize_t entropy_c(const floating[:, ::1] logits, floating[::1] out) noexcept nogil:
    cdef Py_ssize_t N = logits.shape[0], A = logits.shape[1], i, a
    cdef double m, lse, h, lp, p
    for i in range(N):
        m = _row_max(logits, i)
        if isnan(m):
            return i
        # H = log S - sum_a e_a (z_a - m) / S with e_a = exp(z_a - m), S = sum e:
        # one exp per element; masked actions (e_a = 0) are skipped, not 0 * inf
        lse = 0
        h = 0
        for a in range(A):
            lp = logits[i, a] - m
            p = exp(lp)
            lse += p
            if p > 0:
                h += p * lp
        out[i] = log(lse) - h / lse
    return -1


cdef Py_ssize_t policy_gradient_loss_c(const floating[:, ::1] logits, const int64_t[::1] actions,
                                       const floating[::1] advantages, floating[:, ::1] dlogits,
                                       floating[::1] loss) noexcept nogil:
    cdef Py_ssize_t N = logits.shape[0], A = logits.shape[1], i, a, ai
    cdef double m, lse, adv, scale, e, total = 0
    for i in range(N):
        m = _row_max(logits, i)
        ai = actions[i]
        if isnan(m) or logits[i, ai] == -INFINITY:
            return i
        lse = 0  # the row's exponentials go to dlogits first: one exp per element
        for a in range(A):
            e = exp(logits[i, a] - m)
            dlogits[i, a] = e
            lse += e
        adv = advantages[i]
        scale = adv / N
        e = scale / lse
        lse = log(lse)
        total -= ((logits[i, ai] - m) - lse) * adv
        for a in range(A):
            dlogits[i, a] = dlogits[i, a] * e
        dlogits[i, ai] = dlogits[i, ai] - scale
    loss[0] = total / N if N > 0 else 0
    return -1


# ---- registry kernels (Python-callable; same names as fastpg.reference) ----
include "_policy_api.pxi"
