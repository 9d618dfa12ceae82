# cimport-able softmax policy kernels: ``from fastpg._cy.policy cimport linear_policy_grad_c``.
#
# Arguments follow fastpg.reference.policy: C-contiguous arrays, logits/probs
# (N, A), X (N, d), W (d, A), phi (N, A, d), theta (d,), actions int64 (N,)
# already in [0, A), weights/advantages (N,), u float64 (N,). The caller
# validates shapes. All run without the GIL and return -1, the index of the
# first invalid row (see the reference), or -2 when out of memory.
from cython cimport floating
from libc.stdint cimport int64_t

cdef Py_ssize_t softmax_c(const floating[:, ::1] logits, floating[:, ::1] out) noexcept nogil
cdef Py_ssize_t log_softmax_c(const floating[:, ::1] logits, floating[:, ::1] out) noexcept nogil
cdef Py_ssize_t softmax_jacobian_c(const floating[:, ::1] probs,
                                   floating[:, :, ::1] out) noexcept nogil
cdef Py_ssize_t softmax_jvp_c(const floating[:, ::1] probs, const floating[:, ::1] v,
                              floating[:, ::1] out) noexcept nogil
cdef Py_ssize_t log_prob_grad_c(const floating[:, ::1] logits, const int64_t[::1] actions,
                                floating[:, ::1] out) noexcept nogil
cdef Py_ssize_t linear_policy_probs_c(const floating[:, ::1] X, const floating[:, ::1] W,
                                      floating[:, ::1] out) noexcept nogil
cdef Py_ssize_t linear_policy_grad_c(const floating[:, ::1] X, const int64_t[::1] actions,
                                     const floating[::1] weights, const floating[:, ::1] W,
                                     floating[:, ::1] out, bint parallel) noexcept nogil
cdef Py_ssize_t compatible_features_c(const floating[:, :, ::1] phi, const floating[::1] theta,
                                      floating[:, :, ::1] out) noexcept nogil
cdef Py_ssize_t action_feature_grad_c(const floating[:, :, ::1] phi, const int64_t[::1] actions,
                                      const floating[::1] weights, const floating[::1] theta,
                                      floating[::1] out) noexcept nogil
cdef Py_ssize_t sample_categorical_c(const floating[:, ::1] logits, const double[::1] u,
                                     int64_t[::1] out) noexcept nogil
cdef Py_ssize_t entropy_c(const floating[:, ::1] logits, floating[::1] out) noexcept nogil
cdef Py_ssize_t policy_gradient_loss_c(const floating[:, ::1] logits, const int64_t[::1] actions,
                                       const floating[::1] advantages, floating[:, ::1] dlogits,
                                       floating[::1] loss) noexcept nogil
