# The softmax policy kernels' C declarations, which are also their cimport
# API: ``from fastpg._cy.policy cimport softmax_c``.
#
# This file augments the one source, fastpg/_kernels/policy.py (see its
# docstring); the linear policies' kernels are declared in policy_linear.pxd
# and re-exported here. Arguments follow fastpg.reference.policy: C-contiguous
# logits/probs/v (N, A), actions int64 (N,) already in [0, A), u float64
# (N,), advantages (N,), outputs of the input's float dtype (loss (1,)). The
# caller validates. All run without the GIL and return -1 or the index of
# the first invalid row.
cimport cython
from cython cimport floating
from libc.math cimport INFINITY as INF, NAN, exp, log
from libc.stdint cimport int64_t

from fastpg._cy.policy_linear cimport (action_feature_grad_c, compatible_features_c,
                                       linear_policy_grad_c, linear_policy_probs_c)

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, m=double, inv=double)
cdef Py_ssize_t softmax_c(const floating[:, ::1] logits, floating[:, ::1] out) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, m=double, lse=double)
cdef Py_ssize_t log_softmax_c(const floating[:, ::1] logits, floating[:, ::1] out) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, b=Py_ssize_t, pa=double)
cdef Py_ssize_t softmax_jacobian_c(const floating[:, ::1] probs,
                                   floating[:, :, ::1] out) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, dot=double)
cdef Py_ssize_t softmax_jvp_c(const floating[:, ::1] probs, const floating[:, ::1] v,
                              floating[:, ::1] out) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, ai=int64_t, m=double, inv=double)
cdef Py_ssize_t log_prob_grad_c(const floating[:, ::1] logits, const int64_t[::1] actions,
                                floating[:, ::1] out) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, pick=Py_ssize_t, last=Py_ssize_t, m=double,
               thresh=double, acc=double, ea=double, tot=double)
cdef Py_ssize_t sample_categorical_c(const floating[:, ::1] logits, const double[::1] u,
                                     int64_t[::1] out, double[::1] e) noexcept nogil

@cython.locals(i=Py_ssize_t, a=Py_ssize_t, m=double, tot=double, h=double, lp=double, p=double)
cdef Py_ssize_t entropy_c(const floating[:, ::1] logits, floating[::1] out) noexcept nogil

@cython.locals(N=Py_ssize_t, i=Py_ssize_t, a=Py_ssize_t, ai=int64_t, m=double, tot=double,
               adv=double, scale=double, f=double, total=double)
cdef Py_ssize_t policy_gradient_loss_c(const floating[:, ::1] logits, const int64_t[::1] actions,
                                       const floating[::1] advantages, floating[:, ::1] dlogits,
                                       floating[::1] loss) noexcept nogil

# the registry kernels (Python-callable, the GIL released inside)
cpdef Py_ssize_t softmax(const floating[:, ::1] logits, floating[:, ::1] out)
cpdef Py_ssize_t log_softmax(const floating[:, ::1] logits, floating[:, ::1] out)
cpdef Py_ssize_t softmax_jacobian(const floating[:, ::1] probs, floating[:, :, ::1] out)
cpdef Py_ssize_t softmax_jvp(const floating[:, ::1] probs, const floating[:, ::1] v,
                             floating[:, ::1] out)
cpdef Py_ssize_t log_prob_grad(const floating[:, ::1] logits, const int64_t[::1] actions,
                               floating[:, ::1] out)
@cython.locals(z=double[::1])
cpdef Py_ssize_t linear_policy_probs(const floating[:, ::1] X, const floating[:, ::1] W,
                                     floating[:, ::1] out)
cpdef Py_ssize_t linear_policy_grad(const floating[:, ::1] X, const int64_t[::1] actions,
                                    const floating[::1] weights, const floating[:, ::1] W,
                                    floating[:, ::1] out)
@cython.locals(n=Py_ssize_t)
cpdef Py_ssize_t linear_policy_grad_parallel(const floating[:, ::1] X, const int64_t[::1] actions,
                                             const floating[::1] weights, const floating[:, ::1] W,
                                             floating[:, ::1] out)
@cython.locals(acc=double[:, :, ::1], z=double[:, ::1], bads=int64_t[::1])
cdef Py_ssize_t _lpg(const floating[:, ::1] X, const int64_t[::1] actions,
                     const floating[::1] weights, const floating[:, ::1] W, floating[:, ::1] out,
                     Py_ssize_t nchunk)
@cython.locals(p=double[::1], mean=double[::1])
cpdef Py_ssize_t compatible_features(const floating[:, :, ::1] phi, const floating[::1] theta,
                                     floating[:, :, ::1] out)
@cython.locals(p=double[::1], acc=double[::1])
cpdef Py_ssize_t action_feature_grad(const floating[:, :, ::1] phi, const int64_t[::1] actions,
                                     const floating[::1] weights, const floating[::1] theta,
                                     floating[::1] out)
@cython.locals(e=double[::1])
cpdef Py_ssize_t sample_categorical(const floating[:, ::1] logits, const double[::1] u,
                                    int64_t[::1] out)
cpdef Py_ssize_t entropy(const floating[:, ::1] logits, floating[::1] out)
cpdef Py_ssize_t policy_gradient_loss(const floating[:, ::1] logits, const int64_t[::1] actions,
                                      const floating[::1] advantages, floating[:, ::1] dlogits,
                                      floating[::1] loss)
