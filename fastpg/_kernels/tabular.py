# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""Tabular kernels, one source for both compilers (semantics and argument
layout: fastpg.reference.tabular; how one source works, and the rules for
writing it: docs/design.md, "One source for both compilers").

Cython compiles this file as ``fastpg._cy.tabular``, typed by
``src_cython/tabular.pxd`` (the cimport API: ``nogil`` C functions on fused
float32/float64 memoryviews, GIL-releasing registry wrappers); the private
helpers carry their C types here, so that they can be ``inline``. numba
jits the same ``*_c`` bodies (``fastpg._numba.tabular``): one loop for both.

Sequential by definition (transition i sees the table after i - 1), so one
thread; each update is a handful of loads and one store, bound by the
table's cache traffic. The public API has checked every index, so a kernel
cannot fail half-way.
"""
import cython
import numpy as np

if not cython.compiled:  # compiled, these are C names cimported by tabular.pxd
    from ._py import INF, int64_t


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(b=cython.Py_ssize_t, m=cython.floating)
def _row_max(Q: cython.floating[:, ::1], s: cython.Py_ssize_t) -> cython.floating:
    m = Q[s, 0]
    for b in range(1, Q.shape[1]):
        if Q[s, b] > m:
            m = Q[s, b]
    return m


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(delta=cython.floating)
def _td_update(Q: cython.floating[:, ::1], s: int64_t, a: int64_t, target: cython.floating,
               alpha: cython.floating, td_out: cython.floating[::1],
               i: cython.Py_ssize_t) -> cython.void:
    """Q[s, a] += α (target - Q[s, a]); td_out[i] = target - Q[s, a] (before)."""
    delta = target - Q[s, a]
    Q[s, a] += alpha * delta
    td_out[i] = delta


def q_learning_c(Q, states, actions, rewards, next_states, terminated, gamma, alpha, td_out):
    """Q[s, a] += α (r + γ max_b Q[s', b] · (1 - terminated) - Q[s, a])."""
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    for i in range(states.shape[0]):
        target = rewards[i]
        if terminated[i] == 0:
            target += gamma[i * gs] * _row_max(Q, next_states[i])
        _td_update(Q, states[i], actions[i], target, alpha[i * als], td_out, i)
    return -1


def sarsa_c(Q, states, actions, rewards, next_states, next_actions, terminated, gamma, alpha,
            td_out):
    """Q[s, a] += α (r + γ Q[s', a'] · (1 - terminated) - Q[s, a])."""
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    for i in range(states.shape[0]):
        target = rewards[i]
        if terminated[i] == 0:
            target += gamma[i * gs] * Q[next_states[i], next_actions[i]]
        _td_update(Q, states[i], actions[i], target, alpha[i * als], td_out, i)
    return -1


def expected_sarsa_c(Q, states, actions, rewards, next_states, terminated, gamma, alpha, epsilon,
                     td_out):
    """The target's expectation is under ε-greedy over the n possible actions
    (Q > -inf) of s': ε/n · Σ Q + (1 - ε) max Q; -inf when none is possible."""
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
            # first as if every action were possible: a plain sum and max
            n = A
            tot = 0.0
            m = -INF
            for b in range(A):
                q = Q[s2, b]
                tot += q
                if q > m:
                    m = q
            if not tot > -INF:
                # some Q is -inf (or tot overflowed, or +inf met -inf): the
                # sum over the possible actions, the same additions in the
                # same order where every action is possible
                n = 0
                tot = 0.0
                for b in range(A):
                    q = Q[s2, b]
                    if q > -INF:
                        n += 1
                        tot += q
            if n == 0:
                ev = -INF
            else:
                eps = epsilon[i * es]
                ev = (eps / n) * tot + (1 - eps) * m
            target += gamma[i * gs] * ev
        delta = target - Q[s, a]
        Q[s, a] += alpha[i * als] * delta
        td_out[i] = delta
    return -1


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(b=cython.Py_ssize_t, best=cython.Py_ssize_t, m=cython.floating,
               q=cython.floating)
def _argmax_row(Q: cython.floating[:, ::1], s: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """The first b maximising Q[s, b] (a running max: branch-free code)."""
    best = 0
    m = Q[s, 0]
    for b in range(1, Q.shape[1]):
        q = Q[s, b]
        if q > m:
            m = q
            best = b
    return best


def double_q_learning_c(Q1, Q2, states, actions, rewards, next_states, terminated, gamma, alpha,
                        which, td_out):
    """which[i] == 0 updates Q1 towards r + γ Q2[s', argmax_b Q1[s', b]], else
    Q2 towards r + γ Q1[s', argmax_b Q2[s', b]]."""
    gs = 1 if gamma.shape[0] > 1 else 0
    als = 1 if alpha.shape[0] > 1 else 0
    for i in range(states.shape[0]):
        s2 = next_states[i]
        target = rewards[i]
        # one branch per table, not a table chosen per row: numba would pay
        # reference counts for the chosen array
        if which[i] == 0:
            if terminated[i] == 0:
                target += gamma[i * gs] * Q2[s2, _argmax_row(Q1, s2)]
            _td_update(Q1, states[i], actions[i], target, alpha[i * als], td_out, i)
        else:
            if terminated[i] == 0:
                target += gamma[i * gs] * Q1[s2, _argmax_row(Q2, s2)]
            _td_update(Q2, states[i], actions[i], target, alpha[i * als], td_out, i)
    return -1


def td0_c(V, states, rewards, next_states, terminated, gamma, alpha, td_out):
    """V[s] += α (r + γ V[s'] · (1 - terminated) - V[s])."""
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


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(b=cython.Py_ssize_t, n=cython.Py_ssize_t, k=cython.Py_ssize_t, a=cython.Py_ssize_t,
               q=cython.double, m=cython.double)
def _pick(Q: cython.const[cython.double][:, ::1], mask: cython.const[cython.uchar][:, ::1],
          s: cython.Py_ssize_t, explore: cython.bint, u: cython.double) -> cython.Py_ssize_t:
    """The ε-greedy rule over the possible actions b (mask[s, b] != 0 and
    Q[s, b] > -inf): the floor(u · n)-th of the n candidates in action order,
    all possible actions when exploring, else those equal to the maximum;
    -1 when there is none. epsilon_greedy_c is the same rule without a mask,
    counted differently: branches win on the rollout's few actions, selects
    on many."""
    m = -INF
    n = 0
    for b in range(Q.shape[1]):
        q = Q[s, b]
        if mask[s, b] != 0 and q > -INF:
            if explore:
                n += 1
            elif q > m:
                m = q
                n = 1
            elif q == m:
                n += 1
    k = int(u * n)
    if k > n - 1:
        k = n - 1
    a = -1
    for b in range(Q.shape[1]):
        q = Q[s, b]
        if mask[s, b] != 0 and q > -INF and (explore or q == m):
            if k == 0:
                a = b
                break
            k -= 1
    return a


def epsilon_greedy_c(Q, states, epsilon, u_explore, u_pick, out):
    """out[i]: the _pick rule (every action with Q > -inf possible), exploring
    when u_explore[i] < ε, the candidate index from u_pick[i]."""
    es = 1 if epsilon.shape[0] > 1 else 0
    A = Q.shape[1]
    for i in range(states.shape[0]):
        s = states[i]
        explore = u_explore[i] < epsilon[i * es]
        m = -INF
        n = 0
        for b in range(A):
            q = Q[s, b]
            if q > -INF:
                n += 1
            if q > m:
                m = q
        if not explore:
            n = 0
            if m > -INF:
                for b in range(A):
                    if Q[s, b] == m:
                        n += 1
        k = int(u_pick[i] * n)
        if k > n - 1:
            k = n - 1
        for b in range(A):
            q = Q[s, b]
            if q > -INF and (explore or q == m):
                if k == 0:
                    out[i] = b
                    break
                k -= 1
    return -1


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(j=cython.Py_ssize_t,
               a0=cython.double, a1=cython.double, a2=cython.double, a3=cython.double,
               a4=cython.double, a5=cython.double, a6=cython.double, a7=cython.double)
def _dense_dot(P: cython.const[cython.double][:, :, ::1], V: cython.const[cython.double][::1],
               s: cython.Py_ssize_t, a: cython.Py_ssize_t, n8: cython.Py_ssize_t) -> cython.double:
    """Σ_{j < 8·n8} P[s, a, j] V[j] in 8 interleaved partial sums (j mod 8),
    added pairwise: one running sum is a chain of dependent additions (a
    dense sweep ran at one element per add latency). gcc vectorises this
    loop; numba's twin (fastpg._numba._simd.dot8) writes the same order as
    vector operations, so both give the same bits."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    for j in range(0, 8 * n8, 8):
        a0 += P[s, a, j] * V[j]
        a1 += P[s, a, j + 1] * V[j + 1]
        a2 += P[s, a, j + 2] * V[j + 2]
        a3 += P[s, a, j + 3] * V[j + 3]
        a4 += P[s, a, j + 4] * V[j + 4]
        a5 += P[s, a, j + 5] * V[j + 5]
        a6 += P[s, a, j + 6] * V[j + 6]
        a7 += P[s, a, j + 7] * V[j + 7]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(j=cython.Py_ssize_t, n=cython.Py_ssize_t, acc=cython.double)
def _expect(P: cython.const[cython.double][:, :, ::1], idx: cython.const[int64_t][:, :, ::1],
            sparse: cython.bint, V: cython.const[cython.double][::1], s: cython.Py_ssize_t,
            a: cython.Py_ssize_t) -> cython.double:
    """Σ_j P[s, a, j] V[j] (dense: _dense_dot, then the remainder in order)
    or Σ_j P[s, a, j] V[idx[s, a, j]] (sparse, in order)."""
    acc = 0.0
    if sparse:
        for j in range(P.shape[2]):
            acc += P[s, a, j] * V[idx[s, a, j]]
        return acc
    n = P.shape[2]
    j = n - n % 8
    acc = _dense_dot(P, V, s, a, j // 8)
    while j < n:
        acc += P[s, a, j] * V[j]
        j += 1
    return acc


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(S=cython.Py_ssize_t, A=cython.Py_ssize_t, s=cython.Py_ssize_t,
               a=cython.Py_ssize_t, it=cython.Py_ssize_t, best=cython.double, q=cython.double,
               d=cython.double, diff=cython.double)
def _sweeps(P: cython.const[cython.double][:, :, ::1], idx: cython.const[int64_t][:, :, ::1],
            sparse: cython.bint, r_sa: cython.const[cython.double][:, ::1], gamma: cython.double,
            tol: cython.double, max_iter: cython.Py_ssize_t,
            mask: cython.const[cython.uchar][:, ::1], V: cython.double[::1],
            V_new: cython.double[::1]) -> cython.Py_ssize_t:
    """The sweeps from V = 0; the number run. Called with a literal ``sparse``,
    so that each compiler builds a dense and a sparse loop (one loop holding
    both ran numba's sparse sweeps 1.4x slower)."""
    S = mask.shape[0]
    A = mask.shape[1]
    for s in range(S):
        V[s] = 0.0
    it = 0
    while True:
        diff = 0.0
        for s in range(S):
            best = -INF
            for a in range(A):
                if mask[s, a] != 0:
                    q = r_sa[s, a] + gamma * _expect(P, idx, sparse, V, s, a)
                    if q > best:
                        best = q
            if best == -INF:
                best = 0.0
            V_new[s] = best
            d = abs(best - V[s])
            if d > diff:
                diff = d
        for s in range(S):
            V[s] = V_new[s]
        it += 1
        if diff <= tol or it >= max_iter:
            return it


def value_iteration_c(P, idx, r_sa, gamma, tol, max_iter, mask, V, V_new, Q_out, policy_out):
    """Dense P (S, A, S) with idx (0, 0, 0), or sparse P/idx (S, A, K); r_sa
    (S, A); V (S,) the result, V_new (S,) scratch. Sweeps
    V(s) = max_{a possible} r(s, a) + γ E[V(s')] (0 where no action is
    possible) until max |ΔV| <= tol or max_iter sweeps; then Q and the greedy
    policy (first maximiser, -1 where no action is possible). The sweeps run."""
    S = mask.shape[0]
    A = mask.shape[1]
    sparse = idx.shape[0] == S and idx.shape[2] > 0
    if sparse:
        it = _sweeps(P, idx, True, r_sa, gamma, tol, max_iter, mask, V, V_new)
    else:
        it = _sweeps(P, idx, False, r_sa, gamma, tol, max_iter, mask, V, V_new)
    for s in range(S):
        pol = -1
        best = -INF
        for a in range(A):
            if mask[s, a] != 0:
                q = r_sa[s, a] + gamma * _expect(P, idx, sparse, V, s, a)
                Q_out[s, a] = q
                if pol < 0 or q > best:
                    best = q
                    pol = a
            else:
                Q_out[s, a] = -INF
        policy_out[s] = pol
    return it


def q_learning_rollout_c(Q, cum_P, R, mask, terminal, start_cum, epsilon, alpha0, alpha_decay,
                         gamma, k0, s0, u, visits):
    """Fused TabularMDP simulation + ε-greedy + Q-learning (float64 tables),
    one step per row of u (explore, pick, next state, restart draws), step
    size α0 / (1 + (k0 + i) α_decay). The state the simulation ended in."""
    S = Q.shape[0]
    A = Q.shape[1]
    s = s0
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
                m = -INF
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


# ---- the Cython backend's registry kernels: the *_c functions without the GIL
# (numba's registry kernels are its jits of the *_c bodies)

def q_learning(Q, states, actions, rewards, next_states, terminated, gamma, alpha, td_out):
    with cython.nogil:
        return q_learning_c(Q, states, actions, rewards, next_states, terminated, gamma, alpha,
                            td_out)


def sarsa(Q, states, actions, rewards, next_states, next_actions, terminated, gamma, alpha,
          td_out):
    with cython.nogil:
        return sarsa_c(Q, states, actions, rewards, next_states, next_actions, terminated, gamma,
                       alpha, td_out)


def expected_sarsa(Q, states, actions, rewards, next_states, terminated, gamma, alpha, epsilon,
                   td_out):
    with cython.nogil:
        return expected_sarsa_c(Q, states, actions, rewards, next_states, terminated, gamma,
                                alpha, epsilon, td_out)


def double_q_learning(Q1, Q2, states, actions, rewards, next_states, terminated, gamma, alpha,
                      which, td_out):
    with cython.nogil:
        return double_q_learning_c(Q1, Q2, states, actions, rewards, next_states, terminated,
                                   gamma, alpha, which, td_out)


def td0(V, states, rewards, next_states, terminated, gamma, alpha, td_out):
    with cython.nogil:
        return td0_c(V, states, rewards, next_states, terminated, gamma, alpha, td_out)


def epsilon_greedy(Q, states, epsilon, u_explore, u_pick, out):
    with cython.nogil:
        return epsilon_greedy_c(Q, states, epsilon, u_explore, u_pick, out)


def value_iteration(P, idx, r_sa, gamma, tol, max_iter, mask, V_out, Q_out, policy_out):
    V_new = np.empty(V_out.shape[0])
    with cython.nogil:
        return value_iteration_c(P, idx, r_sa, gamma, tol, max_iter, mask, V_out, V_new, Q_out,
                                 policy_out)


def q_learning_rollout(Q, cum_P, R, mask, terminal, start_cum, epsilon, alpha0, alpha_decay,
                       gamma, k0, s0, u, visits):
    with cython.nogil:
        return q_learning_rollout_c(Q, cum_P, R, mask, terminal, start_cum, epsilon, alpha0,
                                    alpha_decay, gamma, k0, s0, u, visits)
