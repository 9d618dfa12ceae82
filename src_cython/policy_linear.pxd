# The linear softmax policies' C declarations (fastpg/_kernels/policy_linear.py,
# compiled as fastpg._cy.policy_linear); fastpg._cy.policy re-exports the
# *_c functions, so ``from fastpg._cy.policy cimport linear_policy_grad_c``.
#
# Arguments follow fastpg.reference.policy: C-contiguous X (N, d), W (d, A),
# phi (N, A, d), theta (d,), actions int64 (N,) already in [0, A),
# weights (N,). Scratch (float64, C-contiguous): z (A,) for
# linear_policy_probs_c; acc (C, d, A), z (C, A) and bads int64 (C,) for
# linear_policy_grad_c over C row chunks (C > 1: OpenMP threads); p (A,) and
# mean / acc (d,) for the action-feature kernels. The caller validates.
# All run without the GIL and return -1 or the index of the first invalid row.
cimport cython
from cython cimport floating
from libc.math cimport INFINITY as INF, exp, expf
from fastpg._cy.fmath cimport fpg_exp
from libc.stdint cimport int64_t

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, am=Py_ssize_t, m=double, tot=double)
cdef Py_ssize_t linear_policy_probs_c(const floating[:, ::1] X, const floating[:, ::1] W,
                                      floating[:, ::1] out, double[::1] z) noexcept nogil

@cython.locals(N=Py_ssize_t, nchunk=Py_ssize_t, c=Py_ssize_t, k=Py_ssize_t, a=Py_ssize_t,
               s=double)
cdef Py_ssize_t linear_policy_grad_c(const floating[:, ::1] X, const int64_t[::1] actions,
                                     const floating[::1] weights, const floating[:, ::1] W,
                                     floating[:, ::1] out, double[:, :, ::1] acc,
                                     double[:, ::1] z, int64_t[::1] bads) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, k=Py_ssize_t)
cdef Py_ssize_t compatible_features_c(const floating[:, :, ::1] phi, const floating[::1] theta,
                                      floating[:, :, ::1] out, double[::1] p,
                                      double[::1] mean) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, k=Py_ssize_t, ai=int64_t, w=double, mk=double)
cdef Py_ssize_t action_feature_grad_c(const floating[:, :, ::1] phi, const int64_t[::1] actions,
                                      const floating[::1] weights, const floating[::1] theta,
                                      floating[::1] out, double[::1] p,
                                      double[::1] acc) noexcept nogil
