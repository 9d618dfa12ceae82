# The tabular kernels' C declarations, which are also their cimport API:
# ``from fastpg._cy.tabular cimport q_learning_c``.
#
# This file augments the one source, fastpg/_kernels/tabular.py (see its
# docstring): Cython compiles that file as fastpg._cy.tabular with these
# signatures and local types. Arguments follow fastpg.reference.tabular:
# C-contiguous arrays, tables (S, A) updated in place, indices int64 (N,)
# already in range, flags uint8 (N,), gamma/alpha/epsilon (N,) or (1,). The
# caller validates. The *_c functions run without the GIL.
cimport cython
from cython cimport floating
from libc.math cimport INFINITY as INF
from libc.stdint cimport int64_t

@cython.locals(i=Py_ssize_t, gs=Py_ssize_t, als=Py_ssize_t, target=floating)
cdef Py_ssize_t q_learning_c(floating[:, ::1] Q, const int64_t[::1] states,
                             const int64_t[::1] actions, const floating[::1] rewards,
                             const int64_t[::1] next_states, const unsigned char[::1] terminated,
                             const floating[::1] gamma, const floating[::1] alpha,
                             floating[::1] td_out) noexcept nogil

@cython.locals(i=Py_ssize_t, gs=Py_ssize_t, als=Py_ssize_t, target=floating)
cdef Py_ssize_t sarsa_c(floating[:, ::1] Q, const int64_t[::1] states,
                        const int64_t[::1] actions, const floating[::1] rewards,
                        const int64_t[::1] next_states, const int64_t[::1] next_actions,
                        const unsigned char[::1] terminated, const floating[::1] gamma,
                        const floating[::1] alpha, floating[::1] td_out) noexcept nogil

# the expectation in double, as numba computes it from the same source
@cython.locals(i=Py_ssize_t, b=Py_ssize_t, n=Py_ssize_t, A=Py_ssize_t, gs=Py_ssize_t,
               als=Py_ssize_t, es=Py_ssize_t, s=int64_t, a=int64_t, s2=int64_t, q=floating,
               target=double, delta=double, m=double, eps=double, tot=double, ev=double)
cdef Py_ssize_t expected_sarsa_c(floating[:, ::1] Q, const int64_t[::1] states,
                                 const int64_t[::1] actions, const floating[::1] rewards,
                                 const int64_t[::1] next_states,
                                 const unsigned char[::1] terminated, const floating[::1] gamma,
                                 const floating[::1] alpha, const floating[::1] epsilon,
                                 floating[::1] td_out) noexcept nogil

@cython.locals(i=Py_ssize_t, gs=Py_ssize_t, als=Py_ssize_t, s2=int64_t, target=floating)
cdef Py_ssize_t double_q_learning_c(floating[:, ::1] Q1, floating[:, ::1] Q2,
                                    const int64_t[::1] states, const int64_t[::1] actions,
                                    const floating[::1] rewards, const int64_t[::1] next_states,
                                    const unsigned char[::1] terminated,
                                    const floating[::1] gamma, const floating[::1] alpha,
                                    const unsigned char[::1] which,
                                    floating[::1] td_out) noexcept nogil

@cython.locals(i=Py_ssize_t, gs=Py_ssize_t, als=Py_ssize_t, s=int64_t, target=floating,
               delta=floating)
cdef Py_ssize_t td0_c(floating[::1] V, const int64_t[::1] states, const floating[::1] rewards,
                      const int64_t[::1] next_states, const unsigned char[::1] terminated,
                      const floating[::1] gamma, const floating[::1] alpha,
                      floating[::1] td_out) noexcept nogil

@cython.locals(i=Py_ssize_t, b=Py_ssize_t, n=Py_ssize_t, k=Py_ssize_t, A=Py_ssize_t,
               es=Py_ssize_t, s=int64_t, explore=bint, q=floating, m=floating)
cdef Py_ssize_t epsilon_greedy_c(const floating[:, ::1] Q, const int64_t[::1] states,
                                 const floating[::1] epsilon, const double[::1] u_explore,
                                 const double[::1] u_pick, int64_t[::1] out) noexcept nogil

@cython.locals(S=Py_ssize_t, A=Py_ssize_t, s=Py_ssize_t, a=Py_ssize_t, it=Py_ssize_t,
               pol=Py_ssize_t, sparse=bint, best=double, q=double)
