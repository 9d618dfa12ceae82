# cimport-able return kernels: ``from fastpg._cy.returns cimport gae_c``.
#
# Arguments follow fastpg.reference.returns: C-contiguous (T, B) arrays,
# gamma/lam of shape (1, B) or (T, B), flags as uint8 (T, B) or (0, B) for
# "none", next_values (0, B) for "none" (discounted_returns) or (1, B) for the
# GAE shorthand. The caller validates; these functions do not check shapes.
# They run without the GIL and return 0, or -1 when out of memory.
from cython cimport floating

cdef int discounted_returns_c(const floating[:, ::1] rewards, const floating[:, ::1] gamma,
                              const unsigned char[:, ::1] terminated,
                              const unsigned char[:, ::1] truncated,
                              const floating[:, ::1] next_values,
                              floating[:, ::1] out, bint parallel) noexcept nogil

cdef int gae_c(const floating[:, ::1] rewards, const floating[:, ::1] values,
               const floating[:, ::1] next_values, const floating[:, ::1] gamma,
               const floating[:, ::1] lam, const unsigned char[:, ::1] terminated,
               const unsigned char[:, ::1] truncated, floating[:, ::1] advantages_out,
               floating[:, ::1] returns_out, bint parallel) noexcept nogil

cdef int lambda_returns_c(const floating[:, ::1] rewards, const floating[:, ::1] next_values,
                          const floating[:, ::1] gamma, const floating[:, ::1] lam,
                          const unsigned char[:, ::1] terminated,
                          const unsigned char[:, ::1] truncated,
                          floating[:, ::1] out, bint parallel) noexcept nogil

cdef int nstep_returns_c(const floating[:, ::1] rewards, const floating[:, ::1] next_values,
                         const floating[:, ::1] gamma, Py_ssize_t n,
                         const unsigned char[:, ::1] terminated,
                         const unsigned char[:, ::1] truncated,
                         floating[:, ::1] out, bint parallel) noexcept nogil
