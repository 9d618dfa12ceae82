# The off-policy return kernels' C declarations, which are also their cimport
# API: ``from fastpg._cy.offpolicy cimport vtrace_c``.
#
# This file augments the one source, fastpg/_kernels/offpolicy.py: Cython
# compiles that file as fastpg._cy.offpolicy with these signatures and local
# types. Arguments follow fastpg.reference.offpolicy: C-contiguous (T, B)
# arrays of one float dtype; next_values (T, B) or, for vtrace, (1, B);
# gamma/lam (T, B) or (1, B); flags uint8 (T, B) or (0, B); scratch float64,
# C-contiguous, B at least 1: vtrace's acc (1 + CH, B), retrace's ratio
# (CH, B), CH >= 1 the steps per block of ratios (the registry kernels take
# ``ratio_steps(B)``; CH = 1 is the least memory). The caller validates. nogil.
cimport cython
from cython cimport floating
from fastpg._cy.fmath cimport fpg_exp


cdef inline Py_ssize_t row_index(Py_ssize_t t) noexcept nogil:
    """t (numba's twin hides it from LLVM's loop analysis: fastpg/_numba/_rows.py)"""
    return t


cdef inline void _exp_rows(const floating[:, ::1] x, Py_ssize_t s, Py_ssize_t e,
                           double[:, ::1] out, Py_ssize_t r0) noexcept nogil:
    """out[r0 + i, b] = exp(x[s + i, b]) for s <= s + i < e, as one flat loop
    over both stretches of memory (the one source's _exp_rows, which numba
    compiles, says the same with reshapes)"""
    cdef Py_ssize_t i, n = (e - s) * x.shape[1]
    cdef const floating* src
    cdef double* dst
    if n <= 0:
        return
    src = &x[s, 0]
    dst = &out[r0, 0]
    for i in range(n):
        dst[i] = fpg_exp(1.0 * src[i])


@cython.locals(T=Py_ssize_t, B=Py_ssize_t, t=Py_ssize_t, t_=Py_ssize_t, b=Py_ssize_t,
               CH=Py_ssize_t, e=Py_ssize_t, s=Py_ssize_t, j=Py_ssize_t,
               gs=Py_ssize_t, ls=Py_ssize_t, tes=Py_ssize_t, trs=Py_ssize_t, has_te=bint,
               has_tr=bint, full=bint, te=bint, done=bint, last=bint, from_values=bint,
               tn=Py_ssize_t, nr=Py_ssize_t, ratio=double, g=double, nv_v=double,
               nv_n=double, nv=double, vs_n=double, v=double, td0=double, gnv=double, gvs=double,
               td1=double, q1=double, td=double,
               q=double, a0=double, k=double, a1=double, a=double, p=double)
cdef Py_ssize_t vtrace_c(const floating[:, ::1] rewards, const floating[:, ::1] values,
                         const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
                         const floating[:, ::1] gamma, const floating[:, ::1] lam,
                         double rho_clip, double c_clip, double pg_rho_clip,
                         const unsigned char[:, ::1] terminated,
                         const unsigned char[:, ::1] truncated, floating[:, ::1] vs_out,
                         floating[:, ::1] pg_out, double[:, ::1] acc) noexcept nogil

@cython.locals(T=Py_ssize_t, B=Py_ssize_t, t=Py_ssize_t, t_=Py_ssize_t, b=Py_ssize_t,
               gs=Py_ssize_t, ls=Py_ssize_t, tes=Py_ssize_t, trs=Py_ssize_t, has_te=bint,
               CH=Py_ssize_t, e=Py_ssize_t, s=Py_ssize_t, j=Py_ssize_t,
               has_tr=bint, te=bint, y=double, boot=double, c=double)
cdef Py_ssize_t retrace_c(const floating[:, ::1] rewards, const floating[:, ::1] q_values,
                          const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
                          const floating[:, ::1] gamma, const floating[:, ::1] lam,
                          double c_clip, const unsigned char[:, ::1] terminated,
                          const unsigned char[:, ::1] truncated,
                          floating[:, ::1] out, double[:, ::1] ratio) noexcept nogil

# the registry kernels (Python-callable, the GIL released inside)
@cython.locals(acc=double[:, ::1])
cpdef vtrace(const floating[:, ::1] rewards, const floating[:, ::1] values,
             const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
             const floating[:, ::1] gamma, const floating[:, ::1] lam, double rho_clip,
             double c_clip, double pg_rho_clip, const unsigned char[:, ::1] terminated,
             const unsigned char[:, ::1] truncated, floating[:, ::1] vs_out,
             floating[:, ::1] pg_out)

@cython.locals(ratio=double[:, ::1])
cpdef retrace(const floating[:, ::1] rewards, const floating[:, ::1] q_values,
              const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
              const floating[:, ::1] gamma, const floating[:, ::1] lam, double c_clip,
              const unsigned char[:, ::1] terminated, const unsigned char[:, ::1] truncated,
              floating[:, ::1] out)
