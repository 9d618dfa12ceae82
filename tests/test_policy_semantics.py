"""Hand-computed cases, finite differences, the seed notebooks' formulations,
masking, sampling frequencies and bad input for fastpg.policy."""
import numpy as np
import pytest

import fastpg
import fastpg.policy as P
from fastpg.reference import policy as ref

from .conftest import tol

NEG = -np.inf


def _fd(f, x, eps=1e-6):
    """Central finite-difference gradient of scalar f at x (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


# ---- stability and masking -------------------------------------------------

def test_large_logits_are_stable(backend, dtype):
    z = np.array([1000, 1], dtype=dtype)
    np.testing.assert_allclose(P.log_softmax(z, backend=backend), [0, -999], rtol=1e-6)
    p = P.softmax(z, backend=backend)
    assert p.dtype == dtype and p[0] == 1 and 0 <= p[1] < 1e-300 + 1e-38
    assert np.isfinite(P.entropy(z, backend=backend))


def test_masked_actions(backend, dtype):
    z = np.array([[0.0, NEG, np.log(3.0)], [NEG, 2.0, NEG]], dtype=dtype)
    p = P.softmax(z, backend=backend)
    np.testing.assert_allclose(p, [[0.25, 0, 0.75], [0, 1, 0]], **tol(dtype))
    lp = P.log_softmax(z, backend=backend)
    assert lp[0, 1] == NEG and lp[1, 0] == NEG
    g = P.log_prob_grad(z, [2, 1], backend=backend)
    np.testing.assert_allclose(g, [[-0.25, 0, 0.25], [0, 0, 0]], **tol(dtype))
    h = P.entropy(z, backend=backend)
    np.testing.assert_allclose(h, [-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)), 0.0],
                               **tol(dtype))
    draws = P.sample_categorical(np.repeat(z, 500, axis=0), 7, backend=backend)
    assert set(np.unique(draws[:500])) == {0, 2}  # row 0: never the masked action 1
    assert np.all(draws[500:] == 1)


@pytest.mark.parametrize("row, msg", [
    ([NEG, NEG], "no finite logit"),
    ([0.0, np.nan], "NaN"),
    ([0.0, np.inf], r"\+inf"),
])
def test_invalid_rows_raise(backend, row, msg):
    z = np.array([[0.0, 1.0], row])
    for fn in (P.softmax, P.log_softmax, P.entropy, lambda x, backend: P.sample_categorical(
            x, 0, backend=backend)):
        with pytest.raises(ValueError, match=msg):
            fn(z, backend=backend)
    with pytest.raises(ValueError, match=r"logits\[1\]"):
        P.log_prob_grad(z, [0, 0], backend=backend)


def test_choosing_a_masked_action_raises(backend):
    z = np.array([[0.0, NEG]])
    with pytest.raises(ValueError, match=r"actions\[0\] = 1 selects a masked action"):
        P.log_prob_grad(z, [1], backend=backend)
    with pytest.raises(ValueError, match="masked action"):
        P.policy_gradient_loss(z, [1], [1.0], backend=backend)


# ---- hand-computed and finite differences ----------------------------------

def test_hand_computed(backend):
    z = np.array([[np.log(1.0), np.log(3.0)]])
    np.testing.assert_allclose(P.softmax(z, backend=backend), [[0.25, 0.75]])
    np.testing.assert_allclose(P.log_prob_grad(z, [0], backend=backend), [[0.75, -0.75]])
    loss, dl = P.policy_gradient_loss(z, [0], [2.0], backend=backend)
    np.testing.assert_allclose(loss, -np.log(0.25) * 2.0)
    np.testing.assert_allclose(dl, [[-1.5, 1.5]])
    p = np.array([0.25, 0.75])
    np.testing.assert_allclose(P.softmax_jacobian(p, backend=backend),
                               [[0.1875, -0.1875], [-0.1875, 0.1875]])
    np.testing.assert_allclose(P.softmax_jvp(p, [1.0, 0.0], backend=backend), [0.1875, -0.1875])


def test_gradients_match_finite_differences(backend):
    rng = np.random.default_rng(0)
    N, A, d = 6, 4, 3
    X, W = rng.standard_normal((N, d)), rng.standard_normal((d, A))
    a, w = rng.integers(0, A, N), rng.standard_normal(N)

    def objective(Wf):
        return float(np.sum(w * P.log_softmax(X @ Wf, backend="numpy")[np.arange(N), a]))
    np.testing.assert_allclose(P.linear_policy_grad(X, a, w, W, backend=backend),
                               _fd(objective, W), rtol=1e-6, atol=1e-7)

    z = X @ W
    np.testing.assert_allclose(
        P.log_prob_grad(z, a, backend=backend)[2],
        _fd(lambda zz: P.log_softmax(zz, backend="numpy")[a[2]], z[2]), rtol=1e-6, atol=1e-8)

    loss, dl = P.policy_gradient_loss(z, a, w, backend=backend)
    np.testing.assert_allclose(dl, _fd(lambda zz: P.policy_gradient_loss(zz, a, w, backend="numpy")[0], z),
                               rtol=1e-6, atol=1e-8)

    phi, theta = rng.standard_normal((N, A, d)), rng.standard_normal(d)
    psi = P.compatible_features(phi, theta, backend=backend)
    for i in range(2):
        for act in range(A):
            num = _fd(lambda th: P.log_softmax(phi[i] @ th, backend="numpy")[act], theta)
            np.testing.assert_allclose(psi[i, act], num, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(P.action_feature_grad(phi, a, w, theta, backend=backend),
                               np.einsum("n,nd->nd", w, psi[np.arange(N), a]).sum(0),
                               rtol=1e-10, atol=1e-12)


# ---- the seed notebooks' formulations ---------------------------------------

def test_seed_softmax_jacobian_and_per_step_gradient(backend):
    rng = np.random.default_rng(1)
    X, W = rng.standard_normal((20, 4)), rng.standard_normal((4, 2))
    a, w = rng.integers(0, 2, 20), rng.standard_normal(20)
    p = P.linear_policy_probs(X, W, backend=backend)
    J = P.softmax_jacobian(p, backend=backend)
    for i in range(20):
        np.testing.assert_allclose(J[i], ref.seed_softmax_jacobian(p[i]), atol=1e-15)
    seed_sum = sum(w[i] * ref.seed_per_step_grad(X[i], p[i], a[i]) for i in range(20))
    np.testing.assert_allclose(P.linear_policy_grad(X, a, w, W, backend=backend), seed_sum,
                               rtol=1e-10, atol=1e-12)


def _paper_features():
    """The paper notebook's φ(s, a) = concat(onehot(s), onehot(a)), 3 states x 3 actions."""
    eye = np.eye(3)
    return np.array([[np.concatenate((eye[s], eye[a])) for a in range(3)] for s in range(3)])


