# The environment kernels' C declarations, which are also their cimport API:
# ``from fastpg._cy.envs cimport cartpole_step_c, cartpole_rollout_c,
# mountaincar_step_c, acrobot_step_c`` (and cartpole_step_parallel_c,
# cartpole_rollout_parallel_c).
#
# This file augments the one source, fastpg/_kernels/envs.py: Cython compiles
# that file as fastpg._cy.envs with these signatures and local types.
# Arguments follow fastpg.reference.envs (state (N, 4) and bank (N, K, 4)
# float64; actions, cursor, steps (N,) int64; reset, terminated, truncated
# (N,) uint8; obs, final_obs (N, 4) float32; rewards (N,) float64; for the
# rollout W (5, 2) and u (T, N) float64, outputs (T, N, ...)). The caller
# validates. nogil.
cimport cython
from libc.math cimport cos, exp, log, pow, sin
from libc.stdint cimport int64_t
from fastpg._cy.fmath cimport fpg_sincos

@cython.locals(N=Py_ssize_t, rc=Py_ssize_t, i=Py_ssize_t)
cdef Py_ssize_t cartpole_step_c(double[:, ::1] state, const int64_t[::1] actions,
                                const double[:, :, ::1] bank, int64_t[::1] cursor,
                                int64_t[::1] steps, unsigned char[::1] reset,
                                int64_t max_steps, bint same_step, float[:, ::1] obs,
                                double[::1] rewards, unsigned char[::1] terminated,
                                unsigned char[::1] truncated,
                                float[:, ::1] final_obs) noexcept nogil

@cython.locals(N=Py_ssize_t, rc=Py_ssize_t, i=Py_ssize_t, c=Py_ssize_t, nchunk=Py_ssize_t)
cdef Py_ssize_t cartpole_step_parallel_c(double[:, ::1] state, const int64_t[::1] actions,
                                         const double[:, :, ::1] bank, int64_t[::1] cursor,
                                         int64_t[::1] steps, unsigned char[::1] reset,
                                         int64_t max_steps, bint same_step,
                                         float[:, ::1] obs, double[::1] rewards,
                                         unsigned char[::1] terminated,
                                         unsigned char[::1] truncated, float[:, ::1] final_obs,
                                         int64_t[::1] flags) noexcept nogil

cdef Py_ssize_t cartpole_rollout_c(const double[:, ::1] W, const double[:, ::1] u,
                                   double[:, ::1] state, const double[:, :, ::1] bank,
                                   int64_t[::1] cursor, int64_t[::1] steps,
                                   unsigned char[::1] reset, int64_t max_steps,
                                   float[:, :, ::1] obs_out, int64_t[:, ::1] actions_out,
                                   double[:, ::1] rewards_out,
                                   unsigned char[:, ::1] terminated_out,
                                   unsigned char[:, ::1] truncated_out,
                                   double[:, ::1] logp_out, double[:, ::1] work) noexcept nogil

@cython.locals(T=Py_ssize_t, N=Py_ssize_t, K=Py_ssize_t, L=Py_ssize_t, i=Py_ssize_t,
               c=Py_ssize_t, nchunk=Py_ssize_t)
cdef Py_ssize_t cartpole_rollout_parallel_c(const double[:, ::1] W, const double[:, ::1] u,
                                            double[:, ::1] state,
                                            const double[:, :, ::1] bank,
                                            int64_t[::1] cursor, int64_t[::1] steps,
                                            unsigned char[::1] reset, int64_t max_steps,
                                            float[:, :, ::1] obs_out,
                                            int64_t[:, ::1] actions_out,
                                            double[:, ::1] rewards_out,
                                            unsigned char[:, ::1] terminated_out,
                                            unsigned char[:, ::1] truncated_out,
                                            double[:, ::1] logp_out, double[:, ::1] work,
                                            int64_t[::1] flags) noexcept nogil

@cython.locals(N=Py_ssize_t, rc=Py_ssize_t, i=Py_ssize_t, empty=bint, position=double,
               velocity=double)
cdef Py_ssize_t mountaincar_step_c(double[:, ::1] state, const int64_t[::1] actions,
                                   const double[:, :, ::1] bank, int64_t[::1] cursor,
                                   int64_t[::1] steps, unsigned char[::1] reset,
                                   int64_t max_steps, bint same_step, float[:, ::1] obs,
                                   double[::1] rewards, unsigned char[::1] terminated,
                                   unsigned char[::1] truncated,
                                   float[:, ::1] final_obs) noexcept nogil

