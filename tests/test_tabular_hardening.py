"""Tabular kernels never write outside their arrays, never leave a table half
updated on bad input, and refuse an out= that aliases the table."""
import numpy as np
import pytest

import fastpg
from fastpg import _backend
from fastpg.envs.tabular_mdp import HOML_P, HOML_POSSIBLE_ACTIONS, HOML_R

MASK = np.zeros((3, 3), bool)
for _s, _acts in enumerate(HOML_POSSIBLE_ACTIONS):
    MASK[_s, _acts] = True


def _Q():
    return np.where(MASK, 0.0, -np.inf)


#: q_learning_rollout arguments that must be refused up front: (changes, error, message)
BAD_ROLLOUTS = {
    "terminal start state without an action":
        (dict(Q=np.zeros((1, 1)), P=[[[1.0]]], R=[[0.0]], action_mask=[[False]],
              terminal_states=[0]), ValueError, "state 0 has no possible action"),
    "-inf on the possible actions": (dict(Q=np.where(MASK, -np.inf, 0.0)), ValueError,
                                     r"Q\[0, 0\] = -inf for a possible action"),
    "NaN on a possible action": (dict(Q=np.where(MASK, np.nan, -np.inf)), ValueError, "Q"),
    "alpha_decay NaN": (dict(alpha_decay=np.nan), ValueError, "alpha_decay"),
    "alpha_decay inf": (dict(alpha_decay=np.inf), ValueError, "alpha_decay"),
    "negative step_offset": (dict(step_offset=-100, alpha_decay=0.01), ValueError,
                             "step_offset"),
    "float step_offset": (dict(step_offset=1.5), TypeError, "step_offset"),
    "start_state -1": (dict(start_state=-1), ValueError, "start_state"),
    "start_state 1.5": (dict(start_state=1.5), TypeError, "start_state"),
    "start_state '3'": (dict(start_state="3"), TypeError, "start_state"),
    "start_state True": (dict(start_state=True), TypeError, "start_state"),
    "start_state 3": (dict(start_state=3), ValueError, "start_state"),
    "start distribution with NaN": (dict(start_state=[np.nan, 0.5, 0.5]), ValueError,
                                    "start_state"),
    "state 1.5": (dict(state=1.5), TypeError, "state"),
    "state -1": (dict(state=-1), ValueError, "state"),
    "terminal_states [1.5]": (dict(terminal_states=[1.5]), TypeError, "terminal_states"),
    "terminal_states ['3']": (dict(terminal_states=["3"]), TypeError, "terminal_states"),
    "terminal_states [-1]": (dict(terminal_states=[-1]), ValueError, "terminal_states"),
    "epsilon True": (dict(epsilon=True), TypeError, "epsilon"),
    "epsilon '0.5'": (dict(epsilon="0.5"), TypeError, "epsilon"),
    "gamma NaN": (dict(gamma=np.nan), ValueError, "gamma"),
    "alpha 0": (dict(alpha=0.0), ValueError, "alpha"),
    "NaN in action_mask": (dict(action_mask=np.where(MASK, 1.0, np.nan)), ValueError,
                           "action_mask"),
}


@pytest.mark.parametrize("case", list(BAD_ROLLOUTS))
def test_bad_rollouts_are_refused_before_anything_is_written(backend, case):
    change, exc, msg = BAD_ROLLOUTS[case]
    kw = dict(Q=_Q(), P=HOML_P, R=HOML_R, action_mask=MASK, rng=0)
    kw.update(change)
    Q = kw.pop("Q")
    before = Q.copy()
    with pytest.raises(exc, match=msg):
        fastpg.q_learning_rollout(Q, kw.pop("P"), kw.pop("R"), 50, backend=backend, **kw)
    np.testing.assert_array_equal(Q, before)


def test_kernels_end_the_episode_where_no_action_is_possible(backend):
    """Reached anyway (a direct kernel call): no write out of bounds, no update
    there, the same restart on every backend."""
    S, A = 3, 2
    Q = np.zeros((S, A))
    mask = np.ones((S, A), np.uint8)
    mask[1] = 0  # state 1: no possible action, not terminal
    cum_P = np.cumsum(np.full((S, A, S), 1 / 3), axis=2)
    R = np.ones((S, A, S))
    start_cum = np.cumsum([0.5, 0.5, 0.0])
    u = np.random.default_rng(0).random((200, 4))
    results = {}
    for be in ("numpy", backend):
        q, visits = Q.copy(), np.zeros((S, A), np.int64)
        s = _backend.kernel("tabular", "q_learning_rollout", be)(
            q, cum_P, R, mask, np.zeros(S, np.uint8), start_cum, 0.5, 0.1, 0.0, 0.9, 0, 1, u,
            visits)
        results[be] = (q, visits, int(s))
    (q0, v0, s0), (q1, v1, s1) = results["numpy"], results[backend]
    np.testing.assert_allclose(q1, q0, rtol=1e-12)
    np.testing.assert_array_equal(v1, v0)
    assert s0 == s1
    assert (v0[1] == 0).all() and (q0[1] == 0).all() and v0.sum() > 0


@pytest.mark.parametrize("name", ["q_learning", "sarsa", "expected_sarsa", "td0",
                                  "double_q_learning", "epsilon_greedy"])
def test_out_may_not_alias_the_table_and_may_be_strided(backend, name):
    rng = np.random.default_rng(1)
    Q = rng.standard_normal((4, 3))
    Q2 = Q.copy()
    V = rng.standard_normal(4)
    s, a, s2 = np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([3, 0, 1])
    r, te = np.ones(3), np.array([False, True, False])
    calls = {
        "q_learning": lambda T, out: fastpg.q_learning(T[0], s, a, r, s2, te, 0.9, 0.5, out=out,
                                                       backend=backend),
        "sarsa": lambda T, out: fastpg.sarsa(T[0], s, a, r, s2, a, te, 0.9, 0.5, out=out,
                                             backend=backend),
        "expected_sarsa": lambda T, out: fastpg.expected_sarsa(T[0], s, a, r, s2, te, 0.9, 0.5,
                                                               0.1, out=out, backend=backend),
        "td0": lambda T, out: fastpg.td0(T[2], s, r, s2, te, 0.9, 0.5, out=out, backend=backend),
        "double_q_learning": lambda T, out: fastpg.double_q_learning(
            T[0], T[1], s, a, r, s2, [0, 1, 0], te, 0.9, 0.5, out=out, backend=backend),
        "epsilon_greedy": lambda T, out: fastpg.epsilon_greedy(T[0], s, 0.3, 0, out=out,
                                                               backend=backend),
    }
    call = calls[name]
    tables = (Q, Q2, V)
    dt = np.int64 if name == "epsilon_greedy" else np.float64
    alias = (V if name == "td0" else Q).ravel()[:3]
    if dt == np.float64:
        before = [T.copy() for T in tables]
        with pytest.raises(ValueError, match="shares memory with"):
            call(tables, alias)
        for T, B in zip(tables, before):
            np.testing.assert_array_equal(T, B)
    # a strided out= gets the same values as a fresh result
    want = call(tuple(T.copy() for T in tables), None)
    big = np.zeros(6, dt)
    got = call(tuple(T.copy() for T in tables), big[::2])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(big[::2], want)
    assert (big[1::2] == 0).all()
