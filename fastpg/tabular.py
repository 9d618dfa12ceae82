r"""Tabular RL kernels: Q-learning, SARSA, expected SARSA, double Q-learning,
TD(0), ε-greedy action selection; value iteration and the fused Q-learning
rollout over a whole MDP are in :mod:`fastpg.mdp` (also exported here).

Conventions (docs/design.md, "tabular"):

* Updates are **in place** and **sequential**: after a batch, the table equals
  the table after a Python loop over the transitions in order, also when one
  (s, a) appears several times (three terminal transitions on one (s, a) with
  rewards 1, 2, 3 and α = 0.5 from Q = 0 give 2.125; ``Q[s, a] += ...``
  would give 1.5 and ``np.add.at`` 3.0).
* Every update returns the TD errors δ_i (computed with the table as it is
  just before transition i), in the table's dtype.
* ``terminated[i]`` stops bootstrapping; a truncation (time limit) is simply
  not passed as terminated.
* ``alpha`` (in (0, 1]), ``gamma`` (in [0, 1]) and ``epsilon`` (in [0, 1])
  are scalars or per-transition arrays (e.g. α_k = α₀ / (1 + k·decay)).
* Entries of ``-inf`` mark impossible actions (as value iteration writes
  them): ``max`` ignores them and the ε-greedy choices never pick them.
* Everything is validated before the table is touched: a bad index, a NaN
  or a shape mismatch raises and leaves the table exactly as it was.
* Tables must be float32 or float64 NumPy arrays (they are written); any
  layout works (a non-contiguous table is updated through a copy).
"""
from __future__ import annotations

import numpy as np

from . import _backend
from . import _checks as C
from ._interop import tensors_follow
from .mdp import RolloutResult, ValueIterationResult, q_learning_rollout, value_iteration

__all__ = ["q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0",
           "epsilon_greedy", "value_iteration", "ValueIterationResult", "q_learning_rollout",
           "RolloutResult"]


def _kernel(name, backend):
    return _backend.kernel("tabular", name, backend)


def _no_nan_rows(Q, name, rows):
    """NaN in the table is an error: checked over the whole table or the rows a
    batch touches, whichever is smaller (a streaming sum first)."""
    if Q.shape[0] <= len(rows):
        if np.isnan(Q.sum()) and np.isnan(Q).any():
            bad = np.argwhere(np.isnan(Q))[0]
            raise ValueError(f"{name} contains NaN at {tuple(int(i) for i in bad)}")
    else:
        sub = Q[np.unique(rows)]
        if np.isnan(sub).any():
            r = np.unique(rows)[np.isnan(sub).reshape(len(sub), -1).any(axis=1)][0]
            raise ValueError(f"{name} contains NaN in row {int(r)}")


def _indices(x, name, N, upper, upper_name):
    arr = np.asarray(x)
    return C.index_array(np.reshape(arr, -1) if arr.ndim == 0 else arr, name, N, upper,
                         upper_name, allow_float=False)


def _rewards(r, N, dt):
    arr = C.per_item_array(r, "rewards", N, dt, per="transition")
    C.all_finite(arr, "rewards")
    return arr


def _common(Q, states, actions, rewards, next_states, terminated, gamma, alpha, qname="Q"):
    st = C.real_array(states, "states")
    scalar = st.ndim == 0
    if st.ndim > 1:
        raise ValueError(f"states must be a 1-D array of indices (or one index); got shape {st.shape}")
    N = 1 if scalar else st.shape[0]
    # per-transition arrays of different lengths: name the odd one, not just
    # the first one that differs from states
    C.common_length({"states": states, "actions": actions, "rewards": rewards,
                     "next_states": next_states}, "states")
    S, A = Q.shape[0], (Q.shape[1] if Q.ndim == 2 else None)
    s = _indices(st, "states", N, S, f"{qname}.shape[0]")
    a = None if actions is None else _indices(actions, "actions", N, A, f"{qname}.shape[1]")
    s2 = _indices(next_states, "next_states", N, S, f"{qname}.shape[0]")
    dt = Q.dtype
    r = _rewards(rewards, N, dt)
    te = C.item_flags(terminated, "terminated", N, per="transition")
    g = C.per_item(gamma, "gamma", N, dt, 0.0, 1.0, per="transition")
    al = C.per_item(alpha, "alpha", N, dt, 0.0, 1.0, lo_open=True, per="transition")
    return scalar, N, s, a, s2, r, te, g, al


_INDEX = (int, np.integer)
_REAL = (int, float, np.integer, np.floating)


def _scalar_index(x, name, upper, upper_name):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, _INDEX):
        return None
    if not 0 <= x < upper:
        raise ValueError(f"{name}[0] = {int(x)} is out of range: {name} must lie in [0, {upper}) "
                         f"({upper_name} = {upper})")
    return np.array([x], np.int64)


