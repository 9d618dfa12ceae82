# The tabular environment kernel's C declarations, which are also its cimport
# API: ``from fastpg._cy.tabular_envs cimport mdp_step_c``.
#
# This file augments the one source, fastpg/_kernels/tabular_envs.py: Cython
# compiles that file as fastpg._cy.tabular_envs with these signatures and
# local types. Arguments follow fastpg.reference.tabular_envs (tables nxt
# (S, A) int64, cdf and R (S, A, S) float64, mask (S, A) and terminal (S,)
# uint8, start_cdf (S,) float64; per env state, actions, cursor, steps, obs,
# final_obs (N,) int64, bank (N, K) float64, rewards (N,) float64, reset,
# terminated, truncated (N,) uint8). The caller validates. nogil.
cimport cython
from libc.stdint cimport int64_t

@cython.locals(N=Py_ssize_t, A=Py_ssize_t, K=Py_ssize_t, i=Py_ssize_t, a=int64_t, s=int64_t,
               s2=int64_t, te=bint, tr=bint)
cdef Py_ssize_t mdp_step_c(const int64_t[:, ::1] nxt, const double[:, :, ::1] cdf,
                           const double[:, :, ::1] R, const unsigned char[:, ::1] mask,
                           const unsigned char[::1] terminal, const double[::1] start_cdf,
                           int64_t start_state, int64_t horizon, int64_t[::1] state,
                           const int64_t[::1] actions, const double[:, ::1] bank,
                           int64_t[::1] cursor, int64_t[::1] steps, unsigned char[::1] reset,
                           int64_t max_steps, bint same_step, int64_t[::1] obs,
                           double[::1] rewards, unsigned char[::1] terminated,
                           unsigned char[::1] truncated, int64_t[::1] final_obs) noexcept nogil

# the registry kernel (Python-callable, the GIL released inside)
@cython.locals(rc=Py_ssize_t)
cpdef Py_ssize_t mdp_step(const int64_t[:, ::1] nxt, const double[:, :, ::1] cdf,
                          const double[:, :, ::1] R, const unsigned char[:, ::1] mask,
                          const unsigned char[::1] terminal, const double[::1] start_cdf,
                          int64_t start_state, int64_t horizon, int64_t[::1] state,
                          const int64_t[::1] actions, const double[:, ::1] bank,
                          int64_t[::1] cursor, int64_t[::1] steps, unsigned char[::1] reset,
                          int64_t max_steps, bint same_step, int64_t[::1] obs,
                          double[::1] rewards, unsigned char[::1] terminated,
                          unsigned char[::1] truncated, int64_t[::1] final_obs)
