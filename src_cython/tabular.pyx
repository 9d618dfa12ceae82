# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython tabular kernels (semantics and argument layout: fastpg.reference.tabular).

Sequential updates in place (transition i sees the table after i - 1); the
public API has checked every index, so the kernels cannot fail half-way.
The ``*_c`` functions declared in tabular.pxd are the cimport-able API.
"""
from cython cimport floating
from libc.math cimport INFINITY, fabs
from libc.stdint cimport int64_t
from cython.view cimport array as cvarray


cdef inline floating _row_max(floating[:, ::1] Q, int64_t s) noexcept nogil:
    cdef Py_ssize_t b
    cdef floating m = Q[s, 0]
    for b in range(1, Q.shape[1]):
        if Q[s, b] > m:
            m = Q[s, b]
    return m


cdef Py_ssize_t q_learning_c(floating[:, ::1] Q, const int64_t[::1] states,
                             const int64_t[::1] actions, const floating[::1] rewards,
                             const int64_t[::1] next_states, const unsigned char[::1] terminated,
                             const floating[::1] gamma, const floating[::1] alpha,
                             floating[::1] td_out) noexcept nogil:
    cdef Py_ssize_t i, gs = gamma.shape[0] > 1, als = alpha.shape[0] > 1
    cdef int64_t s, a
    cdef floating target, delta
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        target = rewards[i]
        if terminated[i] == 0:
            target = target + gamma[i * gs] * _row_max(Q, next_states[i])
        delta = target - Q[s, a]
        Q[s, a] = Q[s, a] + alpha[i * als] * delta
        td_out[i] = delta
    return -1


cdef Py_ssize_t sarsa_c(floating[:, ::1] Q, const int64_t[::1] states,
                        const int64_t[::1] actions, const floating[::1] rewards,
                        const int64_t[::1] next_states, const int64_t[::1] next_actions,
                        const unsigned char[::1] terminated, const floating[::1] gamma,
                        const floating[::1] alpha, floating[::1] td_out) noexcept nogil:
    cdef Py_ssize_t i, gs = gamma.shape[0] > 1, als = alpha.shape[0] > 1
    cdef int64_t s, a
    cdef floating target, delta
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        target = rewards[i]
        if terminated[i] == 0:
            target = target + gamma[i * gs] * Q[next_states[i], next_actions[i]]
        delta = target - Q[s, a]
        Q[s, a] = Q[s, a] + alpha[i * als] * delta
        td_out[i] = delta
    return -1


cdef Py_ssize_t expected_sarsa_c(floating[:, ::1] Q, const int64_t[::1] states,
                                 const int64_t[::1] actions, const floating[::1] rewards,
                                 const int64_t[::1] next_states,
                                 const unsigned char[::1] terminated, const floating[::1] gamma,
                                 const floating[::1] alpha, const floating[::1] epsilon,
                                 floating[::1] td_out) noexcept nogil:
    cdef Py_ssize_t i, b, n, A = Q.shape[1]
    cdef Py_ssize_t gs = gamma.shape[0] > 1, als = alpha.shape[0] > 1, es = epsilon.shape[0] > 1
    cdef int64_t s, a, s2
    cdef floating target, delta, q, m, eps
    cdef double tot, ev
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        target = rewards[i]
        if terminated[i] == 0:
            s2 = next_states[i]
            n = 0
            tot = 0
            m = -INFINITY
            for b in range(A):
                q = Q[s2, b]
                if q > -INFINITY:
                    n += 1
                    tot += q
                    if q > m:
                        m = q
            if n == 0:
                ev = -INFINITY
            else:
                eps = epsilon[i * es]
                ev = (eps / n) * tot + (1 - eps) * m
            target = target + gamma[i * gs] * ev
        delta = target - Q[s, a]
        Q[s, a] = Q[s, a] + alpha[i * als] * delta
        td_out[i] = delta
    return -1


cdef Py_ssize_t double_q_learning_c(floating[:, ::1] Q1, floating[:, ::1] Q2,
                                    const int64_t[::1] states, const int64_t[::1] actions,
                                    const floating[::1] rewards, const int64_t[::1] next_states,
                                    const unsigned char[::1] terminated,
                                    const floating[::1] gamma, const floating[::1] alpha,
                                    const unsigned char[::1] which,
                                    floating[::1] td_out) noexcept nogil:
    cdef Py_ssize_t i, b, best, A = Q1.shape[1]
    cdef Py_ssize_t gs = gamma.shape[0] > 1, als = alpha.shape[0] > 1
    cdef int64_t s, a, s2
    cdef floating target, delta
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        s2 = next_states[i]
        target = rewards[i]
        if which[i] == 0:
            if terminated[i] == 0:
                best = 0
                for b in range(1, A):
                    if Q1[s2, b] > Q1[s2, best]:
                        best = b
                target = target + gamma[i * gs] * Q2[s2, best]
            delta = target - Q1[s, a]
            Q1[s, a] = Q1[s, a] + alpha[i * als] * delta
        else:
            if terminated[i] == 0:
                best = 0
                for b in range(1, A):
                    if Q2[s2, b] > Q2[s2, best]:
                        best = b
                target = target + gamma[i * gs] * Q1[s2, best]
            delta = target - Q2[s, a]
            Q2[s, a] = Q2[s, a] + alpha[i * als] * delta
        td_out[i] = delta
    return -1


cdef Py_ssize_t td0_c(floating[::1] V, const int64_t[::1] states, const floating[::1] rewards,
                      const int64_t[::1] next_states, const unsigned char[::1] terminated,
                      const floating[::1] gamma, const floating[::1] alpha,
                      floating[::1] td_out) noexcept nogil:
    cdef Py_ssize_t i, gs = gamma.shape[0] > 1, als = alpha.shape[0] > 1
    cdef int64_t s
    cdef floating target, delta
    for i in range(states.shape[0]):
        s = states[i]
        target = rewards[i]
        if terminated[i] == 0:
            target = target + gamma[i * gs] * V[next_states[i]]
        delta = target - V[s]
        V[s] = V[s] + alpha[i * als] * delta
        td_out[i] = delta
    return -1


cdef Py_ssize_t epsilon_greedy_c(const floating[:, ::1] Q, const int64_t[::1] states,
                                 const floating[::1] epsilon, const double[::1] u_explore,
                                 const double[::1] u_pick, int64_t[::1] out) noexcept nogil:
    cdef Py_ssize_t i, b, n, k, A = Q.shape[1], es = epsilon.shape[0] > 1
    cdef int64_t s
    cdef bint explore
    cdef floating q, m
    for i in range(states.shape[0]):
        s = states[i]
        explore = u_explore[i] < epsilon[i * es]
        m = -INFINITY
        n = 0
        for b in range(A):
            q = Q[s, b]
            if q > -INFINITY:
                if explore:
                    n += 1
                elif q > m:
                    m = q
                    n = 1
                elif q == m:
                    n += 1
        k = <Py_ssize_t>(u_pick[i] * n)
        if k > n - 1:
            k = n - 1
        for b in range(A):  # the k-th candidate in action order
            q = Q[s, b]
            if q > -INFINITY and (explore or q == m):
                if k == 0:
                    out[i] = b
                    break
                k -= 1
    return -1


cdef inline double _expect(const double[:, :, ::1] P, const int64_t[:, :, ::1] idx,
                           bint sparse, const double[::1] V, Py_ssize_t s,
                           Py_ssize_t a) noexcept nogil:
    cdef double acc = 0
    cdef Py_ssize_t j
    if sparse:
        for j in range(P.shape[2]):
            acc += P[s, a, j] * V[idx[s, a, j]]
    else:
        for j in range(P.shape[2]):
            acc += P[s, a, j] * V[j]
    return acc


cdef Py_ssize_t value_iteration_c(const double[:, :, ::1] P, const int64_t[:, :, ::1] idx,
                                  const double[:, ::1] r_sa, double gamma, double tol,
                                  Py_ssize_t max_iter, const unsigned char[:, ::1] mask,
                                  double[::1] V, double[::1] V_new, double[:, ::1] Q_out,
                                  int64_t[::1] policy_out) noexcept nogil:
    """Dense P (S, A, S) with idx (0, 0, 0), or sparse P/idx (S, A, K); r_sa (S, A);
    V and V_new: (S,) output and scratch."""
    cdef Py_ssize_t S = mask.shape[0], A = mask.shape[1], s, a, it = 0, pol
    cdef bint sparse = idx.shape[0] == S and idx.shape[2] > 0
    cdef double best, q, d, diff
    for s in range(S):
        V[s] = 0
    while True:
        diff = 0
        for s in range(S):
            best = -INFINITY
            for a in range(A):
                if mask[s, a] != 0:
                    q = r_sa[s, a] + gamma * _expect(P, idx, sparse, V, s, a)
                    if q > best:
                        best = q
            if best == -INFINITY:
                best = 0
            V_new[s] = best
            d = fabs(best - V[s])
            if d > diff:
                diff = d
        for s in range(S):
            V[s] = V_new[s]
        it += 1
        if diff <= tol or it >= max_iter:
            break
    for s in range(S):
        pol = -1
        best = -INFINITY
        for a in range(A):
            if mask[s, a] != 0:
                q = r_sa[s, a] + gamma * _expect(P, idx, sparse, V, s, a)
                Q_out[s, a] = q
                if pol < 0 or q > best:
                    best = q
                    pol = a
            else:
                Q_out[s, a] = -INFINITY
        policy_out[s] = pol
    return it


cdef inline Py_ssize_t _pick(const double[:, ::1] Q, const unsigned char[:, ::1] mask,
                             Py_ssize_t s, bint explore, double u) noexcept nogil:
    """The epsilon_greedy rule: the floor(u · n)-th candidate in action order."""
    cdef Py_ssize_t A = Q.shape[1], b, n = 0, k
    cdef double m = -INFINITY, q
    for b in range(A):
        q = Q[s, b]
        if mask[s, b] != 0 and q > -INFINITY:
            if explore:
                n += 1
            elif q > m:
                m = q
                n = 1
            elif q == m:
                n += 1
    k = <Py_ssize_t>(u * n)
    if k > n - 1:
        k = n - 1
    for b in range(A):
        q = Q[s, b]
        if mask[s, b] != 0 and q > -INFINITY and (explore or q == m):
            if k == 0:
                return b
            k -= 1
    return -1


cdef Py_ssize_t q_learning_rollout_c(double[:, ::1] Q, const double[:, :, ::1] cum_P,
                                     const double[:, :, ::1] R, const unsigned char[:, ::1] mask,
                                     const unsigned char[::1] terminal,
                                     const double[::1] start_cum, double epsilon, double alpha0,
                                     double alpha_decay, double gamma, Py_ssize_t k0,
                                     Py_ssize_t s0, const double[:, ::1] u,
                                     int64_t[:, ::1] visits) noexcept nogil:
    """Fused TabularMDP simulation + ε-greedy + Q-learning (float64 tables)."""
    cdef Py_ssize_t S = Q.shape[0], A = Q.shape[1], i, a, s = s0, s2, t, b
    cdef double x, target, m, alpha
    cdef bint ended
    for i in range(u.shape[0]):
        a = _pick(Q, mask, s, u[i, 0] < epsilon, u[i, 1])
        ended = a < 0  # no possible action: the episode ends, nothing is written
        s2 = s
        if not ended:
            x = u[i, 2] * cum_P[s, a, S - 1]
            s2 = S - 1
            for t in range(S):
                if x < cum_P[s, a, t]:
                    s2 = t
                    break
            target = R[s, a, s2]
            if terminal[s2] == 0:
                m = -INFINITY
                for b in range(A):
                    if mask[s2, b] != 0 and Q[s2, b] > m:
                        m = Q[s2, b]
                target = target + gamma * m
            alpha = alpha0 / (1.0 + (k0 + i) * alpha_decay)
            Q[s, a] = Q[s, a] + alpha * (target - Q[s, a])
            visits[s, a] += 1
            ended = terminal[s2] != 0
        if ended:
            x = u[i, 3] * start_cum[S - 1]
            s2 = S - 1
            for t in range(S):
                if x < start_cum[t]:
                    s2 = t
                    break
        s = s2
    return s


# ---- registry kernels (Python-callable; same names as fastpg.reference) ----
include "_tabular_api.pxi"


def value_iteration(const double[:, :, ::1] P, const int64_t[:, :, ::1] idx,
                    const double[:, ::1] r_sa, double gamma, double tol, Py_ssize_t max_iter,
                    const unsigned char[:, ::1] mask, double[::1] V_out, double[:, ::1] Q_out,
                    int64_t[::1] policy_out):
    cdef double[::1] V_new = cvarray(shape=(V_out.shape[0] + 1,), itemsize=sizeof(double),
                                     format="d")
    cdef Py_ssize_t it
    with nogil:
        it = value_iteration_c(P, idx, r_sa, gamma, tol, max_iter, mask, V_out, V_new, Q_out,
                               policy_out)
    return it