def _scalar_real(x, name, dt, lo=None, hi=None, lo_open=False):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, _REAL):
        return None
    v = float(x)
    if lo is not None and not ((v > lo if lo_open else v >= lo) and v <= hi):
        raise ValueError(f"{name} must lie in {C.interval(lo, hi, lo_open)}; got {x!r}")
    if lo is None and not np.isfinite(v):
        raise ValueError(f"{name} must be finite; {name}[0] = {v!r}")
    return np.array([v], dt)


def _one_transition(Q, qname, states, actions, rewards, next_states, terminated, gamma, alpha):
    """The per-step case (every argument a scalar), checked without array
    machinery: an agent calls this once per environment step. Returns the
    kernel arguments, or None to take the general path."""
    S = Q.shape[0]
    s = _scalar_index(states, "states", S, f"{qname}.shape[0]")
    if s is None:
        return None
    a = None
    if actions is not None:
        a = _scalar_index(actions, "actions", Q.shape[1], f"{qname}.shape[1]")
        if a is None:
            return None
    s2 = _scalar_index(next_states, "next_states", S, f"{qname}.shape[0]")
    if s2 is None:
        return None
    if terminated is None:
        te = 0
    elif isinstance(terminated, (bool, np.bool_, int, np.integer)):
        te = 1 if terminated else 0
    else:
        return None
    dt = Q.dtype
    r = _scalar_real(rewards, "rewards", dt)
    g = _scalar_real(gamma, "gamma", dt, 0.0, 1.0)
    al = _scalar_real(alpha, "alpha", dt, 0.0, 1.0, lo_open=True)
    if r is None or g is None or al is None:
        return None
    if np.isnan(Q[int(s2[0])]).any():
        raise ValueError(f"{qname} contains NaN in row {int(s2[0])}")
    return s, a, r, s2, np.array([te], np.uint8), g, al


def _out_for(out, N, dt, tables):
    """The array the kernel writes its per-row results (TD errors, actions)
    into: ``out`` itself when it is contiguous, else a fresh one (_result copies
    it into ``out``). ``out`` must not share memory with a table, which the
    kernel reads and writes at the same time."""
    if out is None:
        return np.empty(N, dt)
    C.out_array(out, "out", (N,), dt)
    C.no_alias(out, "out", tables)
    return out if out.flags.c_contiguous else np.empty(N, dt)


def _run_inplace(tables, call):
    """Call the kernel on C-contiguous tables (a copy for any other layout,
    written back after the kernel has run: validation has happened by then)."""
    work = [T if T.flags.c_contiguous else np.ascontiguousarray(T) for T in tables]
    call(*work)
    for T, W in zip(tables, work):
        if W is not T:
            T[...] = W


def _result(td, scalar, out=None):
    if out is not None and td is not out:  # a non-contiguous out= gets the values now
        out[...] = td
        td = out
    return td[0] if scalar else td


def _one_td(name, backend, table, *args):
    """One transition on a C-contiguous table, no copies: ``kernel(table, *args,
    td)`` and its TD error as a scalar."""
    td = np.empty(1, table.dtype)
    _kernel(name, backend)(table, *args, td)
    return td[0]


def _update(name, backend, tables, out, scalar, N, s2, *args):
    """The batched update ``name``: the tables' rows read as next states
    checked for NaN (2-D tables), ``td`` from ``out``, the kernel run on
    C-contiguous tables as ``kernel(*tables, *args, td)``; the TD errors."""
    for tname, T in tables:
        if T.ndim == 2:
            _no_nan_rows(T, tname, s2)
    td = _out_for(out, N, tables[0][1].dtype, tables)
    fn = _kernel(name, backend)
    _run_inplace([T for _, T in tables], lambda *work: fn(*work, *args, td))
    return _result(td, scalar, out)


@tensors_follow
def q_learning(Q, states, actions, rewards, next_states, terminated=None, gamma=0.99, alpha=0.1,
               *, out=None, backend=None):
    r"""Q-learning, in place: :math:`\delta_i = r_i + \gamma_i (1 - \mathrm{term}_i)
    \max_b Q[s'_i, b] - Q[s_i, a_i]`, :math:`Q[s_i, a_i] \mathrel{+}= \alpha_i \delta_i`,
    sequentially over i. Returns the TD errors δ (or δ_0 for scalar inputs)."""
    C.inplace_table(Q, "Q")
    one = None if out is not None else _one_transition(Q, "Q", states, actions, rewards,
                                                       next_states, terminated, gamma, alpha)
    if one is not None and Q.flags.c_contiguous:
        return _one_td("q_learning", backend, Q, *one)
    scalar, N, s, a, s2, r, te, g, al = _common(Q, states, actions, rewards, next_states,
                                                 terminated, gamma, alpha)
    return _update("q_learning", backend, [("Q", Q)], out, scalar, N, s2, s, a, r, s2, te, g, al)


