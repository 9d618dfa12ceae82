"""NumPy reference for the softmax policy kernels: the executable specification.

Argument layout (the public functions in :mod:`fastpg.policy` validate and
normalise; every backend takes exactly this):

* ``logits``, ``probs``, ``v``: float32 or float64, C-contiguous ``(N, A)``;
* ``X``: ``(N, d)``; ``W``: ``(d, A)``; ``phi``: ``(N, A, d)``; ``theta``: ``(d,)``;
* ``actions``: int64 ``(N,)``, already checked to lie in ``[0, A)``;
* ``weights``, ``advantages``: ``(N,)`` of the float dtype;
* ``u``: float64 ``(N,)`` uniforms in ``[0, 1)`` (``sample_categorical``);
* ``out`` (and ``dlogits``, ``loss``): preallocated outputs of the float dtype
  (``loss`` has shape ``(1,)``; the samples of ``sample_categorical`` are int64).

Every kernel returns an int: ``-1`` when all rows were valid, else the index
of the first invalid row, whose outputs are then unspecified (the public API
raises and says what is wrong with that row). A row of logits is valid when
it holds no NaN and no ``+inf`` and at least one finite value; ``-inf`` marks
a masked action: probability 0, log-probability ``-inf``, zero gradient. A
row whose chosen action is masked is invalid for the kernels that take
actions (its log-probability would be ``-inf``).

The reference computes in float64 whatever the input precision (the spec is
the exact math) and writes in the output's dtype; it is vectorised NumPy,
i.e. the "plain NumPy" baseline, and does build ``(N, A)`` temporaries.

The ``seed_*`` functions keep the seed notebooks' own formulations as test
oracles (they are not kernels and are not dispatched):

* :func:`seed_softmax_jacobian`: ``diagflat(s) - s sᵀ`` (correct);
* :func:`seed_per_step_grad`: the REINFORCE notebook's per-step
  ``state.T @ (dsoftmax / p[a])`` (correct: it equals ``x ⊗ (e_a - p)``);
* :func:`seed_pi_grad` and :func:`seed_f_grad`: the policy-gradient paper
  notebook's action-feature gradients. ``f_grad`` is correct (it is
  ``(r - f_w(s, a)) ψ_sa``, the critic's step direction). ``pi_grad`` is
  wrong twice over: ``np.sum`` without ``axis`` collapses ``Σ_b φ_sb e^{θᵀφ_sb}``
  to a scalar, and the first term ``φ_sa π(s, a)`` is divided by ``Z²``
  although it is already normalised. The correct gradient is
  ``∂π(s,a)/∂θ = π(s, a) ψ_sa`` with ``ψ_sa = φ_sa − Σ_b π(s,b) φ_sb``
  (the tests check both claims against finite differences).
"""
from __future__ import annotations

import numpy as np

__all__ = ["softmax", "log_softmax", "softmax_jacobian", "softmax_jvp", "log_prob_grad",
           "linear_policy_probs", "linear_policy_grad", "compatible_features",
           "action_feature_grad", "sample_categorical", "entropy", "policy_gradient_loss"]


def _bad_rows(z, actions=None, strict=False):
    """Index of the first invalid row of z (float64 (N, A)), or -1.

    strict: every logit must be finite (linear and action-feature policies,
    whose logits are computed: -inf there is an overflow, not a mask).
    """
    if z.shape[0] == 0:
        return -1
    if strict:
        bad = ~np.isfinite(z).all(axis=1)
    else:
        bad = np.isnan(z).any(axis=1) | (z == np.inf).any(axis=1) | ~(z > -np.inf).any(axis=1)
    if actions is not None and z.shape[1] > 0:
        bad |= z[np.arange(z.shape[0]), actions] == -np.inf
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else -1


def _log_softmax64(z):
    m = z.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = z - m  # -inf stays -inf (m is finite on valid rows)
        return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def _softmax64(z):
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    return e / e.sum(axis=1, keepdims=True)


def _rowwise(fn, logits, out):
    z = logits.astype(np.float64)
    bad = _bad_rows(z)
    if bad >= 0:
        return bad
    if z.size:
        out[...] = fn(z)
    return -1


def softmax(logits, out):
    """p_a = exp(z_a - max z) / Σ_b exp(z_b - max z)."""
    return _rowwise(_softmax64, logits, out)


