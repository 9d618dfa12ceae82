"""Numba tabular kernels (semantics and argument layout: fastpg.reference.tabular).

Sequential by definition (transition i sees the table after i - 1), so one
thread; each update is a handful of loads and one store, so the loop is
bound by the table's cache traffic. Inputs are validated by the public API
(indices in range): the kernels cannot fail half-way.
"""
from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0",
           "epsilon_greedy", "value_iteration", "q_learning_rollout"]


@jit
def q_learning(Q, states, actions, rewards, next_states, terminated, gamma, alpha, td_out):
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        target = rewards[i]
        if terminated[i] == 0:
            s2 = next_states[i]  # the row max, inlined (array-taking helpers cost refcounts)
            m = Q[s2, 0]
            for b in range(1, Q.shape[1]):
                if Q[s2, b] > m:
                    m = Q[s2, b]
            target += gamma[i * gs] * m
        delta = target - Q[s, a]
        Q[s, a] += alpha[i * als] * delta
        td_out[i] = delta
    return -1


@jit
def sarsa(Q, states, actions, rewards, next_states, next_actions, terminated, gamma, alpha,
          td_out):
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        target = rewards[i]
        if terminated[i] == 0:
            target += gamma[i * gs] * Q[next_states[i], next_actions[i]]
        delta = target - Q[s, a]
        Q[s, a] += alpha[i * als] * delta
        td_out[i] = delta
    return -1


@jit
def expected_sarsa(Q, states, actions, rewards, next_states, terminated, gamma, alpha, epsilon,
                   td_out):
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    es = 1 if epsilon.shape[0] > 1 else 0
    A = Q.shape[1]
    for i in range(states.shape[0]):
        s = states[i]
        a = actions[i]
        target = rewards[i]
        if terminated[i] == 0:
            s2 = next_states[i]
            n = 0
            tot = 0.0
            m = -np.inf
            for b in range(A):
                q = Q[s2, b]
                if q > -np.inf:
                    n += 1
                    tot += q
                    if q > m:
                        m = q
            if n == 0:
                ev = -np.inf
            else:
                eps = epsilon[i * es]
                ev = (eps / n) * tot + (1 - eps) * m
            target += gamma[i * gs] * ev
        delta = target - Q[s, a]
        Q[s, a] += alpha[i * als] * delta
        td_out[i] = delta
    return -1


@jit
def double_q_learning(Q1, Q2, states, actions, rewards, next_states, terminated, gamma, alpha,
                      which, td_out):
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    A = Q1.shape[1]
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
                target += gamma[i * gs] * Q2[s2, best]
            delta = target - Q1[s, a]
            Q1[s, a] += alpha[i * als] * delta
        else:
            if terminated[i] == 0:
                best = 0
                for b in range(1, A):
                    if Q2[s2, b] > Q2[s2, best]:
                        best = b
                target += gamma[i * gs] * Q1[s2, best]
            delta = target - Q2[s, a]
            Q2[s, a] += alpha[i * als] * delta
        td_out[i] = delta
    return -1


@jit
def td0(V, states, rewards, next_states, terminated, gamma, alpha, td_out):
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    for i in range(states.shape[0]):
        s = states[i]
        target = rewards[i]
        if terminated[i] == 0:
            target += gamma[i * gs] * V[next_states[i]]
        delta = target - V[s]
        V[s] += alpha[i * als] * delta
        td_out[i] = delta
    return -1


@jit
def epsilon_greedy(Q, states, epsilon, u_explore, u_pick, out):
    es = 1 if epsilon.shape[0] > 1 else 0
    A = Q.shape[1]
    for i in range(states.shape[0]):
        s = states[i]
        explore = u_explore[i] < epsilon[i * es]
        m = -np.inf
        n = 0
        for b in range(A):
            q = Q[s, b]
            if q > -np.inf:
                if explore:
                    n += 1
                elif q > m:
                    m = q
                    n = 1
                elif q == m:
                    n += 1
        k = int(u_pick[i] * n)
        if k > n - 1:
            k = n - 1
        # the k-th candidate in action order
        for b in range(A):
            q = Q[s, b]
            if q > -np.inf and (explore or q == m):
                if k == 0:
                    out[i] = b
                    break
                k -= 1
    return -1


@jit
def value_iteration(P, idx, r_sa, gamma, tol, max_iter, mask, V_out, Q_out, policy_out):
    S, A = mask.shape
    K = P.shape[2]
    sparse = idx.shape[0] == S and idx.size > 0
    V = np.zeros(S)
    V_new = np.zeros(S)
    it = 0
    while True:
        diff = 0.0
        for s in range(S):
            best = -np.inf
            for a in range(A):
                if mask[s, a] != 0:
                    # inlined on purpose: a helper taking arrays costs atomic
                    # refcount updates per call in numba
                    acc = 0.0
                    if sparse:
                        for j in range(K):
                            acc += P[s, a, j] * V[idx[s, a, j]]
                    else:
                        for j in range(K):
                            acc += P[s, a, j] * V[j]
                    q = r_sa[s, a] + gamma * acc
                    if q > best:
                        best = q
            v = best if best > -np.inf else 0.0
            V_new[s] = v
            d = abs(v - V[s])
            if d > diff:
                diff = d
        for s in range(S):
            V[s] = V_new[s]
        it += 1
        if diff <= tol or it >= max_iter:
            break
    for s in range(S):
        V_out[s] = V[s]
        pol = -1
        best = -np.inf
        for a in range(A):
            if mask[s, a] != 0:
                acc = 0.0
                if sparse:
                    for j in range(K):
                        acc += P[s, a, j] * V[idx[s, a, j]]
                else:
                    for j in range(K):
                        acc += P[s, a, j] * V[j]
                q = r_sa[s, a] + gamma * acc
                Q_out[s, a] = q
                if pol < 0 or q > best:
                    best = q
                    pol = a
            else:
                Q_out[s, a] = -np.inf
        policy_out[s] = pol
    return it


@jit
def q_learning_rollout(Q, cum_P, R, mask, terminal, start_cum, epsilon, alpha0, alpha_decay,
                       gamma, k0, s0, u, visits):
    S, A = Q.shape
    s = s0
    for i in range(u.shape[0]):
        # the epsilon_greedy rule (floor(u * n)-th candidate), inlined: an
        # array-taking helper would cost atomic refcounts on every step
        explore = u[i, 0] < epsilon
        m = -np.inf
        n = 0
        for b in range(A):
            q = Q[s, b]
            if mask[s, b] != 0 and q > -np.inf:
                if explore:
                    n += 1
                elif q > m:
                    m = q
                    n = 1
                elif q == m:
                    n += 1
        k = int(u[i, 1] * n)
        if k > n - 1:
            k = n - 1
        a = -1
        for b in range(A):
            q = Q[s, b]
            if mask[s, b] != 0 and q > -np.inf and (explore or q == m):
                if k == 0:
                    a = b
                    break
                k -= 1
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
                m = -np.inf
                for b in range(A):
                    if mask[s2, b] != 0 and Q[s2, b] > m:
                        m = Q[s2, b]
                target += gamma * m
            alpha = alpha0 / (1.0 + (k0 + i) * alpha_decay)
            Q[s, a] += alpha * (target - Q[s, a])
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