@tensors_follow
def sarsa(Q, states, actions, rewards, next_states, next_actions, terminated=None, gamma=0.99,
          alpha=0.1, *, out=None, backend=None):
    r"""SARSA, in place: :math:`\delta_i = r_i + \gamma_i (1 - \mathrm{term}_i)
    Q[s'_i, a'_i] - Q[s_i, a_i]` (``next_actions`` a'_i is ignored where terminated,
    but must still be a valid index), :math:`Q[s_i, a_i] \mathrel{+}= \alpha_i \delta_i`."""
    C.inplace_table(Q, "Q")
    one = None if out is not None else _one_transition(Q, "Q", states, actions, rewards,
                                                       next_states, terminated, gamma, alpha)
    if one is not None and Q.flags.c_contiguous:
        a2 = _scalar_index(next_actions, "next_actions", Q.shape[1], "Q.shape[1]")
        if a2 is not None:
            s, a, r, s2, te, g, al = one
            return _one_td("sarsa", backend, Q, s, a, r, s2, a2, te, g, al)
    scalar, N, s, a, s2, r, te, g, al = _common(Q, states, actions, rewards, next_states,
                                                 terminated, gamma, alpha)
    a2 = _indices(next_actions, "next_actions", N, Q.shape[1], "Q.shape[1]")
    return _update("sarsa", backend, [("Q", Q)], out, scalar, N, s2, s, a, r, s2, a2, te, g, al)


@tensors_follow
def expected_sarsa(Q, states, actions, rewards, next_states, terminated=None, gamma=0.99,
                   alpha=0.1, epsilon=0.1, *, out=None, backend=None):
    r"""Expected SARSA with an ε-greedy target policy, in place:

    .. math:: \delta_i = r_i + \gamma_i (1 - \mathrm{term}_i) \Big(\frac{\varepsilon_i}{n}
        \sum_{b\ \mathrm{possible}} Q[s'_i, b] + (1 - \varepsilon_i) \max_b Q[s'_i, b]\Big) - Q[s_i, a_i]

    (ε spread uniformly over the n possible actions, the greedy mass 1 - ε split
    evenly over tied maxima, which leaves its value at the max).
    """
    C.inplace_table(Q, "Q")
    one = None if out is not None else _one_transition(Q, "Q", states, actions, rewards,
                                                       next_states, terminated, gamma, alpha)
    if one is not None and Q.flags.c_contiguous:
        eps = _scalar_real(epsilon, "epsilon", Q.dtype, 0.0, 1.0)
        if eps is not None:
            return _one_td("expected_sarsa", backend, Q, *one, eps)
    scalar, N, s, a, s2, r, te, g, al = _common(Q, states, actions, rewards, next_states,
                                                 terminated, gamma, alpha)
    eps = C.per_item(epsilon, "epsilon", N, Q.dtype, 0.0, 1.0, per="transition")
    return _update("expected_sarsa", backend, [("Q", Q)], out, scalar, N, s2, s, a, r, s2, te, g,
                   al, eps)


@tensors_follow
def double_q_learning(Q1, Q2, states, actions, rewards, next_states, which, terminated=None,
                      gamma=0.99, alpha=0.1, *, out=None, backend=None):
    r"""Double Q-learning (van Hasselt, 2010), in place. Transition i updates
    ``Q1`` if ``which[i] == 0``, else ``Q2``; the updated table picks
    :math:`a^* = \arg\max_b Q_\mathrm{upd}[s'_i, b]` (first maximum) and the
    other evaluates it: :math:`\delta_i = r_i + \gamma_i (1 - \mathrm{term}_i)
    Q_\mathrm{other}[s'_i, a^*] - Q_\mathrm{upd}[s_i, a_i]`. ``which`` is drawn
    by the caller (e.g. ``rng.integers(0, 2, N)``)."""
    C.inplace_table(Q1, "Q1")
    C.inplace_table(Q2, "Q2")
    if Q1.shape != Q2.shape or Q1.dtype != Q2.dtype:
        raise ValueError(f"Q1 and Q2 must have the same shape and dtype; got {Q1.shape} "
                         f"{Q1.dtype} and {Q2.shape} {Q2.dtype}")
    if np.may_share_memory(Q1, Q2):
        raise ValueError("Q1 and Q2 must be two different tables (they share memory)")
    scalar, N, s, a, s2, r, te, g, al = _common(Q1, states, actions, rewards, next_states,
                                                 terminated, gamma, alpha, "Q1")
    w = np.asarray(which)
    if w.dtype.kind not in "biu":
        raise TypeError(f"which must hold 0 or 1 (integers or bools); got dtype {w.dtype}")
    w = np.reshape(w, -1) if w.ndim == 0 else w
    if w.shape != (N,):
        raise ValueError(f"which must have shape ({N},) (one per transition); got {w.shape}")
    # one pass (a negative reads as a huge unsigned integer)
    if N and w.dtype.kind != "b" and w.view(f"u{w.dtype.itemsize}").max() > 1:
        raise ValueError("which must hold only 0 (update Q1) or 1 (update Q2)")
    w = np.ascontiguousarray(w, dtype=np.uint8)
    return _update("double_q_learning", backend, [("Q1", Q1), ("Q2", Q2)], out, scalar, N, s2,
                   s, a, r, s2, te, g, al, w)


