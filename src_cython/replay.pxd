# cimport-able replay kernels: ``from fastpg._cy.replay cimport tree_sample_c``.
# Layouts and semantics: fastpg.reference.replay. The caller validates. nogil.
# tree_update_c / tree_sample_c return -2 when their O(batch) scratch cannot be allocated.
from cython cimport floating
from libc.stdint cimport int64_t, uint8_t

cdef Py_ssize_t tree_update_c(double[:, ::1] tree, Py_ssize_t depth,
                              const int64_t[::1] indices,
                              const double[::1] priorities) noexcept nogil
cdef Py_ssize_t tree_sample_c(const double[:, ::1] tree, Py_ssize_t depth,
                              const double[::1] u, int64_t[::1] out) noexcept nogil
cdef Py_ssize_t importance_weights_c(const double[:, ::1] tree, Py_ssize_t depth,
                                     const int64_t[::1] indices, double beta,
                                     floating[::1] out) noexcept nogil
cdef Py_ssize_t ring_write_c(uint8_t[:, :] dst, const uint8_t[:, :] src,
                             Py_ssize_t start) noexcept nogil
cdef Py_ssize_t gather_rows_c(const uint8_t[:, :] src, const int64_t[::1] indices,
                              uint8_t[:, :] out) noexcept nogil
cdef Py_ssize_t uniform_sample_c(const double[::1] u, int64_t size,
                                 int64_t[::1] out) noexcept nogil
cdef Py_ssize_t nstep_gather_c(const floating[:] rewards, const uint8_t[:] terminated,
                               const uint8_t[:] cut, const int64_t[::1] indices,
                               Py_ssize_t stride, Py_ssize_t newest_row, Py_ssize_t n,
                               double gamma, floating[::1] out_return,
                               floating[::1] out_discount, int64_t[::1] out_boot) noexcept nogil
