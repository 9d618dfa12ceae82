# cimport-able replay kernels: ``from fastpg._cy.replay cimport tree_sample_c``.
# Sum-tree layout and semantics: fastpg.reference.replay. The caller validates. nogil.
from cython cimport floating
from libc.stdint cimport int64_t

cdef Py_ssize_t tree_update_c(double[::1] sum_tree, double[::1] min_tree,
                              const int64_t[::1] indices,
                              const double[::1] priorities) noexcept nogil
cdef Py_ssize_t tree_sample_c(const double[::1] sum_tree, const double[::1] u,
                              int64_t[::1] out) noexcept nogil
cdef Py_ssize_t importance_weights_c(const double[::1] sum_tree, const double[::1] min_tree,
                                     const int64_t[::1] indices, double beta,
                                     floating[::1] out) noexcept nogil