cdef Py_ssize_t value_iteration_c(const double[:, :, ::1] P, const int64_t[:, :, ::1] idx,
                                  const double[:, ::1] r_sa, double gamma, double tol,
                                  Py_ssize_t max_iter, const unsigned char[:, ::1] mask,
                                  double[::1] V, double[::1] V_new, double[:, ::1] Q_out,
                                  int64_t[::1] policy_out) noexcept nogil

@cython.locals(S=Py_ssize_t, A=Py_ssize_t, i=Py_ssize_t, a=Py_ssize_t, s=Py_ssize_t,
               s2=Py_ssize_t, t=Py_ssize_t, b=Py_ssize_t, x=double, target=double, m=double,
               alpha=double, ended=bint)
cdef Py_ssize_t q_learning_rollout_c(double[:, ::1] Q, const double[:, :, ::1] cum_P,
                                     const double[:, :, ::1] R, const unsigned char[:, ::1] mask,
                                     const unsigned char[::1] terminal,
                                     const double[::1] start_cum, double epsilon, double alpha0,
                                     double alpha_decay, double gamma, Py_ssize_t k0,
                                     Py_ssize_t s0, const double[:, ::1] u,
                                     int64_t[:, ::1] visits) noexcept nogil

# the registry kernels (Python-callable; typed memoryview parameters check
# dtype, dimensions and C order)
cpdef Py_ssize_t q_learning(floating[:, ::1] Q, const int64_t[::1] states,
                            const int64_t[::1] actions, const floating[::1] rewards,
                            const int64_t[::1] next_states,
                            const unsigned char[::1] terminated, const floating[::1] gamma,
                            const floating[::1] alpha, floating[::1] td_out)

cpdef Py_ssize_t sarsa(floating[:, ::1] Q, const int64_t[::1] states, const int64_t[::1] actions,
                       const floating[::1] rewards, const int64_t[::1] next_states,
                       const int64_t[::1] next_actions, const unsigned char[::1] terminated,
                       const floating[::1] gamma, const floating[::1] alpha, floating[::1] td_out)

cpdef Py_ssize_t expected_sarsa(floating[:, ::1] Q, const int64_t[::1] states,
                                const int64_t[::1] actions, const floating[::1] rewards,
                                const int64_t[::1] next_states,
                                const unsigned char[::1] terminated, const floating[::1] gamma,
                                const floating[::1] alpha, const floating[::1] epsilon,
                                floating[::1] td_out)

cpdef Py_ssize_t double_q_learning(floating[:, ::1] Q1, floating[:, ::1] Q2,
                                   const int64_t[::1] states,
                                   const int64_t[::1] actions, const floating[::1] rewards,
                                   const int64_t[::1] next_states,
                                   const unsigned char[::1] terminated,
                                   const floating[::1] gamma, const floating[::1] alpha,
                                   const unsigned char[::1] which, floating[::1] td_out)

cpdef Py_ssize_t td0(floating[::1] V, const int64_t[::1] states, const floating[::1] rewards,
                     const int64_t[::1] next_states, const unsigned char[::1] terminated,
                     const floating[::1] gamma, const floating[::1] alpha, floating[::1] td_out)

cpdef Py_ssize_t epsilon_greedy(const floating[:, ::1] Q, const int64_t[::1] states,
                                const floating[::1] epsilon, const double[::1] u_explore,
                                const double[::1] u_pick, int64_t[::1] out)

@cython.locals(V_new=double[::1])
cpdef Py_ssize_t value_iteration(const double[:, :, ::1] P, const int64_t[:, :, ::1] idx,
                                 const double[:, ::1] r_sa, double gamma, double tol,
                                 Py_ssize_t max_iter, const unsigned char[:, ::1] mask,
                                 double[::1] V_out, double[:, ::1] Q_out,
                                 int64_t[::1] policy_out)

cpdef Py_ssize_t q_learning_rollout(double[:, ::1] Q, const double[:, :, ::1] cum_P,
                                    const double[:, :, ::1] R, const unsigned char[:, ::1] mask,
                                    const unsigned char[::1] terminal,
                                    const double[::1] start_cum, double epsilon, double alpha0,
                                    double alpha_decay, double gamma,
                                    Py_ssize_t k0, Py_ssize_t s0, const double[:, ::1] u,
                                    int64_t[:, ::1] visits)
