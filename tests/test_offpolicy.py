"""V-trace and Retrace: hand-computed cases, an independent closed-form oracle
(the sums of products in the papers, not the recursions), every compiled
backend against the reference (hypothesis), the documented special cases,
episode flags and bad input."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastpg

from .conftest import tol
from .test_returns_parity import episodes


# ---- hand-computed -----------------------------------------------------------

def test_vtrace_by_hand(backend, dtype):
    # ratios 2, 0.5, 1 (clipped at 1); V' = values[t + 1], then 2 after the last step
    # t=2: delta = 3 + 0.5*2 - 1.5 = 2.5, v = 4; pg = 2.5
    # t=1: delta = 0.5 (2 + 0.5*1.5 - 1) = 0.875, v - V = 0.875 + 0.5*0.5*2.5 = 1.5;
    #      pg = 0.5 (2 + 0.5*4 - 1) = 1.5
    # t=0: delta = 1 + 0.5 - 0.5 = 1, v - V = 1 + 0.5*1*1.5 = 1.75; pg = 1 + 0.5*2.5 - 0.5
    r = np.array([1.0, 2.0, 3.0], dtype)
    v = np.array([0.5, 1.0, 1.5], dtype)
    lr = np.log(np.array([2.0, 0.5, 1.0])).astype(dtype)
    vs, pg = fastpg.vtrace(r, v, np.array(2.0, dtype), lr, 0.5, backend=backend)
    assert vs.dtype == np.dtype(dtype) and pg.dtype == np.dtype(dtype)
    np.testing.assert_allclose(vs, [2.25, 2.5, 4.0], **tol(dtype))
    np.testing.assert_allclose(pg, [1.75, 1.5, 2.5], **tol(dtype))


def test_vtrace_flags_by_hand(backend):
    # on-policy, gamma 1, lam 1: vs are Monte-Carlo returns inside each episode;
    # step 1 terminated (no bootstrap), step 3 truncated (bootstraps from its
    # final observation's value 10, not from values[4])
    r = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    v = np.zeros(5)
    nv = np.array([0.0, 99.0, 0.0, 10.0, 5.0])
    term = np.array([0, 1, 0, 0, 0], bool)
    trunc = np.array([0, 0, 0, 1, 0], bool)
    vs, pg = fastpg.vtrace(r, v, nv, np.zeros(5), 1.0, 1.0, term, trunc, backend=backend)
    np.testing.assert_allclose(vs, [2.0, 1.0, 12.0, 11.0, 6.0])
    np.testing.assert_allclose(pg, [2.0, 1.0, 12.0, 11.0, 6.0])


def test_retrace_by_hand(backend, dtype):
    # G_2 = r + g V'_2 = 3 + 0.5*4 = 5
    # G_1 = 2 + 0.5 (V'_1 + c_2 (G_2 - Q_2)) = 2 + 0.5 (1 + 0.5*1*(5 - 2)) = 3.25
    # G_0 = 1 + 0.5 (V'_0 + c_1 (G_1 - Q_1)) with c_1 = 0.5*min(1, 0.5) = 0.25
    #     = 1 + 0.5 (2 + 0.25 (3.25 - 1)) = 2.28125
    r = np.array([[1.0], [2.0], [3.0]], dtype)
    q = np.array([[0.0], [1.0], [2.0]], dtype)
    nv = np.array([[2.0], [1.0], [4.0]], dtype)
    lr = np.log(np.array([[3.0], [0.5], [4.0]])).astype(dtype)
    got = fastpg.retrace(r, q, nv, lr, 0.5, 0.5, backend=backend)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got[:, 0], [2.28125, 3.25, 5.0], **tol(dtype))


# ---- an independent oracle: the closed forms ---------------------------------

def _ends(term, trunc, T):
    return [bool(term[t] or trunc[t] or t == T - 1) for t in range(T)]


def _traced(base, delta, done, decay):
    """base_s + sum_{t >= s, same episode} (prod_{s <= i < t} decay(i)) delta_t,
    summed term by term from each s (quadratic, independent of the kernels' recursion)."""
    out = []
    for s in range(len(delta)):
        total, prod = 0.0, 1.0
        for t in range(s, len(delta)):
            total += prod * delta[t]
            if done[t]:
                break
            prod *= decay(t)
        out.append(base[s] + total)
    return out


def _oracle_vtrace(r, v, nv, lr, g, lam, term, trunc, rho_bar, c_bar, pg_bar):
    """IMPALA's definition: v_s = V_s + sum_{t >= s, same episode}
    (prod_{i<t} gamma_i c_i) delta_t, then the advantages from v_{s+1}."""
    T = len(r)
    done = _ends(term, trunc, T)
    ratio = [math.exp(x) for x in lr]
    delta = [min(rho_bar, ratio[t]) * (r[t] + (0.0 if term[t] else g[t] * nv[t]) - v[t])
             for t in range(T)]
    vs = _traced(v, delta, done, lambda t: g[t] * lam[t] * min(c_bar, ratio[t]))
    pg = []
    for s in range(T):
        nxt = nv[s] if done[s] else vs[s + 1]
        pg.append(min(pg_bar, ratio[s]) * (r[s] + (0.0 if term[s] else g[s] * nxt) - v[s]))
    return vs, pg


def _oracle_retrace(r, q, nv, lr, g, lam, term, trunc, c_bar):
    """G_s = Q_s + sum_{t >= s, same episode} (prod_{s<i<=t} gamma_{i-1} c_i)
    (r_t + gamma_t V'_t - Q_t)."""
    T = len(r)
    done = _ends(term, trunc, T)
    c = [lam[t] * min(c_bar, math.exp(lr[t])) for t in range(T)]
    td = [r[t] + (0.0 if term[t] else g[t] * nv[t]) - q[t] for t in range(T)]
    return _traced(q, td, done, lambda t: g[t] * c[t + 1])


@st.composite
def streams(draw):
    T = draw(st.integers(1, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = draw(st.sampled_from([0.0, 0.15, 0.5]))
    lr = rng.standard_normal(T) * draw(st.sampled_from([0.0, 0.5, 2.0]))
    lr[rng.random(T) < 0.1] = -np.inf
    per_step = draw(st.booleans())
    return dict(
        r=rng.standard_normal(T) * 2, v=rng.standard_normal(T), nv=rng.standard_normal(T), lr=lr,
        g=rng.uniform(0.5, 1.0, T) if per_step else np.full(T, 0.9),
        lam=rng.uniform(0.0, 1.0, T) if per_step else np.full(T, draw(st.sampled_from([0.0, 0.7, 1.0]))),
        term=rng.random(T) < p, trunc=rng.random(T) < p,
        clips=draw(st.sampled_from([(1.0, 1.0, 1.0), (2.0, 0.5, math.inf), (0.3, 0.0, 1.0)])))


@given(d=streams())
def test_vtrace_matches_the_closed_form(d, backend):
    rho, cc, pgc = d["clips"]
    want_vs, want_pg = _oracle_vtrace(d["r"], d["v"], d["nv"], d["lr"], d["g"], d["lam"],
                                      d["term"], d["trunc"], rho, cc, pgc)
    vs, pg = fastpg.vtrace(d["r"], d["v"], d["nv"], d["lr"], d["g"], d["lam"], d["term"],
                           d["trunc"], rho_clip=rho, c_clip=cc, pg_rho_clip=pgc, backend=backend)
    np.testing.assert_allclose(vs, want_vs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pg, want_pg, rtol=1e-10, atol=1e-10)


@given(d=streams())
def test_retrace_matches_the_closed_form(d, backend):
    cc = d["clips"][1]
    want = _oracle_retrace(d["r"], d["v"], d["nv"], d["lr"], d["g"], d["lam"], d["term"],
                           d["trunc"], cc)
    got = fastpg.retrace(d["r"], d["v"], d["nv"], d["lr"], d["g"], d["lam"], d["term"],
                         d["trunc"], c_clip=cc, backend=backend)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


# ---- compiled backends against the reference ---------------------------------

@st.composite
def batches(draw):
    """The return kernels' layouts and flags (test_returns_parity.episodes),
    plus log ratios with a few actions the target policy never takes."""
    e = draw(episodes())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lr = rng.standard_normal(e["shape"])
    lr[rng.random(e["shape"]) < 0.05] = -np.inf
    return dict(shape=e["shape"], axis=e["axis"], r=e["rewards"], v=e["values"],
                nv=e["next_values"], lr=lr, term=e["terminated"], trunc=e["truncated"],
                g=e["gamma"], lam=e["lam"])


@pytest.mark.parity
@given(d=batches())
def test_compiled_match_the_reference(d, backend, dtype):
    a = {k: (x.astype(dtype) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x)
         for k, x in d.items()}
    kw = dict(terminated=a["term"], truncated=a["trunc"], axis=a["axis"])
    for name, args, extra in (("vtrace", (a["r"], a["v"], a["nv"], a["lr"]),
                               dict(rho_clip=1.5, c_clip=0.8, pg_rho_clip=1.0)),
                              ("retrace", (a["r"], a["v"], a["nv"], a["lr"]), dict(c_clip=1.0))):
        fn = getattr(fastpg, name)
        got = fn(*args, a["g"], a["lam"], **kw, **extra, backend=backend)
        want = fn(*args, a["g"], a["lam"], **kw, **extra, backend="numpy")
        for x, y in zip(*((got, want) if name == "vtrace" else ((got,), (want,)))):
            assert x.dtype == np.dtype(dtype) and x.shape == d["shape"]
            np.testing.assert_allclose(x, y, **tol(dtype))


@pytest.mark.parity
@pytest.mark.parametrize("shape", [(600,), (700, 3), (300, 40), (5, 300)])
def test_blocks_of_ratios_match_the_reference(shape, backend, dtype):
    """The compiled scans take their ratios in blocks of ratio_steps(B) steps
    (fastpg/_kernels/offpolicy.py): several blocks with a short last one for a
    flat stream and narrow batches, one step per block for a wide one."""
    rng = np.random.default_rng(sum(shape))
    r, v, nv, lr = (rng.standard_normal(shape).astype(dtype) for _ in range(4))
    lr[rng.random(shape) < 0.02] = -np.inf
    g = rng.uniform(0.9, 1.0, shape).astype(dtype)
    term, trunc = rng.random(shape) < 0.01, rng.random(shape) < 0.01
    kw = dict(terminated=term, truncated=trunc)
    for name, extra in (("vtrace", dict(rho_clip=1.2, c_clip=0.9)), ("retrace", {})):
        fn = getattr(fastpg, name)
        got = fn(r, v, nv, lr, g, 0.9, **kw, **extra, backend=backend)
        want = fn(r, v, nv, lr, g, 0.9, **kw, **extra, backend="numpy")
        for x, y in zip(*((got, want) if name == "vtrace" else ((got,), (want,)))):
            np.testing.assert_allclose(x, y, **tol(dtype))


# ---- documented special cases -------------------------------------------------

def test_on_policy_vtrace_is_the_lambda_return_on_consistent_values(backend):
    rng = np.random.default_rng(3)
    T, B = 40, 3
    r, v = rng.standard_normal((T, B)), rng.standard_normal((T, B))
    last = rng.standard_normal(B)
    nv = np.concatenate([v[1:], last[None]])
    term = rng.random((T, B)) < 0.1
    for lam in (0.0, 0.6, 1.0):
        vs, pg = fastpg.vtrace(r, v, last, np.zeros((T, B)), 0.9, lam, term, backend=backend)
        np.testing.assert_allclose(vs, fastpg.lambda_returns(r, nv, 0.9, lam, term), atol=1e-12)
        nxt = np.where(term, 0.0, np.concatenate([vs[1:], last[None]]))
        np.testing.assert_allclose(pg, r + 0.9 * nxt - v, atol=1e-12)


def test_retrace_with_zero_lambda_is_the_one_step_target(backend, dtype):
    rng = np.random.default_rng(5)
    r, q, nv = (rng.standard_normal((20, 4)).astype(dtype) for _ in range(3))
    lr = rng.standard_normal((20, 4)).astype(dtype)
    term = rng.random((20, 4)) < 0.2
    got = fastpg.retrace(r, q, nv, lr, 0.9, 0.0, term, backend=backend)
    np.testing.assert_allclose(got, r + np.where(term, 0, 0.9 * nv), **tol(dtype))


def test_nan_stays_in_its_episode(backend):
    r = np.array([1.0, np.nan, 1.0, 1.0])
    v = np.zeros(4)
    term = np.array([0, 1, 0, 0], bool)
    vs, pg = fastpg.vtrace(r, v, v, np.zeros(4), 0.9, 1.0, term, backend=backend)
    assert np.isnan(vs[:2]).all() and np.isfinite(vs[2:]).all() and np.isfinite(pg[2:]).all()
    q = fastpg.retrace(r, v, v, np.zeros(4), 0.9, 1.0, term, backend=backend)
    assert np.isnan(q[:2]).all() and np.isfinite(q[2:]).all()


def test_a_zero_trace_cuts_inside_an_episode(backend):
    # no episode end: lam = 0, or pi(a_0) = 0, must keep step 1's NaN out of step 0
    r = np.array([1.0, np.nan])
    v = np.array([0.5, 0.0])
    nv = np.zeros(2)
    # delta_0 = 1 + 0.9 * 0 - 0.5 = 0.5, so v_0 = 0.5 + 0.5 whatever comes after
    vs, pg = fastpg.vtrace(r, v, nv, np.zeros(2), 0.9, 0.0, backend=backend)
    assert vs[0] == 1.0 and np.isnan(vs[1])
    # rho_0 = 0: v_0 = V_0, and a zero-weight advantage
    vs, pg = fastpg.vtrace(r, v, nv, np.array([-np.inf, 0.0]), 0.9, 1.0, backend=backend)
    assert vs[0] == 0.5 and pg[0] == 0.0 and np.isnan(vs[1])
    # c_1 = 0: G_0 = r_0 + 0.9 * V'_0
    q = fastpg.retrace(r, v, nv, np.array([0.0, -np.inf]), 0.9, 1.0, backend=backend)
    assert q[0] == 1.0 and np.isnan(q[1])


def test_zero_target_probability_cuts_the_trace(backend):
    # pi(a_1) = 0: rho_1 = c_1 = 0, so nothing after step 0 reaches it
    r = np.array([1.0, 5.0, 7.0])
    v = np.zeros(3)
    lr = np.array([0.0, -np.inf, 0.0])
    vs, pg = fastpg.vtrace(r, v, v, lr, 1.0, 1.0, backend=backend)
    np.testing.assert_allclose(vs, [1.0, 0.0, 7.0])
    np.testing.assert_allclose(pg, [1.0, 0.0, 7.0])
    q = fastpg.retrace(r, v, v, lr, 1.0, 1.0, backend=backend)
    np.testing.assert_allclose(q, [1.0, 12.0, 7.0])


def test_out_and_float32(backend):
    rng = np.random.default_rng(0)
    r, v, lr = (rng.standard_normal((6, 2)).astype(np.float32) for _ in range(3))
    o1, o2 = np.empty((6, 2), np.float32), np.empty((6, 2), np.float32)
    res = fastpg.vtrace(r, v, v, lr, 0.9, out=(o1, o2), backend=backend)
    assert res.vs is o1 and res.pg_advantages is o2
    o = np.empty((6, 2), np.float32)
    assert fastpg.retrace(r, v, v, lr, 0.9, out=o, backend=backend) is o


# ---- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_log_rhos_must_not_be_nan_or_plus_inf(bad):
    lr = np.zeros(4)
    lr[2] = bad
    with pytest.raises(ValueError, match=r"log_rhos.*log_rhos\[2\]"):
        fastpg.vtrace(np.ones(4), np.zeros(4), np.zeros(4), lr, 0.9)
    with pytest.raises(ValueError, match=r"log_rhos"):
        fastpg.retrace(np.ones(4), np.zeros(4), np.zeros(4), lr, 0.9)


@pytest.mark.parametrize("kw, match", [
    (dict(rho_clip=-1.0), "rho_clip"), (dict(c_clip=np.nan), "c_clip"),
    (dict(pg_rho_clip="1"), "pg_rho_clip"), (dict(lam=1.5), "lam"),
])
def test_bad_parameters_are_named(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fastpg.vtrace(np.ones(4), np.zeros(4), np.zeros(4), np.zeros(4), 0.9, **kw)


def test_shapes_and_out_are_checked():
    with pytest.raises(ValueError, match="log_rhos"):
        fastpg.vtrace(np.ones(4), np.zeros(4), np.zeros(4), np.zeros(3), 0.9)
    with pytest.raises(ValueError, match="next_values"):
        fastpg.retrace(np.ones(4), np.zeros(4), np.zeros(()), np.zeros(4), 0.9)
    with pytest.raises(ValueError, match="truncation before the last step"):
        fastpg.vtrace(np.ones(4), np.zeros(4), np.zeros(()), np.zeros(4), 0.9,
                      truncated=[0, 1, 0, 0])
    with pytest.raises(TypeError, match="pair"):
        fastpg.vtrace(np.ones(4), np.zeros(4), np.zeros(4), np.zeros(4), 0.9, out=np.empty(4))