@cython.locals(N=Py_ssize_t, rc=Py_ssize_t, i=Py_ssize_t, j=Py_ssize_t, k=Py_ssize_t,
               empty=bint, te=bint, two=double, pi=double, dt=double, dt2=double, a=double, h=double,
               x=double)
cdef Py_ssize_t acrobot_step_c(double[:, ::1] state, const int64_t[::1] actions,
                               const double[:, :, ::1] bank, int64_t[::1] cursor,
                               int64_t[::1] steps, unsigned char[::1] reset,
                               int64_t max_steps, bint same_step, float[:, ::1] obs,
                               double[::1] rewards, unsigned char[::1] terminated,
                               unsigned char[::1] truncated, float[:, ::1] final_obs,
                               double[:, ::1] work) noexcept nogil

# the registry kernels (Python-callable, the GIL released inside)
@cython.locals(rc=Py_ssize_t)
cpdef Py_ssize_t cartpole_step(double[:, ::1] state, const int64_t[::1] actions,
                               const double[:, :, ::1] bank, int64_t[::1] cursor,
                               int64_t[::1] steps, unsigned char[::1] reset,
                               int64_t max_steps, bint same_step, float[:, ::1] obs,
                               double[::1] rewards, unsigned char[::1] terminated,
                               unsigned char[::1] truncated, float[:, ::1] final_obs)

@cython.locals(rc=Py_ssize_t, flags=int64_t[::1])
cpdef Py_ssize_t cartpole_step_parallel(double[:, ::1] state, const int64_t[::1] actions,
                                        const double[:, :, ::1] bank, int64_t[::1] cursor,
                                        int64_t[::1] steps, unsigned char[::1] reset,
                                        int64_t max_steps, bint same_step, float[:, ::1] obs,
                                        double[::1] rewards, unsigned char[::1] terminated,
                                        unsigned char[::1] truncated, float[:, ::1] final_obs)

@cython.locals(rc=Py_ssize_t, work=double[:, ::1])
cpdef Py_ssize_t cartpole_rollout(const double[:, ::1] W, const double[:, ::1] u,
                                  double[:, ::1] state, const double[:, :, ::1] bank,
                                  int64_t[::1] cursor, int64_t[::1] steps,
                                  unsigned char[::1] reset, int64_t max_steps,
                                  float[:, :, ::1] obs_out, int64_t[:, ::1] actions_out,
                                  double[:, ::1] rewards_out,
                                  unsigned char[:, ::1] terminated_out,
                                  unsigned char[:, ::1] truncated_out,
                                  double[:, ::1] logp_out)

@cython.locals(rc=Py_ssize_t, work=double[:, ::1], flags=int64_t[::1])
cpdef Py_ssize_t cartpole_rollout_parallel(const double[:, ::1] W, const double[:, ::1] u,
                                           double[:, ::1] state, const double[:, :, ::1] bank,
                                           int64_t[::1] cursor, int64_t[::1] steps,
                                           unsigned char[::1] reset, int64_t max_steps,
                                           float[:, :, ::1] obs_out,
                                           int64_t[:, ::1] actions_out,
                                           double[:, ::1] rewards_out,
                                           unsigned char[:, ::1] terminated_out,
                                           unsigned char[:, ::1] truncated_out,
                                           double[:, ::1] logp_out)

@cython.locals(rc=Py_ssize_t)
cpdef Py_ssize_t mountaincar_step(double[:, ::1] state, const int64_t[::1] actions,
                                  const double[:, :, ::1] bank, int64_t[::1] cursor,
                                  int64_t[::1] steps, unsigned char[::1] reset,
                                  int64_t max_steps, bint same_step, float[:, ::1] obs,
                                  double[::1] rewards, unsigned char[::1] terminated,
                                  unsigned char[::1] truncated, float[:, ::1] final_obs)

@cython.locals(rc=Py_ssize_t, work=double[:, ::1])
cpdef Py_ssize_t acrobot_step(double[:, ::1] state, const int64_t[::1] actions,
                              const double[:, :, ::1] bank, int64_t[::1] cursor,
                              int64_t[::1] steps, unsigned char[::1] reset,
                              int64_t max_steps, bint same_step, float[:, ::1] obs,
                              double[::1] rewards, unsigned char[::1] terminated,
                              unsigned char[::1] truncated, float[:, ::1] final_obs)