@tensors_follow
def td0(V, states, rewards, next_states, terminated=None, gamma=0.99, alpha=0.1, *, out=None,
        backend=None):
    r"""TD(0) state values, in place: :math:`\delta_i = r_i + \gamma_i (1 - \mathrm{term}_i)
    V[s'_i] - V[s_i]`, :math:`V[s_i] \mathrel{+}= \alpha_i \delta_i`."""
    C.inplace_table(V, "V", ndim=1)
    scalar, N, s, _, s2, r, te, g, al = _common(V, states, None, rewards, next_states,
                                                 terminated, gamma, alpha, "V")
    if np.isnan(V.sum()) and np.isnan(V).any():
        raise ValueError(f"V contains NaN at {int(np.flatnonzero(np.isnan(V))[0])}")
    return _update("td0", backend, [("V", V)], out, scalar, N, s2, s, r, s2, te, g, al)


def _choosable(rows, states, used=None):
    """Rows of Q that epsilon_greedy picks from: no NaN, and at least one
    action that is not -inf (a possible action). ``used``: the states among
    ``states`` that matter (default: all)."""
    bad_nan = np.isnan(rows).any(axis=1)
    none = ~(rows > -np.inf).any(axis=1)
    if used is not None:
        bad_nan, none = bad_nan[used], none[used]
        states = states[used]
    if bad_nan.any():
        raise ValueError(f"Q contains NaN in row {int(states[np.flatnonzero(bad_nan)[0]])}, "
                         "which it must choose from")
    if none.any():
        s = int(states[np.flatnonzero(none)[0]])
        raise ValueError(f"state {s} has no possible action (every entry of Q[{s}] is -inf)")


@tensors_follow
def epsilon_greedy(Q, states, epsilon, rng=None, *, out=None, backend=None):
    r"""ε-greedy actions for ``states``: with probability ε a uniformly random
    possible action (entries of ``-inf`` are impossible), else a greedy one,
    ties broken uniformly at random.

    Reproducible from the seed, and the same on every backend: the public
    function draws ``u_explore = rng.random(N)`` then ``u_pick = rng.random(N)``
    and every backend takes the ``floor(u_pick · n)``-th candidate (in action
    order) of the n candidates. Returns int64 actions (an int for one state).
    """
    if (type(Q) is np.ndarray and Q.ndim == 2 and Q.dtype in (np.float32, np.float64)
            and Q.flags.c_contiguous and out is None and Q.shape[1] > 0):
        s1 = _scalar_index(states, "states", Q.shape[0], "Q.shape[0]")
        e1 = _scalar_real(epsilon, "epsilon", Q.dtype, 0.0, 1.0)
        if s1 is not None and e1 is not None:  # one state: the per-step case of an agent
            _choosable(Q[s1], s1)
            gen = C.generator(rng)
            u = gen.random(2)  # the same draws as the general path (u_explore, then u_pick)
            res = np.empty(1, np.int64)
            _kernel("epsilon_greedy", backend)(Q, s1, e1, u[:1], u[1:], res)
            return int(res[0])
    Q = C.real_array(Q, "Q")  # complex, object or string tables are errors
    Qc = np.ascontiguousarray(Q, dtype=C.float_dtype(Q))
    if Qc.ndim != 2 or Qc.shape[1] == 0:
        raise ValueError(f"Q must have shape (n_states, n_actions); got {Q.shape}")
    st = np.asarray(states)
    scalar = st.ndim == 0
    N = 1 if scalar else st.shape[0]
    s = _indices(st, "states", N, Qc.shape[0], "Q.shape[0]")
    eps = C.per_item(epsilon, "epsilon", N, Qc.dtype, 0.0, 1.0, per="transition")
    if N:
        # the rows chosen from, or the whole table when that is smaller
        if N <= Qc.shape[0]:
            _choosable(Qc[s], s)
        else:
            _choosable(Qc, np.arange(Qc.shape[0]), s)
    gen = C.generator(rng)
    u1 = gen.random(N)
    u2 = gen.random(N)
    res = _out_for(out, N, np.int64, [("Q", Q)])
    _kernel("epsilon_greedy", backend)(Qc, s, eps, u1, u2, res)
    return _result(res, scalar, out)
