# The environment kernels' C declarations, which are also their cimport API:
# ``from fastpg._cy.envs cimport cartpole_step_c``.
#
# This file augments the one source, fastpg/_kernels/envs.py: Cython compiles
# that file as fastpg._cy.envs with these signatures and local types.
# Arguments follow fastpg.reference.envs (state (N, 4) and bank (N, K, 4)
# float64; actions, cursor, steps (N,) int64; reset, terminated, truncated
# (N,) uint8; obs, final_obs (N, 4) float32; rewards (N,) float64). The
# caller validates.
# nogil.
cimport cython
from libc.math cimport cos, sin
from libc.stdint cimport int64_t

@cython.locals(N=Py_ssize_t, i=Py_ssize_t, k=Py_ssize_t, empty=bint, total_mass=double,
               polemass_length=double, theta_threshold=double, x=double, x_dot=double,
               theta=double, theta_dot=double, force=double, costheta=double,
               sintheta=double, temp=double, thetaacc=double, xacc=double, te=bint, tr=bint)
cdef Py_ssize_t cartpole_step_c(double[:, ::1] state, const int64_t[::1] actions,
                                const double[:, :, ::1] bank, int64_t[::1] cursor,
                                int64_t[::1] steps,
                                unsigned char[::1] reset, int64_t max_steps, bint same_step,
                                float[:, ::1] obs, double[::1] rewards,
                                unsigned char[::1] terminated, unsigned char[::1] truncated,
                                float[:, ::1] final_obs) noexcept nogil

# the registry kernel (Python-callable, the GIL released inside)
@cython.locals(rc=Py_ssize_t)
cpdef Py_ssize_t cartpole_step(double[:, ::1] state, const int64_t[::1] actions,
                               const double[:, :, ::1] bank, int64_t[::1] cursor,
                               int64_t[::1] steps,
                               unsigned char[::1] reset, int64_t max_steps, bint same_step,
                               float[:, ::1] obs, double[::1] rewards,
                               unsigned char[::1] terminated, unsigned char[::1] truncated,
                               float[:, ::1] final_obs)