def test_seed_f_grad_is_correct(backend):
    phi = _paper_features()
    rng = np.random.default_rng(2)
    theta, w = rng.normal(0.5, 0.1, 6), rng.normal(0.5, 0.1, 6)
    psi = P.compatible_features(phi, theta, backend=backend)
    for s in range(3):
        for a in range(3):
            r = 1.0
            ours = (r - w @ psi[s, a]) * psi[s, a]
            np.testing.assert_allclose(ref.seed_f_grad(phi[s], theta, w, a, r).ravel(), ours,
                                       atol=1e-12)


def test_seed_pi_grad_is_wrong_and_ours_is_right(backend):
    """The notebook's pi_grad disagrees with finite differences of π; π ψ agrees."""
    phi = _paper_features()
    theta = np.random.default_rng(3).normal(0.5, 0.1, 6)
    psi = P.compatible_features(phi, theta, backend=backend)
    s, a = 0, 1
    num = _fd(lambda th: P.softmax(phi[s] @ th, backend="numpy")[a], theta)
    pi_sa = P.softmax(phi[s] @ theta, backend=backend)[a]
    np.testing.assert_allclose(pi_sa * psi[s, a], num, rtol=1e-6, atol=1e-9)
    seed = np.ravel(ref.seed_pi_grad(phi[s], theta, a))
    assert np.abs(seed - num).max() > 0.05


# ---- sampling ---------------------------------------------------------------

def test_sampling_frequencies_match_probabilities(backend):
    z = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    n = 200_000
    draws = P.sample_categorical(np.tile(z, (n, 1)), np.random.default_rng(11), backend=backend)
    counts = np.bincount(draws, minlength=4)
    expected = n * np.array([0.1, 0.2, 0.3, 0.4])
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 16.27  # chi-square, 3 dof, p = 0.001


def test_sampling_is_reproducible_from_a_seed(backend):
    z = np.random.default_rng(0).standard_normal((50, 5))
    a1 = P.sample_categorical(z, 123, backend=backend)
    a2 = P.sample_categorical(z, np.random.default_rng(123), backend=backend)
    np.testing.assert_array_equal(a1, a2)


# ---- shapes, dtypes, out=, empty batches ------------------------------------

