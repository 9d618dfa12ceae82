r"""Tabular kernels over a whole finite MDP given as (P, R): value iteration
and Q-learning fused with the simulation of the MDP (``q_learning_rollout``).
Part of the ``tabular`` kernel family (conventions: :mod:`fastpg.tabular`,
docs/design.md "tabular"); ``fastpg.tabular`` exports them too.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _backend
from . import _checks as C
from ._interop import tensors_follow

__all__ = ["value_iteration", "ValueIterationResult", "q_learning_rollout", "RolloutResult"]


class ValueIterationResult(NamedTuple):
    V: np.ndarray  # (S,) optimal state values
    Q: np.ndarray  # (S, A) optimal action values, -inf for impossible actions
    policy: np.ndarray  # (S,) greedy action (first maximum), -1 where none is possible
    iterations: int  # sweeps run


@tensors_follow
def value_iteration(P, R, gamma=0.9, tol=1e-10, max_iter=100_000, action_mask=None, *,
                    backend=None):
    r"""Value iteration on a finite MDP (Bellman optimality, Jacobi sweeps from V = 0):

    .. math:: Q(s, a) = \sum_{s'} P(s' \mid s, a) \big(R(s, a, s') + \gamma V(s')\big),
        \quad V(s) = \max_{a\ \mathrm{possible}} Q(s, a)

    until :math:`\max_s |V_{k+1}(s) - V_k(s)| \le` ``tol`` or ``max_iter`` sweeps.

    ``P``: dense (S, A, S), rows summing to 1 for possible actions; or sparse,
    a pair ``(next_states, probs)`` of shape (S, A, K) each (K next states per
    state-action pair; pad with probability 0), for MDPs whose dense P would
    not fit in memory. ``R``: (S, A, S) (dense P), (S, A, K) aligned with the
    sparse entries, or (S, A) (the expected reward). ``action_mask`` (S, A)
    bool, True = possible (default: all); impossible actions get Q = -inf and
    are never chosen; a state with no possible action is terminal (V = 0,
    policy = -1). Computed in float64. Returns
    ``ValueIterationResult(V, Q, policy, iterations)``.
    """
    sparse = isinstance(P, tuple)
    if sparse:
        if len(P) != 2:
            raise ValueError("a sparse P is a pair (next_states, probs) of shape (S, A, K)")
        idx_a = np.asarray(P[0])
        Pa = C.real_array(P[1], "P[1] (probs)")
        if idx_a.shape != Pa.shape or Pa.ndim != 3:
            raise ValueError(f"next_states and probs must have one shape (S, A, K); got "
                             f"{idx_a.shape} and {Pa.shape}")
        S, A, K = Pa.shape
        if idx_a.dtype.kind not in "iu":
            raise TypeError(f"next_states must hold integer states; got dtype {idx_a.dtype}")
        idx = np.ascontiguousarray(idx_a, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= S):
            raise ValueError(f"next_states must lie in [0, {S}); got values in "
                             f"[{idx.min()}, {idx.max()}]")
    else:
        Pa = C.real_array(P, "P")
        if Pa.ndim != 3 or Pa.shape[0] != Pa.shape[2]:
            raise ValueError(f"P must have shape (S, A, S), or be a sparse pair (next_states, "
                             f"probs); got {Pa.shape}")
        S, A, K = Pa.shape
        idx = np.zeros((0, 0, 0), np.int64)
    if S == 0 or A == 0:
        raise ValueError(f"P must have at least one state and action; got {Pa.shape}")
    Pf = np.ascontiguousarray(Pa, dtype=np.float64)
    Ra = C.real_array(R, "R")
    if Ra.shape not in ((S, A, K), (S, A)):
        raise ValueError(f"R must have shape {(S, A, K)} or (S, A) = {(S, A)}; got {Ra.shape}")
    Rf = np.asarray(Ra, dtype=np.float64)
    C.all_finite(Rf, "R")
    r_sa = np.ascontiguousarray((Pf * Rf).sum(axis=2) if Rf.ndim == 3 else Rf)
    mask = C.mask(action_mask, "action_mask", (S, A))
    C.distributions(Pf, "P", where=mask != 0)
    gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
    tol = C.real_number(tol, "tol", 0.0, lo_open=True)
    it = C.positive_int(max_iter, "max_iter")
    V = np.empty(S)
    Q = np.empty((S, A))
    pol = np.empty(S, np.int64)
    # auto's choice by the dense sum's length (fastpg._auto.AUTO_WIDE)
    vi = _backend.kernel("tabular", "value_iteration", backend, width=0 if idx.size else S)
    n = vi(Pf, idx, r_sa, gamma, tol, it, mask, V, Q, pol)
    return ValueIterationResult(V, Q, pol, int(n))


class RolloutResult(NamedTuple):
    Q: np.ndarray  # the table, updated in place
    state: int  # the state the simulation ended in (pass it back to continue)
    visits: np.ndarray  # (S, A) updates made per state-action pair
    steps: int


@tensors_follow
def q_learning_rollout(Q, P, R, n_steps, *, action_mask=None, terminal_states=(), start_state=0,
                       epsilon=1.0, alpha=0.05, alpha_decay=0.0, gamma=0.9, rng=None,
                       step_offset=0, state=None, backend=None):
    r"""Simulate a finite MDP and run Q-learning on it, fused in one kernel.

    Each step: an ε-greedy behaviour action over the possible actions (ε = 1,
    the default, is the uniformly random exploration of the HOML experiment;
    greedy ties broken at random), the next state drawn from ``P``, the
    reward ``R``, and the Q-learning update with
    :math:`\alpha_k = \alpha / (1 + k \cdot \mathrm{alpha\_decay})`,
    k = ``step_offset`` + step index. Entering a terminal state restarts from
    ``start_state`` (an index or a distribution).

    ``Q`` float64 (S, A), updated in place (impossible actions are ignored by
    the max, whatever their entry); ``P`` (S, A, S); ``R`` (S, A, S) or (S, A);
    ``action_mask`` (S, A) bool (default: all possible). Randomness: 4 float64
    uniforms per step drawn from ``rng`` up front (same trajectory on every
    backend). Continue a run by passing ``state=`` and ``step_offset=``.
    Returns ``RolloutResult(Q, state, visits, steps)``.
    """
    C.inplace_table(Q, "Q")
    if Q.dtype != np.float64 or not Q.flags.c_contiguous:
        raise TypeError("Q must be a C-contiguous float64 array for q_learning_rollout")
    S, A = Q.shape
    Pa = np.ascontiguousarray(C.real_array(P, "P"), dtype=np.float64)
    if Pa.shape != (S, A, S):
        raise ValueError(f"P must have shape (S, A, S) = {(S, A, S)} (Q is {Q.shape}); "
                         f"got {Pa.shape}")
    Ra = np.asarray(C.real_array(R, "R"), dtype=np.float64)
    if Ra.shape == (S, A):
        Ra = np.broadcast_to(Ra[:, :, None], (S, A, S))
    if Ra.shape != (S, A, S):
        raise ValueError(f"R must have shape (S, A, S) or (S, A); got {Ra.shape}")
    Ra = np.ascontiguousarray(Ra)
    C.all_finite(Ra, "R")
    mask = C.mask(action_mask, "action_mask", (S, A))
    t = np.asarray(terminal_states)
    t = C.index_array(t.reshape(-1), "terminal_states", t.size, S, "the number of states S",
                      allow_float=False)
    terminal = np.zeros(S, np.uint8)
    terminal[t] = 1
    C.distributions(Pa, "P", where=mask != 0)
    bad = (mask != 0) & ~np.isfinite(Q)
    if bad.any():
        s, a = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"Q[{s}, {a}] = {float(Q[s, a])} for a possible action "
                         f"(action_mask[{s}, {a}] is true): the update would make it NaN; "
                         "start possible actions at a finite value, or mask the action")
    start = C.start_distribution(start_state, "start_state", S)
    # a state the walk can stand in must have a possible action: a non-terminal
    # one (it is entered), or a start state (episodes begin there)
    occupied = (terminal == 0) | (start > 0)
    if state is not None:
        state = int(C.index_array([state], "state", 1, S, "the number of states S",
                                  allow_float=False)[0])
        occupied[state] = True
    stuck = occupied & ~(mask != 0).any(axis=1)
    if stuck.any():
        raise ValueError(f"state {int(np.flatnonzero(stuck)[0])} has no possible action, and it "
                         "is a start state, the given state= or not terminal")
    n = C.positive_int(n_steps, "n_steps", lo=0)
    eps = C.real_number(epsilon, "epsilon", 0.0, 1.0)
    alpha = C.real_number(alpha, "alpha", 0.0, 1.0, lo_open=True)
    alpha_decay = C.real_number(alpha_decay, "alpha_decay", 0.0)
    gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
    step_offset = C.positive_int(step_offset, "step_offset", lo=0)
    gen = C.generator(rng)
    if state is None:
        s0 = int(np.searchsorted(np.cumsum(start), gen.random() * start.sum(), side="right"))
        s0 = min(s0, S - 1)
    else:
        s0 = state
    visits = np.zeros((S, A), np.int64)
    fn = _backend.kernel("tabular", "q_learning_rollout", backend)
    chunk = 1 << 20  # uniforms are drawn a chunk at a time (32 MB), not all up front
    done = 0
    while done < n:
        m = min(chunk, n - done)
        u = gen.random((m, 4))
        s0 = int(fn(Q, np.cumsum(Pa, axis=2), Ra, mask, terminal, np.cumsum(start), eps,
                    alpha, alpha_decay, gamma, step_offset + done, s0, u, visits))
        done += m
    return RolloutResult(Q, s0, visits, n)
