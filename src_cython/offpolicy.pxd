# The off-policy return kernels' C declarations, which are also their cimport
# API: ``from fastpg._cy.offpolicy cimport vtrace_c``.
#
# This file augments the one source, fastpg/_kernels/offpolicy.py: Cython
# compiles that file as fastpg._cy.offpolicy with these signatures and local
# types. Arguments follow fastpg.reference.offpolicy: C-contiguous (T, B)
# arrays of one float dtype; next_values (T, B) or, for vtrace, (1, B);
# gamma/lam (T, B) or (1, B); flags uint8 (T, B) or (0, B); scratch float64:
# vtrace's acc (2, B), retrace's ratio (B,) (B at least 1). The caller
# validates. nogil.
cimport cython
from cython cimport floating
from fastpg._cy.fmath cimport fpg_exp


cdef inline Py_ssize_t row_index(Py_ssize_t t) noexcept nogil:
    """t (numba's twin hides it from LLVM's loop analysis: fastpg/_numba/_rows.py)"""
    return t


@cython.locals(T=Py_ssize_t, B=Py_ssize_t, t=Py_ssize_t, t_=Py_ssize_t, b=Py_ssize_t,
               gs=Py_ssize_t, ls=Py_ssize_t, tes=Py_ssize_t, trs=Py_ssize_t, has_te=bint,
               has_tr=bint, full=bint, te=bint, done=bint, last=bint, from_values=bint,
               tn=Py_ssize_t, nr=Py_ssize_t, ratio=double, g=double, nv_v=double,
               nv_n=double, nv=double, vs_n=double, v=double, td0=double, gnv=double, gvs=double, td1=double, q1=double, td=double,
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
               has_tr=bint, te=bint, y=double, boot=double, c=double)
cdef Py_ssize_t retrace_c(const floating[:, ::1] rewards, const floating[:, ::1] q_values,
                          const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
                          const floating[:, ::1] gamma, const floating[:, ::1] lam,
                          double c_clip, const unsigned char[:, ::1] terminated,
                          const unsigned char[:, ::1] truncated,
                          floating[:, ::1] out, double[::1] ratio) noexcept nogil

# the registry kernels (Python-callable, the GIL released inside)
@cython.locals(acc=double[:, ::1])
cpdef vtrace(const floating[:, ::1] rewards, const floating[:, ::1] values,
             const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
             const floating[:, ::1] gamma, const floating[:, ::1] lam, double rho_clip,
             double c_clip, double pg_rho_clip, const unsigned char[:, ::1] terminated,
             const unsigned char[:, ::1] truncated, floating[:, ::1] vs_out,
             floating[:, ::1] pg_out)

@cython.locals(ratio=double[::1])
cpdef retrace(const floating[:, ::1] rewards, const floating[:, ::1] q_values,
              const floating[:, ::1] next_values, const floating[:, ::1] log_rhos,
              const floating[:, ::1] gamma, const floating[:, ::1] lam, double c_clip,
              const unsigned char[:, ::1] terminated, const unsigned char[:, ::1] truncated,
              floating[:, ::1] out)