def test_axis_batch_and_out(backend):
    z = np.random.default_rng(0).standard_normal((3, 4, 5))
    for ax in (0, 1, -1):
        got = P.softmax(z, axis=ax, backend=backend)
        np.testing.assert_allclose(got.sum(axis=ax), 1.0)
        out = np.empty_like(z)
        assert P.log_softmax(z, axis=ax, out=out, backend=backend) is out
        np.testing.assert_allclose(out, np.log(got))
    assert P.entropy(z, axis=1, backend=backend).shape == (3, 5)
    assert P.sample_categorical(z, 0, backend=backend).shape == (3, 4)
    g = P.log_prob_grad(z, np.zeros((3, 4), int), backend=backend)
    assert g.shape == z.shape


def test_dtypes(backend):
    assert P.softmax(np.array([1, 2, 3]), backend=backend).dtype == np.float64  # ints cast
    assert P.softmax(np.zeros(3, np.float32), backend=backend).dtype == np.float32
    X = np.ones((2, 3), np.float32)
    W = np.ones((3, 2), np.float32)
    assert P.linear_policy_grad(X, [0, 1], 1.0, W, backend=backend).dtype == np.float32
    assert P.linear_policy_grad(X, [0, 1], 1.0, W.astype(np.float64),
                                backend=backend).dtype == np.float64


def test_empty_batches(backend):
    z = np.zeros((0, 3))
    assert P.softmax(z, backend=backend).shape == (0, 3)
    loss, dl = P.policy_gradient_loss(z, np.zeros(0, int), np.zeros(0), backend=backend)
    assert loss == 0.0 and dl.shape == (0, 3)
    g = P.linear_policy_grad(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0), np.ones((4, 2)),
                             backend=backend)
    np.testing.assert_array_equal(g, np.zeros((4, 2)))
    g = P.action_feature_grad(np.zeros((0, 3, 2)), np.zeros(0, int), np.zeros(0), np.ones(2),
                              backend=backend)
    np.testing.assert_array_equal(g, np.zeros(2))
    assert P.sample_categorical(z, 0, backend=backend).shape == (0,)


def test_exported_from_fastpg():
    for name in ("softmax", "log_softmax", "linear_policy_grad", "sample_categorical"):
        assert getattr(fastpg, name) is getattr(P, name)


# ---- bad input ----------------------------------------------------------------

def test_bad_input(backend):
    X, W = np.ones((4, 3)), np.ones((3, 2))
    w = np.ones(4)
    with pytest.raises(ValueError, match=r"actions\[1\] = 2 is out of range"):
        P.linear_policy_grad(X, [0, 2, 0, 1], w, W, backend=backend)
    with pytest.raises(ValueError, match=r"actions\[0\] = -1 is out of range"):
        P.linear_policy_grad(X, [-1, 0, 0, 1], w, W, backend=backend)
    with pytest.raises(ValueError, match=r"actions must have shape \(4,\)"):
        P.linear_policy_grad(X, [0, 1], w, W, backend=backend)
    with pytest.raises(ValueError, match=r"weights must be a scalar or have shape \(4,\)"):
        P.linear_policy_grad(X, [0, 1, 0, 1], np.ones(3), W, backend=backend)
    with pytest.raises(ValueError, match=r"W must have shape \(d, A\) with d = 3"):
        P.linear_policy_grad(X, [0, 1, 0, 1], w, np.ones((2, 2)), backend=backend)
    with pytest.raises(ValueError, match="W must be a .d, A. weight matrix"):
        P.linear_policy_grad(X, [0, 1, 0, 1], w, np.ones(3), backend=backend)
    with pytest.raises(ValueError, match="X must be"):
        P.linear_policy_grad(np.ones((4, 3, 1)), [0, 1, 0, 1], w, W, backend=backend)
    with pytest.raises(TypeError, match="actions must hold integers"):
        P.linear_policy_grad(X, [0.5, 1, 0, 1], w, W, backend=backend)
    with pytest.raises(ValueError, match=r"X must be finite; X\[1, 2\] = nan"):
        P.linear_policy_grad(np.where(np.arange(12).reshape(4, 3) == 5, np.nan, 1.0),
                             [0, 1, 0, 1], w, W, backend=backend)
    with pytest.raises(TypeError, match="logits must be real numbers"):
        P.softmax(np.ones(3, complex), backend=backend)
    with pytest.raises(ValueError, match="at least one action"):
        P.softmax(np.ones((2, 0)), backend=backend)
    with pytest.raises(ValueError, match="scalar"):
        P.softmax(1.0, backend=backend)
    with pytest.raises(TypeError, match="rng must be"):
        P.sample_categorical(np.zeros((2, 2)), "seed", backend=backend)
    with pytest.raises(ValueError, match="out must have shape"):
        P.softmax(np.zeros((2, 2)), out=np.empty((2, 3)), backend=backend)
    with pytest.raises(TypeError, match="out must have dtype"):
        P.softmax(np.zeros((2, 2)), out=np.empty((2, 2), np.float32), backend=backend)
    with pytest.raises(ValueError, match="probs must be non-negative"):
        P.softmax_jacobian([0.5, -0.5], backend=backend)
    with pytest.raises(ValueError, match="theta must have shape"):
        P.compatible_features(np.ones((2, 3, 4)), np.ones(3), backend=backend)
    # integer-valued float actions are accepted
    P.linear_policy_grad(X, np.array([0.0, 1.0, 0.0, 1.0]), w, W, backend=backend)


