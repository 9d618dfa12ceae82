"""Every policy kernel x backend x dtype against the NumPy reference (hypothesis)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastpg.policy as P
from fastpg import _backend

from .conftest import tol


def test_registry_lists_every_policy_kernel():
    from fastpg.reference import policy as ref
    assert set(_backend.REGISTRY["policy"]) == set(ref.__all__)


@st.composite
def batches(draw, masked=True):
    N = draw(st.integers(0, 12))
    A = draw(st.integers(1, 6))
    d = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 30.0, 300.0]))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N, A)) * scale
    actions = rng.integers(0, A, N)
    if masked and A > 1 and draw(st.booleans()):
        mask = rng.random((N, A)) < 0.3
        mask[np.arange(N), actions] = False  # keep the chosen action available
        z[mask] = -np.inf
    return dict(z=z, actions=actions, N=N, A=A, d=d, rng=rng,
                w=rng.standard_normal(N) * 2,
                X=rng.standard_normal((N, d)),
                W=rng.standard_normal((d, A)) * (scale if scale < 100 else 1.0),
                phi=rng.standard_normal((N, A, d)),
                theta=rng.standard_normal(d))


def _same(got, want, dtype):
    assert got.dtype == np.dtype(dtype) or got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


def _same_sum(got, want, dtype):
    """A sum over rows: the absolute tolerance scales with its magnitude."""
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=tol(dtype)["rtol"], atol=tol(dtype)["atol"] * scale)


@pytest.mark.parity
@given(b=batches())
def test_softmax_family(backend, dtype, b):
    z = b["z"].astype(dtype)
    for name in ("softmax", "log_softmax", "entropy"):
        got = getattr(P, name)(z, backend=backend)
        want = getattr(P, name)(z, backend="numpy")
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol(dtype))
    g = P.log_prob_grad(z, b["actions"], backend=backend)
    _same(g, P.log_prob_grad(z, b["actions"], backend="numpy"), dtype)
    loss, dl = P.policy_gradient_loss(z, b["actions"], b["w"].astype(dtype), backend=backend)
    loss0, dl0 = P.policy_gradient_loss(z, b["actions"], b["w"].astype(dtype), backend="numpy")
    np.testing.assert_allclose(loss, loss0, **tol(dtype))
    _same(dl, dl0, dtype)


@pytest.mark.parity
@given(b=batches(masked=False))
def test_jacobian_and_jvp(backend, dtype, b):
    p = P.softmax(b["z"], backend="numpy").astype(dtype)
    v = b["rng"].standard_normal(p.shape).astype(dtype)
    _same(P.softmax_jacobian(p, backend=backend), P.softmax_jacobian(p, backend="numpy"), dtype)
    _same(P.softmax_jvp(p, v, backend=backend), P.softmax_jvp(p, v, backend="numpy"), dtype)


# (forward function, gradient, the batch's feature and parameter keys) of the two
# parametrised policies: linear in the state, linear in state-action features
_FEATURE_POLICIES = {
    "linear": (P.linear_policy_probs, P.linear_policy_grad, "X", "W"),
    "action_features": (P.compatible_features, P.action_feature_grad, "phi", "theta"),
}


@pytest.mark.parity
@pytest.mark.parametrize("policy", sorted(_FEATURE_POLICIES))
@given(b=batches(masked=False))
def test_feature_policies(backend, dtype, policy, b):
    forward, grad, xk, pk = _FEATURE_POLICIES[policy]
    X, W = b[xk].astype(dtype), b[pk].astype(dtype)
    _same(forward(X, W, backend=backend), forward(X, W, backend="numpy"), dtype)
    w = b["w"].astype(dtype)
    got = grad(X, b["actions"], w, W, backend=backend)
    want = grad(X, b["actions"], w, W, backend="numpy")
    assert got.shape == W.shape and got.dtype == dtype
    _same_sum(got, want, dtype)


@pytest.mark.parity
@given(b=batches(), seed=st.integers(0, 2**32 - 1))
def test_sample_categorical_same_actions_on_every_backend(backend, dtype, b, seed):
    z = b["z"].astype(dtype)
    got = P.sample_categorical(z, np.random.default_rng(seed), backend=backend)
    want = P.sample_categorical(z, np.random.default_rng(seed), backend="numpy")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    if b["N"]:
        assert np.all(np.isfinite(z[np.arange(b["N"]), got]))  # never a masked action


def test_linear_policy_grad_parallel_variant_matches(dtype):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5000, 6)).astype(dtype)
    W = rng.standard_normal((6, 4)).astype(dtype)
    a = rng.integers(0, 4, 5000)
    w = rng.standard_normal(5000).astype(dtype)
    out0 = np.empty((6, 4), dtype)
    from fastpg.reference import policy as ref
    ref.linear_policy_grad(X, a, w, W, out0)
    for be in ("numba", "cython"):
        if not _backend.available(be):
            continue
        mod = _backend._load(be, "policy")
        out = np.empty((6, 4), dtype)
        assert mod.linear_policy_grad_parallel(X, a, w, W, out) == -1
        np.testing.assert_allclose(out, out0, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-3 if dtype == np.float32 else 1e-9)


@pytest.mark.backend_fixed
@pytest.mark.parametrize("N", [1, 127, 128, 129, 1000])
def test_two_action_grad_blocks(dtype, N):
    # two actions go in blocks of LPG_BLOCK rows (fastpg._kernels.policy_linear
    # ._lpg_rows2): block edges, the parallel chunks, a bad row past the first
    # block, and the one-row-at-a-time path of a caller's short (C, 2) scratch
    from fastpg._tuning import LPG_BLOCK
    from fastpg.reference import policy as ref
    rng = np.random.default_rng(N)
    X = (rng.standard_normal((N, 5)) * 3).astype(dtype)
    W = rng.standard_normal((5, 2)).astype(dtype)
    a = rng.integers(0, 2, N)
    w = rng.standard_normal(N).astype(dtype)
    want = np.empty((5, 2), dtype)
    ref.linear_policy_grad(X, a, w, W, want)
    for be in ("numba", "cython"):
        if not _backend.available(be):
            continue
        mod = _backend._load(be, "policy")
        outs = []
        for f in (mod.linear_policy_grad, mod.linear_policy_grad_parallel):
            out = np.empty((5, 2), dtype)
            assert f(X, a, w, W, out) == -1
            _same_sum(out, want, dtype)
            outs.append(out)
        assert np.array_equal(outs[0][:, 0], -outs[0][:, 1])
        if N > LPG_BLOCK:
            Xb = X.copy()
            Xb[N - 1, 2] = np.nan
            assert f(Xb, a, w, W, np.empty((5, 2), dtype)) == N - 1
        if be == "numba":
            short = np.empty((5, 2), dtype)
            assert mod._grad(X, a, w, W, short, np.empty((1, 5, 2)), np.empty((1, 2)),
                             np.empty(1, np.int64)) == -1
            assert short.tobytes() == outs[0].tobytes()  # same order, same bits