def log_softmax(logits, out):
    """log p_a = (z_a - m) - log Σ_b exp(z_b - m), m = max z: finite for finite z."""
    return _rowwise(_log_softmax64, logits, out)


def softmax_jacobian(probs, out):
    """J[i] = diag(p_i) - p_i p_iᵀ, i.e. J[i, a, b] = p_a (δ_ab - p_b)."""
    p = probs.astype(np.float64)
    J = -p[:, :, None] * p[:, None, :]
    idx = np.arange(p.shape[1])
    J[:, idx, idx] += p
    out[...] = J
    return -1


def softmax_jvp(probs, v, out):
    """(J v)_a = p_a (v_a - <p, v>): the Jacobian applied without building it."""
    p = probs.astype(np.float64)
    vv = v.astype(np.float64)
    out[...] = p * (vv - (p * vv).sum(axis=1, keepdims=True))
    return -1


def log_prob_grad(logits, actions, out):
    """∂ log π(a_i) / ∂ z_i = onehot(a_i) - softmax(z_i)."""
    z = logits.astype(np.float64)
    bad = _bad_rows(z, actions)
    if bad >= 0:
        return bad
    if z.size:
        g = -_softmax64(z)
        g[np.arange(z.shape[0]), actions] += 1.0
        out[...] = g
    return -1


def _strict_softmax(z):
    """(-1, or the first row of z with a logit that is not finite; softmax(z)
    in float64, zeros where z is empty)."""
    bad = _bad_rows(z, strict=True)
    if bad >= 0 or z.size == 0:
        return bad, np.zeros(z.shape)
    return -1, _softmax64(z)


def linear_policy_probs(X, W, out):
    """π(· | x_i) = softmax(x_iᵀ W)."""
    bad, p = _strict_softmax(_linear_logits(X, W))
    out[...] = p
    return bad


def linear_policy_grad(X, actions, weights, W, out):
    """Σ_i w_i x_i ⊗ (onehot(a_i) - softmax(x_iᵀ W)), shape (d, A).

    With weights = returns this is the REINFORCE gradient of
    Σ_i w_i log π(a_i | x_i) with respect to W.
    """
    X64 = X.astype(np.float64)
    bad, p = _strict_softmax(_linear_logits(X64, W))
    if bad >= 0:
        return bad
    g = -p
    g[np.arange(X.shape[0]), actions] += 1.0
    g *= weights.astype(np.float64)[:, None]
    out[...] = X64.T @ g
    return -1


def _action_logits(phi, theta):
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite rows are reported, not warned
        return np.einsum("nad,d->na", phi.astype(np.float64), theta.astype(np.float64))


def _linear_logits(X, W):
    with np.errstate(over="ignore", invalid="ignore"):
        return X.astype(np.float64) @ W.astype(np.float64)


def compatible_features(phi, theta, out):
    """ψ_sa = φ_sa - Σ_b π(b|s) φ_sb with π(·|s) = softmax(θᵀ φ_s·).

    ψ_sa = ∂ log π(a|s) / ∂θ, the compatible features of Sutton et al. (2000).
    """
    bad, p = _strict_softmax(_action_logits(phi, theta))
    if bad < 0:
        ph = phi.astype(np.float64)
        out[...] = ph - np.einsum("na,nad->nd", p, ph)[:, None, :]
    return bad


def action_feature_grad(phi, actions, weights, theta, out):
    """Σ_i w_i ψ_{s_i a_i}, shape (d,): the policy gradient with action features."""
    bad, p = _strict_softmax(_action_logits(phi, theta))
    if bad >= 0:
        return bad
    ph = phi.astype(np.float64)
    n = np.arange(phi.shape[0])
    psi = ph[n, actions] - np.einsum("na,nad->nd", p, ph)
    out[...] = weights.astype(np.float64) @ psi
    return -1


