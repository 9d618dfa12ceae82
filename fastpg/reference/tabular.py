"""NumPy reference for the tabular kernels: the executable specification.

Argument layout (the public functions in :mod:`fastpg.tabular` validate and
normalise; every backend takes exactly this):

* ``Q``, ``Q1``, ``Q2``: C-contiguous float32/float64 ``(S, A)``, updated in
  place; ``V``: ``(S,)``;
* ``states``, ``actions``, ``next_states``, ``next_actions``: int64 ``(N,)``,
  already checked to lie in range (so a kernel never fails half-way and a
  table is never left half-updated);
* ``rewards``: ``(N,)`` of the table's dtype; ``terminated``, ``which``: uint8 ``(N,)``;
* ``gamma``, ``alpha``, ``epsilon``: the table's dtype, shape ``(N,)`` (per
  transition) or ``(1,)`` (one value for all);
* ``td_out``: ``(N,)`` of the table's dtype, receives the TD errors.

Semantics (docs/design.md, "tabular"): updates are applied **sequentially**, in
order: the result equals this module's Python loops, also when one (s, a)
appears several times in a batch (not ``Q[s, a] += ...``, not ``np.add.at``).
``terminated[i]`` stops bootstrapping; a truncation is simply not passed as
terminated. The TD error is computed with the table as it is just before
transition i.

Actions whose entry is ``-inf`` are impossible in that state (the seeds'
masked actions): ``max`` ignores them naturally; the ε-greedy policies
(``expected_sarsa``'s target, ``epsilon_greedy``) spread ε over the possible
actions only. A state whose every entry is ``-inf`` has value ``-inf``, so
transitions into it must be terminated. Ties: ``double_q_learning``'s argmax
takes the first maximum; ``expected_sarsa`` splits the greedy mass evenly over
tied maxima; ``epsilon_greedy`` breaks ties uniformly at random.

These loops are the "as the Gymnasium tutorial writes it" baseline of the
benchmarks: clear, sequential, slow.
"""
from __future__ import annotations

import numpy as np

__all__ = ["q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0",
           "epsilon_greedy", "value_iteration", "q_learning_rollout"]


def _at(x, i):
    return x[i] if x.shape[0] > 1 else x[0]


def _td_loop(rewards, terminated, gamma, alpha, td_out, entry, next_value):
    """The loop every TD rule shares, in order over i: ``entry(i)`` gives the
    table and index updated, ``next_value(i)`` the bootstrap value read from the
    tables as they are just before transition i (only where not terminated);
    δ_i = r_i + γ_i (1 - term_i) next_value(i) - table[index];
    table[index] += α_i δ_i."""
    for i in range(rewards.shape[0]):
        table, index = entry(i)
        target = rewards[i]
        if not terminated[i]:
            target = target + _at(gamma, i) * next_value(i)
        delta = target - table[index]
        table[index] += _at(alpha, i) * delta
        td_out[i] = delta
    return -1


def q_learning(Q, states, actions, rewards, next_states, terminated, gamma, alpha, td_out):
    """δ = r + γ (1 - term) max_b Q[s', b] - Q[s, a];  Q[s, a] += α δ."""
    return _td_loop(rewards, terminated, gamma, alpha, td_out,
                    lambda i: (Q, (states[i], actions[i])),
                    lambda i: Q[next_states[i]].max())


def sarsa(Q, states, actions, rewards, next_states, next_actions, terminated, gamma, alpha,
          td_out):
    """δ = r + γ (1 - term) Q[s', a'] - Q[s, a];  Q[s, a] += α δ."""
    return _td_loop(rewards, terminated, gamma, alpha, td_out,
                    lambda i: (Q, (states[i], actions[i])),
                    lambda i: Q[next_states[i], next_actions[i]])


def _expected_value(row, eps):
    """E_{b ~ ε-greedy(row)} row[b]: ε spread over the possible (finite) actions,
    1 - ε split evenly over the tied maxima."""
    possible = row > -np.inf
    n = int(possible.sum())
    if n == 0:
        return -np.inf
    # the tied maxima share 1 - ε, each worth m: the split does not change the value
    m = row[possible].max()
    return (eps / n) * row[possible].sum() + (1 - eps) * m


def expected_sarsa(Q, states, actions, rewards, next_states, terminated, gamma, alpha, epsilon,
                   td_out):
    """δ = r + γ (1 - term) Σ_b π(b|s') Q[s', b] - Q[s, a], π ε-greedy w.r.t. Q[s']."""
    return _td_loop(rewards, terminated, gamma, alpha, td_out,
                    lambda i: (Q, (states[i], actions[i])),
                    lambda i: _expected_value(Q[next_states[i]], _at(epsilon, i)))


def double_q_learning(Q1, Q2, states, actions, rewards, next_states, terminated, gamma, alpha,
                      which, td_out):
    """Transition i updates Q1 if which[i] == 0 (else Q2); the updated table picks
    a* = argmax_b (first maximum) at s', the other evaluates it:
    δ = r + γ (1 - term) Q_other[s', a*] - Q_upd[s, a]."""
    def tables(i):
        return (Q1, Q2) if which[i] == 0 else (Q2, Q1)

    def next_value(i):
        upd, oth = tables(i)
        s2 = next_states[i]
        return oth[s2, int(np.argmax(upd[s2]))]

    return _td_loop(rewards, terminated, gamma, alpha, td_out,
                    lambda i: (tables(i)[0], (states[i], actions[i])), next_value)


