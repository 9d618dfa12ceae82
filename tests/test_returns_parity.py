"""Every return kernel x backend x dtype against the NumPy reference (hypothesis),
and the reference itself against plain-Python float64 loops."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastpg

from .conftest import tol


@st.composite
def episodes(draw):
    ndim = draw(st.integers(1, 3))
    T = draw(st.integers(0, 40))
    batch = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim - 1, max_size=ndim - 1)))
    axis = draw(st.integers(0, ndim - 1))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = list(batch)
    shape.insert(axis, T)
    shape = tuple(shape)
    p = draw(st.sampled_from([0.0, 0.1, 0.4]))
    d = dict(
        shape=shape, axis=axis,
        rewards=rng.standard_normal(shape) * 3,
        values=rng.standard_normal(shape),
        next_values=rng.standard_normal(shape),
        terminated=(rng.random(shape) < p) if draw(st.booleans()) else None,
        truncated=(rng.random(shape) < p) if draw(st.booleans()) else None,
        lam=draw(st.sampled_from([0.0, 0.5, 0.95, 1.0])),
        n=draw(st.integers(1, 6)),
    )
    kind = draw(st.sampled_from(["scalar", "per-step", "zero", "one"]))
    d["gamma"] = {"scalar": 0.9, "zero": 0.0, "one": 1.0,
                  "per-step": rng.uniform(0.5, 1.0, shape)}[kind]
    return d


def _cast(d, dtype):
    c = dict(d)
    for k in ("rewards", "values", "next_values"):
        c[k] = d[k].astype(dtype)
    if isinstance(d["gamma"], np.ndarray):
        c["gamma"] = d["gamma"].astype(dtype)
    return c


def _call(name, d, backend):
    kw = dict(terminated=d["terminated"], truncated=d["truncated"], axis=d["axis"], backend=backend)
    if name == "discounted_returns":
        return fastpg.discounted_returns(d["rewards"], d["gamma"], next_values=d["next_values"], **kw)
    if name == "gae":
        return fastpg.gae(d["rewards"], d["values"], d["next_values"], d["gamma"], d["lam"], **kw)
    if name == "lambda_returns":
        return fastpg.lambda_returns(d["rewards"], d["next_values"], d["gamma"], d["lam"], **kw)
    return fastpg.nstep_returns(d["rewards"], d["next_values"], d["gamma"], d["n"], **kw)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["discounted_returns", "gae", "lambda_returns", "nstep_returns"])
@given(d=episodes())
def test_matches_reference(name, d, backend, dtype):
    d = _cast(d, dtype)
    got = _call(name, d, backend)
    want = _call(name, d, "numpy")
    pairs = zip(got, want) if name == "gae" else [(got, want)]
    for g, w in pairs:
        assert g.dtype == np.dtype(dtype) and g.shape == d["shape"]
        np.testing.assert_allclose(g, w, **tol(dtype))


# ---- an independent oracle for the reference: plain Python floats ----------

def _loop_discounted(r, g, term, trunc, nv):
    T = len(r)
    G = [0.0] * T
    for t in reversed(range(T)):
        if term[t]:
            G[t] = r[t]
        elif trunc[t] or t == T - 1:
            G[t] = r[t] + g[t] * nv[t]
        else:
            G[t] = r[t] + g[t] * G[t + 1]
    return G


def _loop_gae(r, v, nv, g, lam, term, trunc):
    T = len(r)
    A = [0.0] * T
    nxt = 0.0
    for t in reversed(range(T)):
        delta = r[t] + (0.0 if term[t] else g[t] * nv[t]) - v[t]
        if term[t] or trunc[t] or t == T - 1:
            nxt = 0.0
        A[t] = delta + g[t] * lam * nxt
        nxt = A[t]
    return A, [a + b for a, b in zip(A, v)]


def _loop_nstep(r, nv, g, n, term, trunc):
    T = len(r)
    out = []
    for t in range(T):
        acc, disc = 0.0, 1.0
        for k in range(n):
            s = t + k
            acc += disc * r[s]
            if term[s]:
                break
            if trunc[s] or s == T - 1 or k == n - 1:
                acc += disc * g[s] * nv[s]
                break
            disc *= g[s]
        out.append(acc)
    return out


@given(T=st.integers(1, 30), seed=st.integers(0, 2**31), p=st.sampled_from([0.0, 0.2, 0.5]),
       n=st.integers(1, 5), lam=st.floats(0, 1))
def test_reference_equals_plain_python_loops(T, seed, p, n, lam):
    rng = np.random.default_rng(seed)
    r, v, nv = (rng.standard_normal(T) for _ in range(3))
    g = rng.uniform(0, 1, T)
    term, trunc = rng.random(T) < p, rng.random(T) < p
    args = [x.tolist() for x in (r, g, term, trunc, nv)]
    np.testing.assert_allclose(
        fastpg.discounted_returns(r, g, term, trunc, nv, backend="numpy"),
        _loop_discounted(*args), rtol=1e-12, atol=1e-12)
    A, R = _loop_gae(r.tolist(), v.tolist(), nv.tolist(), g.tolist(), lam, term.tolist(), trunc.tolist())
    res = fastpg.gae(r, v, nv, g, lam, term, trunc, backend="numpy")
    np.testing.assert_allclose(res.advantages, A, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.returns, R, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        fastpg.nstep_returns(r, nv, g, n, term, trunc, backend="numpy"),
        _loop_nstep(r.tolist(), nv.tolist(), g.tolist(), n, term.tolist(), trunc.tolist()),
        rtol=1e-12, atol=1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("T", [1, 5, 40_003])
def test_block_path_long_streams(T, backend, dtype):
    """Long flat streams and narrow batches cross the compiled kernels' block
    boundaries; episodes both shorter and longer than a block."""
    rng = np.random.default_rng(T)
    for p in (0.0, 1e-5, 0.01):
        r = rng.standard_normal((T, 2)).astype(dtype)
        term = rng.random((T, 2)) < p
        trunc = rng.random((T, 2)) < p
        nv = rng.standard_normal((T, 2)).astype(dtype)
        for args in [(r, dtype(0.999)), (r[:, 0], 0.97)]:
            t_ = term if args[0].ndim == 2 else term[:, 0]
            u_ = trunc if args[0].ndim == 2 else trunc[:, 0]
            n_ = nv if args[0].ndim == 2 else nv[:, 0]
            got = fastpg.discounted_returns(*args, t_, u_, n_, backend=backend)
            want = fastpg.discounted_returns(*args, t_, u_, n_, backend="numpy")
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                       atol=(1e-5 if dtype == np.float32 else 1e-10) * scale)
            got = fastpg.gae(args[0], n_, n_, args[1], 0.95, t_, u_, backend=backend)
            want = fastpg.gae(args[0], n_, n_, args[1], 0.95, t_, u_, backend="numpy")
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                           atol=(1e-5 if dtype == np.float32 else 1e-10) * scale)