def sample_categorical(logits, u, out):
    """Inverse-CDF sampling, the same rule on every backend.

    With e_a = exp(z_a - max z) (float64) and S = Σ_a e_a, the sample is the
    smallest a with e_0 + ... + e_a > u·S, or, should rounding leave none, the
    last a with e_a > 0. Masked actions (e_a = 0) are never chosen. Given the
    same uniforms u (drawn by the public API from the caller's Generator)
    every backend picks the same actions, up to last-ulp differences between
    exp implementations landing exactly on a boundary (probability ~1e-16).
    """
    z = logits.astype(np.float64)
    bad = _bad_rows(z)
    if bad >= 0:
        return bad
    N, A = z.shape
    if N == 0:
        return -1
    e = np.exp(z - z.max(axis=1, keepdims=True))
    c = np.cumsum(e, axis=1)
    thresh = u * c[:, -1]
    # the running sum is accumulated left to right, as the compiled loops do
    a = (c <= thresh[:, None]).sum(axis=1)
    last = A - 1 - np.argmax((e > 0)[:, ::-1], axis=1)
    out[...] = np.minimum(a, last)
    return -1


def entropy(logits, out):
    """H(π) = -Σ_a p_a log p_a (masked actions contribute 0), per row."""
    z = logits.astype(np.float64)
    bad = _bad_rows(z)
    if bad >= 0:
        return bad
    if z.shape[0]:
        lp = _log_softmax64(z)
        p = np.exp(lp)
        out[...] = -np.where(p > 0, p * np.where(p > 0, lp, 0.0), 0.0).sum(axis=1)
    return -1


def policy_gradient_loss(logits, actions, advantages, dlogits, loss):
    """L = (1/N) Σ_i -log π(a_i | z_i) A_i and dL/dz_i = -(A_i / N)(onehot(a_i) - p_i).

    N = 0 gives L = 0 (an empty sum; not NaN) and an empty gradient.
    """
    z = logits.astype(np.float64)
    bad = _bad_rows(z, actions)
    if bad >= 0:
        return bad
    N = z.shape[0]
    if N == 0:
        loss[0] = 0.0
        return -1
    lp = _log_softmax64(z)
    n = np.arange(N)
    adv = advantages.astype(np.float64)
    loss[0] = -(lp[n, actions] * adv).sum() / N
    g = np.exp(lp)
    g[n, actions] -= 1.0
    dlogits[...] = g * (adv / N)[:, None]
    return -1


# ---- the seed notebooks' formulations (test oracles, not kernels) ---------

def seed_softmax_jacobian(s):
    """The REINFORCE notebook's softmax_grad: diagflat(s) - s sᵀ for one row."""
    s = np.asarray(s, dtype=np.float64).reshape(-1, 1)
    return np.diagflat(s) - np.dot(s, s.T)


def seed_per_step_grad(state, probs, action):
    """The REINFORCE notebook's per-step gradient of log π(a|s) w.r.t. W (d, A):
    ``dsoftmax = softmax_grad(p)[a]; dlog = dsoftmax / p[a]; state.T @ dlog``."""
    p = np.asarray(probs, dtype=np.float64)
    dsoftmax = seed_softmax_jacobian(p)[action, :]
    dlog = dsoftmax / p[action]
    return np.asarray(state, dtype=np.float64).reshape(1, -1).T.dot(dlog[None, :])


def seed_pi_grad(phi_s, theta, a):
    """The paper notebook's pi_grad, transcribed faithfully (it is wrong; see
    the module docstring). phi_s: (A, d) features of one state."""
    phi_s = np.asarray(phi_s, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, 1)
    ex = [np.exp(np.dot(theta.T, phi_s[b])) for b in range(phi_s.shape[0])]
    pi_a = ex[a] / np.sum(ex)
    left = phi_s[a] * pi_a
    right = ex[a] * np.sum([phi_s[b] * ex[b] for b in range(phi_s.shape[0])])
    den = np.sum(ex) ** 2
    return (left - right) / den


def seed_f_grad(phi_s, theta, w, a, r):
    """The paper notebook's f_grad: (r - f_w(s, a)) (φ_sa - Σ_b π(s,b) φ_sb)."""
    phi_s = np.asarray(phi_s, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, 1)
    w = np.asarray(w, dtype=np.float64).reshape(-1, 1)
    ex = np.array([np.exp(np.dot(theta.T, phi_s[b]))[0] for b in range(phi_s.shape[0])])
    pi = ex / ex.sum()
    mean_phi = np.sum([pi[b] * phi_s[b] for b in range(phi_s.shape[0])], axis=0)
    f = np.dot(w.T, phi_s[a]) - np.dot(w.T, mean_phi)
    df = phi_s[a] - mean_phi
    return (r - f) * df