def td0(V, states, rewards, next_states, terminated, gamma, alpha, td_out):
    """δ = r + γ (1 - term) V[s'] - V[s];  V[s] += α δ."""
    return _td_loop(rewards, terminated, gamma, alpha, td_out,
                    lambda i: (V, states[i]), lambda i: V[next_states[i]])


def _pick(row, possible_mask, explore, u):
    """The ε-greedy rule for one row: among the candidates (the possible actions
    when exploring, else the tied maxima among them), the floor(u · n)-th."""
    cand = np.flatnonzero(possible_mask & (row > -np.inf))
    if not len(cand):
        return -1  # no possible action
    if not explore:
        cand = cand[row[cand] == row[cand].max()]
    return cand[min(int(u * len(cand)), len(cand) - 1)]


def epsilon_greedy(Q, states, epsilon, u_explore, u_pick, out):
    """Action per state: with probability ε (u_explore < ε) a uniformly random
    possible action, else a uniformly random one of the tied maxima.

    u_explore, u_pick: float64 uniforms in [0, 1), one each per state, drawn
    by the public API from the caller's Generator; the k-th candidate (in
    action order) with k = floor(u_pick · n_candidates) is taken, the same
    integer rule on every backend.
    """
    every = np.ones(Q.shape[1], bool)
    for i in range(states.shape[0]):
        out[i] = _pick(Q[states[i]], every, u_explore[i] < _at(epsilon, i), u_pick[i])
    return -1


def value_iteration(P, idx, r_sa, gamma, tol, max_iter, mask, V_out, Q_out, policy_out):
    """Bellman optimality iteration on a finite MDP; returns the iterations run.

    Transitions: dense ``P`` (S, A, S) with ``idx`` of shape (0, 0, 0), or
    sparse: ``P`` (S, A, K) probabilities of the next states ``idx`` (S, A, K)
    (int64; padding entries have probability 0). ``r_sa`` (S, A): the
    expected immediate reward. ``mask`` uint8 (S, A), 1 = possible.
    Q[s, a] = r_sa[s, a] + γ Σ P(s'|s, a) V[s'] for possible actions, -inf
    otherwise; V[s] = max_a Q[s, a] (0 for a state with no possible action:
    terminal); Jacobi sweeps from V = 0 until max_s |V_new - V| <= tol or
    max_iter sweeps. policy = argmax (first), -1 where no action is possible.
    Q and policy are of the final V. All float64.
    """
    S, A = mask.shape
    sparse = idx.shape[0] == S and idx.size > 0

    def expect(V):
        return (P * V[idx]).sum(axis=2) if sparse else P @ V

    V = np.zeros(S)
    it = 0
    has = mask.any(axis=1)
    while True:
        Q = np.where(mask != 0, r_sa + gamma * expect(V), -np.inf)
        V_new = np.where(has, Q.max(axis=1, initial=-np.inf), 0.0)
        it += 1
        diff = np.abs(V_new - V).max(initial=0.0)
        V = V_new
        if diff <= tol or it >= max_iter:
            break
    Q = np.where(mask != 0, r_sa + gamma * expect(V), -np.inf)
    V_out[...] = V
    Q_out[...] = Q
    policy_out[...] = np.where(has, np.argmax(Q, axis=1), -1)
    return it


def q_learning_rollout(Q, cum_P, R, mask, terminal, start_cum, epsilon, alpha0, alpha_decay,
                       gamma, k0, s0, u, visits):
    """Simulate a finite MDP and learn from it with Q-learning, fused.

    Q (S, A) in place; cum_P (S, A, S) cumulative transition probabilities;
    R (S, A, S) rewards; mask uint8 (S, A) possible actions; terminal uint8 (S,);
    start_cum (S,) cumulative start distribution; behaviour ε-greedy over the
    possible actions (ε = 1: uniformly random, the HOML experiment); step size
    α_k = alpha0 / (1 + k · alpha_decay) with k = k0 + step index; u (n, 4)
    float64 uniforms per step: explore, pick, next state, restart. Starts in
    state s0; entering a terminal state restarts from the start distribution,
    and so does a step from a state with no possible action (no update: the
    public API rejects such states up front; this keeps every backend in
    bounds if one is reached anyway). visits (S, A) int64 += the updates
    made. Returns the final state.

    Next state: the first s' with u · cum_P[s, a, -1] < cum_P[s, a, s']
    (inverse CDF; the same integer-exact rule on every backend).
    """
    s = s0
    S = Q.shape[0]
    for i in range(u.shape[0]):
        a = _pick(Q[s], mask[s] != 0, u[i, 0] < epsilon, u[i, 1])
        ended = a < 0
        if not ended:
            cp = cum_P[s, a]
            s2 = int(np.searchsorted(cp, u[i, 2] * cp[-1], side="right"))
            s2 = min(s2, S - 1)
            target = R[s, a, s2]
            if not terminal[s2]:
                target = target + gamma * Q[s2][mask[s2] != 0].max(initial=-np.inf)
            alpha = alpha0 / (1.0 + (k0 + i) * alpha_decay)
            Q[s, a] += alpha * (target - Q[s, a])
            visits[s, a] += 1
            ended = bool(terminal[s2])
        if ended:
            s2 = min(int(np.searchsorted(start_cum, u[i, 3] * start_cum[-1], side="right")), S - 1)
        s = s2
    return s