def test_non_contiguous_and_read_only_inputs(backend):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 6))[:, ::2]
    W = np.asfortranarray(rng.standard_normal((3, 4)))
    X.flags.writeable = False
    a = rng.integers(0, 4, 8)
    w = rng.standard_normal(16)[::2]
    got = P.linear_policy_grad(X, a, w, W, backend=backend)
    want = P.linear_policy_grad(np.ascontiguousarray(X), a, np.ascontiguousarray(w),
                                np.ascontiguousarray(W), backend="numpy")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_non_finite_inputs_are_named(backend):
    X, W = np.ones((3, 2)), np.ones((2, 2))
    Wb = W.copy()
    Wb[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"W must be finite; W\[1, 0\] = inf"):
        P.linear_policy_probs(X, Wb, backend=backend)
    with pytest.raises(ValueError, match=r"X must be finite; X\[1\] = nan"):
        P.linear_policy_probs(np.array([1.0, np.nan]), W, backend=backend)
    phi = np.ones((2, 3, 2))
    phi[1, 2, 0] = -np.inf
    with pytest.raises(ValueError, match=r"phi must be finite; phi\[1, 2, 0\] = -inf"):
        P.compatible_features(phi, np.ones(2), backend=backend)
    with pytest.raises(ValueError, match="theta must be finite"):
        P.action_feature_grad(np.ones((2, 3, 2)), [0, 1], 1.0, np.array([np.nan, 0.0]),
                              backend=backend)
    with pytest.raises(ValueError, match="not finite .overflow."):
        P.linear_policy_grad(np.full((1, 2), 1e300), [0], 1.0, np.full((2, 2), 1e300),
                             backend=backend)


def test_policy_gradient_loss_weights(backend, dtype):
    """weights w scale each sample: L = mean(-w log pi(a) A); hand-computed on
    two rows, equal to advantages w * A, and checked like advantages."""
    z = np.array([[0.0, 0.0], [np.log(3.0), 0.0]], dtype)  # pi = [.5, .5], [.75, .25]
    a, adv, w = np.array([0, 1]), np.array([2.0, 1.0], dtype), np.array([0.5, 4.0], dtype)
    loss, dl = P.policy_gradient_loss(z, a, adv, w, backend=backend)
    want = -(0.5 * np.log(0.5) * 2.0 + 4.0 * np.log(0.25) * 1.0) / 2
    assert np.isclose(loss, want, rtol=1e-6)
    assert dl.dtype == dtype
    np.testing.assert_allclose(dl, [[-0.25, 0.25], [1.5, -1.5]], rtol=1e-6)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 4)).astype(dtype)
    a, adv, w = rng.integers(0, 4, 50), rng.standard_normal(50), rng.random(50)
    l1, d1 = P.policy_gradient_loss(z, a, adv, w, backend=backend)
    l2, d2 = P.policy_gradient_loss(z, a, adv * w, backend=backend)
    np.testing.assert_allclose([l1], [l2], **tol(dtype))
    np.testing.assert_allclose(d1, d2, **tol(dtype))
    assert P.policy_gradient_loss(z, a, adv, 2.0, backend=backend)[0] == \
        pytest.approx(2 * P.policy_gradient_loss(z, a, adv, backend=backend)[0], rel=1e-5)
    with pytest.raises(ValueError, match="weights must be a scalar or have shape"):
        P.policy_gradient_loss(z, a, adv, np.ones(49), backend=backend)
    with pytest.raises(ValueError, match="weights must be finite"):
        P.policy_gradient_loss(z, a, adv, np.full(50, np.nan), backend=backend)
