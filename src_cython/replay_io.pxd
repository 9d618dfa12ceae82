# cimport-able record kernels of replay_io.pyx (re-exported by replay.pxd:
# ``from fastpg._cy.replay cimport gather_rows_c``). Layouts and semantics:
# fastpg.reference.replay. The caller validates. nogil.
from libc.stdint cimport int64_t, uint8_t

cdef extern from *:
    """
    #if defined(__GNUC__)
    #define FASTPG_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define FASTPG_PREFETCH(p) ((void)0)
    #endif
    """
    void FASTPG_PREFETCH(const void *p) nogil

cdef Py_ssize_t ring_write_c(uint8_t[:, :] dst, const uint8_t[:, :] src,
                             Py_ssize_t start) noexcept nogil
cdef Py_ssize_t gather_rows_c(const uint8_t[:, :] src, const int64_t[::1] indices,
                              uint8_t[:, :] out) noexcept nogil
cdef Py_ssize_t uniform_sample_c(const double[::1] u, int64_t size,
                                 int64_t[::1] out) noexcept nogil
