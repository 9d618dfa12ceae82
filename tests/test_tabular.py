"""Tabular kernels: parity with the reference loops (hypothesis), sequential
semantics, the HOML MDP's Q*, ε-greedy sampling, value iteration, bad input
(the table left untouched)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastpg
import fastpg.tabular as T
from fastpg import _backend

from .conftest import tol

# The HOML chapter's three-state MDP (None = impossible action -> zero row, masked)
HOML_P = np.array([[[0.7, 0.3, 0.0], [1.0, 0.0, 0.0], [0.8, 0.2, 0.0]],
                   [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
                   [[0.0, 0.0, 0.0], [0.8, 0.1, 0.1], [0.0, 0.0, 0.0]]])
HOML_R = np.array([[[10, 0, 0], [0, 0, 0], [0, 0, 0]],
                   [[0, 0, 0], [0, 0, 0], [0, 0, -50]],
                   [[0, 0, 0], [40, 0, 0], [0, 0, 0]]], dtype=float)
HOML_MASK = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0]], bool)


def test_registry_lists_every_tabular_kernel():
    from fastpg.reference import tabular as ref
    assert set(_backend.REGISTRY["tabular"]) == set(ref.__all__)


@st.composite
def batches(draw):
    S = draw(st.integers(1, 6))
    A = draw(st.integers(1, 4))
    N = draw(st.integers(0, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Q = rng.standard_normal((S, A))
    if A > 1 and draw(st.booleans()):  # impossible actions (but one possible per state)
        mask = rng.random((S, A)) < 0.3
        mask[np.arange(S), rng.integers(0, A, S)] = False
        Q[mask] = -np.inf
    possible = [np.flatnonzero(Q[s] > -np.inf) for s in range(S)]
    states = rng.integers(0, S, N)
    actions = np.array([rng.choice(possible[s]) for s in states], dtype=np.int64)
    per = draw(st.booleans())
    return dict(
        Q=Q, states=states, actions=actions,
        rewards=rng.standard_normal(N) * 2,
        next_states=rng.integers(0, S, N),
        next_actions=rng.integers(0, A, N),
        terminated=rng.random(N) < draw(st.sampled_from([0.0, 0.3, 1.0])),
        gamma=rng.uniform(0, 1, N) if per else 0.9,
        alpha=rng.uniform(0.01, 1, N) if per else 0.5,
        epsilon=rng.uniform(0, 1, N) if per else draw(st.sampled_from([0.0, 0.1, 1.0])),
        which=rng.integers(0, 2, N),
    )


def _pair(b, dtype):
    return b["Q"].astype(dtype), b["Q"].astype(dtype)


def _check(got_Q, want_Q, got_td, want_td, dtype):
    assert got_Q.dtype == dtype and got_td.dtype == dtype
    np.testing.assert_allclose(got_Q, want_Q, **tol(dtype))
    np.testing.assert_allclose(got_td, want_td, **tol(dtype))


@pytest.mark.parity
@given(b=batches())
def test_updates_match_the_reference_loops(backend, dtype, b):
    common = (b["states"], b["actions"], b["rewards"], b["next_states"])
    kw = dict(gamma=b["gamma"], alpha=b["alpha"])
    # transitions into a state whose row is all -inf must be terminated (value -inf)
    term = b["terminated"] | ~(b["Q"][b["next_states"]] > -np.inf).any(axis=1) \
        if len(b["states"]) else b["terminated"]
    Q1, Q2 = _pair(b, dtype)
    _check(Q1, Q2, T.q_learning(Q1, *common, term, backend=backend, **kw),
           T.q_learning(Q2, *common, term, backend="numpy", **kw), dtype)
    # sarsa bootstraps from Q[s', a']: keep a' possible or the transition terminated
    na = b["next_actions"]
    term_s = term | ~(b["Q"][b["next_states"], na] > -np.inf) if len(na) else term
    Q1, Q2 = _pair(b, dtype)
    _check(Q1, Q2, T.sarsa(Q1, *common, na, term_s, backend=backend, **kw),
           T.sarsa(Q2, *common, na, term_s, backend="numpy", **kw), dtype)
    Q1, Q2 = _pair(b, dtype)
    _check(Q1, Q2, T.expected_sarsa(Q1, *common, term, epsilon=b["epsilon"], backend=backend, **kw),
           T.expected_sarsa(Q2, *common, term, epsilon=b["epsilon"], backend="numpy", **kw), dtype)
    A1, B1 = _pair(b, dtype)
    A2, B2 = _pair(b, dtype)
    td1 = T.double_q_learning(A1, B1, *common, b["which"], term, backend=backend, **kw)
    td2 = T.double_q_learning(A2, B2, *common, b["which"], term, backend="numpy", **kw)
    _check(A1, A2, td1, td2, dtype)
    np.testing.assert_allclose(B1, B2, **tol(dtype))
    V1 = np.nan_to_num(b["Q"].max(axis=1), neginf=0.0).astype(dtype)
    V2 = V1.copy()
    _check(V1, V2, T.td0(V1, b["states"], b["rewards"], b["next_states"], b["terminated"],
                         backend=backend, **kw),
           T.td0(V2, b["states"], b["rewards"], b["next_states"], b["terminated"],
                 backend="numpy", **kw), dtype)


@pytest.mark.parity
@given(b=batches(), seed=st.integers(0, 2**32 - 1))
def test_epsilon_greedy_same_actions_on_every_backend(backend, dtype, b, seed):
    Q = b["Q"].astype(dtype)
    got = T.epsilon_greedy(Q, b["states"], b["epsilon"], np.random.default_rng(seed),
                           backend=backend)
    want = T.epsilon_greedy(Q, b["states"], b["epsilon"], np.random.default_rng(seed),
                            backend="numpy")
    np.testing.assert_array_equal(got, want)
    if len(got):
        assert np.all(Q[b["states"], got] > -np.inf)


# ---- sequential semantics ------------------------------------------------------

def test_duplicates_apply_sequentially(backend, dtype):
    """Three terminal transitions on one (s, a), rewards 1, 2, 3, α = 0.5, Q = 0."""
    Q = np.zeros((2, 2), dtype)
    td = T.q_learning(Q, [0, 0, 0], [1, 1, 1], [1, 2, 3], [1, 1, 1], [True] * 3, 0.9, 0.5,
                      backend=backend)
    assert Q[0, 1] == pytest.approx(2.125)
    np.testing.assert_allclose(td, [1.0, 1.5, 1.75])
    # the two batch formulations this rules out
    s, a, r = np.zeros(3, int), np.ones(3, int), np.array([1.0, 2.0, 3.0])
    Qf = np.zeros((2, 2))
    Qf[s, a] += 0.5 * (r - Qf[s, a])  # fancy-index +=: the last write wins
    assert Qf[0, 1] == 1.5
    Qa = np.zeros((2, 2))
    np.add.at(Qa, (s, a), 0.5 * (r - Qa[s, a]))  # every error from the old table, summed
    assert Qa[0, 1] == 3.0


def test_bootstrap_and_termination(backend):
    Q = np.array([[0.0, 0.0], [1.0, 3.0]])
    td = T.q_learning(Q, [0], [0], [1.0], [1], [False], 0.5, 1.0, backend=backend)
    assert td[0] == 1.0 + 0.5 * 3.0 and Q[0, 0] == 2.5
    td = T.q_learning(Q, [0], [1], [1.0], [1], [True], 0.5, 1.0, backend=backend)
    assert td[0] == 1.0 and Q[0, 1] == 1.0
    td = T.sarsa(Q, 0, 0, 0.0, 1, 0, None, 1.0, 0.5, backend=backend)  # scalars: one transition
    assert td == pytest.approx(1.0 - 2.5) and Q[0, 0] == pytest.approx(2.5 + 0.5 * (1.0 - 2.5))


def test_expected_sarsa_target(backend):
    # next state: values [1, 3, 3, -inf]: possible n = 3, max 3 (tied twice)
    Q = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 3.0, 3.0, -np.inf]])
    td = T.expected_sarsa(Q, [0], [0], [0.0], [1], None, 1.0, 1.0, 0.3, backend=backend)
    assert td[0] == pytest.approx(0.3 / 3 * 7 + 0.7 * 3)


def test_expected_sarsa_impossible_actions_sum_like_absent_ones(backend, dtype):
    """A row with impossible actions (-inf) takes the kernels' second pass;
    with the -inf columns removed the same row takes the plain sum. Both
    add the possible values in the same order, so the TD errors are the
    same bits, wherever the -inf falls."""
    rng = np.random.default_rng(7)
    A = 9
    for drop in ([0], [4], [8], [1, 5, 8], [0, 2, 3, 6], [7]) * 4:
        keep = [b for b in range(A) if b not in drop]
        # (in float64, reversing the additions changes the sum for about half the rows)
        Q = rng.standard_normal((2, A)).astype(dtype)
        Q[0] = 0.0
        Q[1, drop] = -np.inf
        Qk = np.ascontiguousarray(Q[:, keep])
        # the update of (0, keep[0]), which is (0, 0) in Qk, bootstraps from
        # row 1; with r = 0, γ = 1, ε = 1 and Q[0] = 0 the TD error is the
        # sum's mean, so a different sum shows
        args = ([0.0], [1], None, 1.0, 0.5, 1.0)
        want = T.expected_sarsa(Q.copy(), [0], [keep[0]], *args, backend="numpy")
        td = T.expected_sarsa(Q, [0], [keep[0]], *args, backend=backend)
        td_k = T.expected_sarsa(Qk, [0], [0], *args, backend=backend)
        assert td.tobytes() == td_k.tobytes(), drop
        np.testing.assert_allclose(td, want, **tol(dtype))


def test_double_q_learning_uses_the_other_table(backend):
    Q1 = np.array([[0.0, 0.0], [5.0, 1.0]])
    Q2 = np.array([[0.0, 0.0], [2.0, 9.0]])
    td = T.double_q_learning(Q1, Q2, [0, 0], [0, 1], [0.0, 0.0], [1, 1], [0, 1], None, 1.0, 1.0,
                             backend=backend)
    assert td[0] == 2.0 and Q1[0, 0] == 2.0  # argmax Q1[1] = 0, valued by Q2: 2
    assert td[1] == 1.0 and Q2[0, 1] == 1.0  # argmax Q2[1] = 1, valued by Q1: 1
    with pytest.raises(ValueError, match="two different tables"):
        T.double_q_learning(Q1, Q1, [0], [0], [0.0], [1], [0], backend=backend)


def test_per_transition_alpha_and_gamma(backend):
    Q = np.zeros((1, 1))
    k = np.arange(5)
    alpha = 0.5 / (1 + k * 0.1)
    T.q_learning(Q, np.zeros(5, int), np.zeros(5, int), np.ones(5), np.zeros(5, int), True,
                 0.9, alpha, backend=backend)
    q = 0.0
    for a in alpha:
        q += a * (1 - q)
    assert Q[0, 0] == pytest.approx(q)


def test_td0(backend):
    V = np.array([0.0, 10.0])
    td = T.td0(V, [0, 0], [1.0, 1.0], [1, 1], [False, False], 0.5, 0.5, backend=backend)
    np.testing.assert_allclose(td, [6.0, 3.0])
    np.testing.assert_allclose(V, [4.5, 10.0])


# ---- ε-greedy ---------------------------------------------------------------------

def test_epsilon_greedy_tie_breaking_and_exploration(backend):
    Q = np.array([[1.0, 3.0, 3.0, -np.inf, 0.0]])
    n = 60_000
    greedy = T.epsilon_greedy(Q, np.zeros(n, int), 0.0, 0, backend=backend)
    c = np.bincount(greedy, minlength=5)
    assert c[0] == c[3] == c[4] == 0 and abs(c[1] - c[2]) < 0.03 * n
    explore = T.epsilon_greedy(Q, np.zeros(n, int), 1.0, 1, backend=backend)
    c = np.bincount(explore, minlength=5)
    assert c[3] == 0
    np.testing.assert_allclose(c[[0, 1, 2, 4]] / n, 0.25, atol=0.01)
    a1 = T.epsilon_greedy(Q, np.zeros(100, int), 0.3, 5, backend=backend)
    a2 = T.epsilon_greedy(Q, np.zeros(100, int), 0.3, np.random.default_rng(5), backend=backend)
    np.testing.assert_array_equal(a1, a2)
    assert isinstance(T.epsilon_greedy(Q, 0, 0.1, 0, backend=backend), int)
    with pytest.raises(ValueError, match="no possible action"):
        T.epsilon_greedy(np.array([[-np.inf, -np.inf]]), [0], 0.1, 0, backend=backend)


# ---- value iteration ----------------------------------------------------------------

def test_value_iteration_homl(backend):
    res = T.value_iteration(HOML_P, HOML_R, 0.9, action_mask=HOML_MASK, backend=backend)
    np.testing.assert_allclose(np.round(res.Q, 2), [[18.92, 17.03, 13.62],
                                                    [0.0, -np.inf, -4.88],
                                                    [-np.inf, 50.13, -np.inf]])
    np.testing.assert_array_equal(res.policy, [0, 0, 1])
    np.testing.assert_allclose(res.V, res.Q.max(axis=1))
    # R as the expected reward (S, A) gives the same answer
    r_sa = (HOML_P * HOML_R).sum(axis=2)
    res2 = T.value_iteration(HOML_P, r_sa, 0.9, action_mask=HOML_MASK, backend=backend)
    np.testing.assert_allclose(res2.Q, res.Q)


@pytest.mark.parity
@pytest.mark.parametrize("S", [1, 7, 8, 9, 17, 64])
def test_value_iteration_sums_at_block_edges(backend, S):
    """The dense expectation sums in blocks of 8 next states plus a
    remainder: sizes around the block edges against the reference (a
    fixed point of the Bellman equation), and both compilers give the same
    bits (one summation order)."""
    rng = np.random.default_rng(S)
    P = rng.random((S, 3, S)) ** 3
    P /= P.sum(axis=2, keepdims=True)
    R = rng.standard_normal((S, 3))
    a = T.value_iteration(P, R, 0.9, backend=backend)
    b = T.value_iteration(P, R, 0.9, backend="numpy")
    np.testing.assert_allclose(a.V, b.V, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.Q, R + 0.9 * P @ a.V, rtol=1e-12, atol=1e-12)
    others = [x for x in ("numba", "cython") if x != backend and _backend.available(x)]
    if backend in ("numba", "cython") and others:
        c = T.value_iteration(P, R, 0.9, backend=others[0])
        assert np.array_equal(a.V, c.V) and np.array_equal(a.Q, c.Q)


@pytest.mark.parity
def test_value_iteration_random_mdp_parity(backend):
    rng = np.random.default_rng(0)
    S, A = 30, 4
    P = rng.random((S, A, S)) ** 4
    P /= P.sum(axis=2, keepdims=True)
    R = rng.standard_normal((S, A))
    mask = rng.random((S, A)) < 0.8
    mask[3] = False  # a terminal state
    a = T.value_iteration(P, R, 0.95, action_mask=mask, backend=backend)
    b = T.value_iteration(P, R, 0.95, action_mask=mask, backend="numpy")
    np.testing.assert_allclose(a.V, b.V, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(a.policy, b.policy)
    assert a.policy[3] == -1 and a.V[3] == 0.0 and np.all(a.Q[3] == -np.inf)
    # the Bellman optimality equation holds at the fixed point
    Qb = np.where(mask, R + 0.95 * P @ a.V, -np.inf)
    np.testing.assert_allclose(a.Q, Qb, atol=1e-8)


# ---- bad input: the table is left untouched ------------------------------------------

@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(states=[0, 5]), ValueError, r"states\[1\] = 5 is out of range"),
    (dict(states=[0, -1]), ValueError, r"states\[1\] = -1 is out of range"),
    (dict(actions=[0, 3]), ValueError, r"actions\[1\] = 3 is out of range"),
    (dict(next_states=[9, 0]), ValueError, r"next_states\[0\] = 9"),
    (dict(states=[0.0, 1.0]), TypeError, "states must hold integers"),
    (dict(rewards=[1.0]), ValueError, r"rewards must have 2 item"),
    (dict(rewards=[1.0, np.nan]), ValueError, "rewards must be finite"),
    (dict(alpha=0.0), ValueError, r"alpha must lie in \(0, 1\]"),
    (dict(alpha=1.5), ValueError, r"alpha must lie in \(0, 1\]"),
    (dict(gamma=-0.1), ValueError, r"gamma must lie in \[0, 1\]"),
    (dict(gamma=[0.9, 0.9, 0.9]), ValueError, r"gamma must be a scalar or have shape \(2,\)"),
])
def test_bad_input_leaves_the_table_untouched(backend, kwargs, exc, msg):
    Q = np.arange(6, dtype=float).reshape(3, 2)
    before = Q.copy()
    args = dict(states=[0, 1], actions=[1, 0], rewards=[1.0, 2.0], next_states=[1, 2],
                terminated=[False, True], gamma=0.9, alpha=0.5)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        T.q_learning(Q, backend=backend, **args)
    np.testing.assert_array_equal(Q, before)


def test_bad_tables(backend):
    with pytest.raises(TypeError, match="float32 or float64"):
        T.q_learning(np.zeros((2, 2), int), [0], [0], [1.0], [1], backend=backend)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        T.q_learning([[0.0, 0.0]], [0], [0], [1.0], [0], backend=backend)
    Q = np.zeros((2, 2))
    Q[1, 1] = np.nan
    with pytest.raises(ValueError, match="Q contains NaN"):
        T.q_learning(Q, [0], [0], [1.0], [1], backend=backend)
    ro = np.zeros((2, 2))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        T.q_learning(ro, [0], [0], [1.0], [1], backend=backend)
    with pytest.raises(ValueError, match="epsilon must lie in"):
        T.expected_sarsa(np.zeros((2, 2)), [0], [0], [1.0], [1], epsilon=1.5, backend=backend)
    for bad in ([2], np.array([-1], np.int8), np.array([255], np.uint8),
                np.array([256], np.int16), np.array([-2**63], np.int64)):
        with pytest.raises(ValueError, match="which must hold only 0"):
            T.double_q_learning(np.zeros((2, 2)), np.zeros((2, 2)), [0], [0], [1.0], [1], bad,
                                backend=backend)
    for ok in (np.array([True]), np.array([1], np.uint64), np.array([0], np.int8)):
        T.double_q_learning(np.zeros((2, 2)), np.zeros((2, 2)), [0], [0], [1.0], [1], ok,
                            backend=backend)
    for bad in (-1, 2, -2**63):  # one-pass index check: both ends, and the sign bit alone
        with pytest.raises(ValueError, match=r"states\[0\] = .* is out of range"):
            T.q_learning(np.zeros((2, 2)), np.array([bad]), [0], [1.0], [1], backend=backend)


def test_non_contiguous_table_is_updated_in_place(backend):
    big = np.zeros((4, 6))
    Q = big[:, ::2]  # a strided view: updated through a copy, written back
    T.q_learning(Q, [1, 1], [2, 2], [1.0, 1.0], [0, 0], True, 0.9, 0.5, backend=backend)
    assert big[1, 4] == 0.75 and big.sum() == 0.75


def test_value_iteration_bad_input(backend):
    P = HOML_P.copy()
    with pytest.raises(ValueError, match=r"P\[0, 0, :\] must sum to 1"):
        bad = P.copy()
        bad[0, 0, 0] = 0.5
        T.value_iteration(bad, HOML_R, 0.9, action_mask=HOML_MASK, backend=backend)
    with pytest.raises(ValueError, match=r"P\[1, 1, :\] must sum to 1"):
        T.value_iteration(P, HOML_R, 0.9, backend=backend)  # no mask: the zero rows count
    with pytest.raises(ValueError, match="P must have shape"):
        T.value_iteration(np.ones((2, 2)), HOML_R, backend=backend)
    with pytest.raises(ValueError, match="R must have shape"):
        T.value_iteration(P, np.ones(3), action_mask=HOML_MASK, backend=backend)
    with pytest.raises(ValueError, match="gamma must lie"):
        T.value_iteration(P, HOML_R, 1.5, action_mask=HOML_MASK, backend=backend)


def test_exported_from_fastpg():
    assert fastpg.q_learning is T.q_learning and fastpg.value_iteration is T.value_iteration


def test_value_iteration_sparse_transitions(backend):
    """(next_states, probs) of shape (S, A, K) gives the dense answer."""
    rng = np.random.default_rng(1)
    S, A, K = 40, 3, 4
    idx = rng.integers(0, S, (S, A, K))
    probs = rng.random((S, A, K))
    probs[..., -1] = 0.0  # padding entries
    probs /= probs.sum(axis=2, keepdims=True)
    R = rng.standard_normal((S, A, K))
    dense_P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for k in range(K):
                dense_P[s, a, idx[s, a, k]] += probs[s, a, k]
    r_sa = (probs * R).sum(axis=2)
    sp = T.value_iteration((idx, probs), R, 0.9, backend=backend)
    de = T.value_iteration(dense_P, r_sa, 0.9, backend="numpy")
    np.testing.assert_allclose(sp.V, de.V, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sp.Q, de.Q, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="next_states must lie in"):
        T.value_iteration((idx + S, probs), R, 0.9, backend=backend)
    with pytest.raises(ValueError, match="one shape"):
        T.value_iteration((idx[..., :2], probs), R, 0.9, backend=backend)


def test_scalar_transition_path_matches_the_array_path(backend):
    """One transition given as scalars (the agents' per-step call) takes a lean
    path: same result, same checks."""
    rng = np.random.default_rng(4)
    Q0 = rng.standard_normal((5, 3))
    for fn, extra in [(T.q_learning, ()), (T.sarsa, (2,)), (T.expected_sarsa, ())]:
        Qa, Qb = Q0.copy(), Q0.copy()
        if fn is T.sarsa:
            td_s = fn(Qa, 1, 2, 0.5, 3, 2, False, 0.9, 0.3, backend=backend)
            td_a = fn(Qb, [1], [2], [0.5], [3], [2], [False], 0.9, 0.3, backend=backend)
        else:
            td_s = fn(Qa, 1, 2, 0.5, 3, False, 0.9, 0.3, backend=backend)
            td_a = fn(Qb, [1], [2], [0.5], [3], [False], 0.9, 0.3, backend=backend)
        assert np.ndim(td_s) == 0
        np.testing.assert_array_equal(Qa, Qb)
        assert td_s == td_a[0]
    Q = Q0.copy()
    with pytest.raises(ValueError, match=r"next_states\[0\] = 7 is out of range"):
        T.q_learning(Q, 1, 2, 0.5, 7, backend=backend)
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\]"):
        T.q_learning(Q, 1, 2, 0.5, 3, False, 0.9, 2.0, backend=backend)
    with pytest.raises(ValueError, match="rewards must be finite"):
        T.q_learning(Q, 1, 2, np.inf, 3, backend=backend)
    with pytest.raises(TypeError, match="states must hold integers"):
        T.q_learning(Q, True, 2, 0.5, 3, backend=backend)
    np.testing.assert_array_equal(Q, Q0)
    Q[3, 1] = np.nan
    with pytest.raises(ValueError, match="Q contains NaN in row 3"):
        T.q_learning(Q, 1, 2, 0.5, 3, backend=backend)
    # epsilon_greedy: one state draws the same two uniforms as the array path
    Qg = np.array([[1.0, 3.0, 3.0, -np.inf]])
    one = [T.epsilon_greedy(Qg, 0, 0.5, np.random.default_rng(s), backend=backend)
           for s in range(50)]
    arr = [int(T.epsilon_greedy(Qg, [0], 0.5, np.random.default_rng(s), backend=backend)[0])
           for s in range(50)]
    assert one == arr and set(one) <= {0, 1, 2}
