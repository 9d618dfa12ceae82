# The replay kernels' C declarations, which are also their cimport API:
# ``from fastpg._cy.replay cimport tree_sample_c``.
#
# This file augments the one source, fastpg/_kernels/replay.py (see its
# docstring); the record kernels are declared in replay_io.pxd and re-exported
# here. Layouts and semantics: fastpg.reference.replay. The caller validates
# and passes the scratch: nodes int64 (len(indices),) for tree_update_c,
# mass float64 (len(u),) for tree_sample_c. All run without the GIL and
# return -1.
cimport cython
from cython cimport floating
from libc.math cimport INFINITY as INF, pow
from libc.stdint cimport int64_t, uint8_t

from fastpg._cy.replay_io cimport (FASTPG_PREFETCH, gather_rows_c, ring_write_c,
                                   uniform_sample_c)

@cython.locals(first=Py_ssize_t, B=Py_ssize_t, i=Py_ssize_t, j=Py_ssize_t, k=Py_ssize_t,
               n=Py_ssize_t, level=Py_ssize_t, p=double, a=double, m=double, v=double)
cdef Py_ssize_t tree_update_c(double[:, ::1] tree, Py_ssize_t depth,
                              const int64_t[::1] indices, const double[::1] priorities,
                              int64_t[::1] nodes) noexcept nogil

@cython.locals(first=Py_ssize_t, B=Py_ssize_t, i=Py_ssize_t, j=Py_ssize_t, k=Py_ssize_t,
               level=Py_ssize_t, pick=Py_ssize_t, last=Py_ssize_t,
               total=double, s=double, m=double)
cdef Py_ssize_t tree_sample_c(const double[:, ::1] tree, Py_ssize_t depth,
                              const double[::1] u, int64_t[::1] out,
                              double[::1] mass) noexcept nogil

@cython.locals(first=Py_ssize_t, i=Py_ssize_t, pmin=double)
cdef Py_ssize_t importance_weights_c(const double[:, ::1] tree, Py_ssize_t depth,
                                     const int64_t[::1] indices, double beta,
                                     floating[::1] out) noexcept nogil

@cython.locals(C=Py_ssize_t, rows=Py_ssize_t, i=Py_ssize_t, s=Py_ssize_t, left=Py_ssize_t,
               k=Py_ssize_t, G=double, g=double)
cdef Py_ssize_t nstep_gather_c(const floating[:] rewards, const uint8_t[:] terminated,
                               const uint8_t[:] cut, const int64_t[::1] indices,
                               Py_ssize_t stride, Py_ssize_t newest_row, Py_ssize_t n,
                               double gamma, floating[::1] out_return,
                               floating[::1] out_discount, int64_t[::1] out_boot) noexcept nogil

# the registry kernels (Python-callable, the GIL released inside)
@cython.locals(nodes=int64_t[::1])
cpdef Py_ssize_t tree_update(double[:, ::1] tree, Py_ssize_t depth, const int64_t[::1] indices,
                             const double[::1] priorities)
@cython.locals(mass=double[::1])
cpdef Py_ssize_t tree_sample(const double[:, ::1] tree, Py_ssize_t depth, const double[::1] u,
                             int64_t[::1] out)
cpdef Py_ssize_t importance_weights(const double[:, ::1] tree, Py_ssize_t depth,
                                    const int64_t[::1] indices, double beta, floating[::1] out)
cpdef Py_ssize_t nstep_gather(const floating[:] rewards, const uint8_t[:] terminated,
                              const uint8_t[:] cut, const int64_t[::1] indices, Py_ssize_t stride,
                              Py_ssize_t newest_row, Py_ssize_t n, double gamma,
                              floating[::1] out_return, floating[::1] out_discount,
                              int64_t[::1] out_boot)
