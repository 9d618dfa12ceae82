# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""Softmax policy kernels, one source for both compilers (semantics and
argument layout: fastpg.reference.policy; how one source works:
fastpg/_kernels/tabular.py and docs/design.md). The linear policies' kernels
are in fastpg/_kernels/policy_linear.py; the registry wrappers of the whole
family are here.

Each kernel streams over its rows once (no (N, A) temporaries). Values are
widened to double when loaded (``1.0 * x``: numba's ``float(x)`` keeps
float32) and sums are accumulated in double. Kernels return -1, or the index
of the first invalid row (see the reference).
"""
import cython
import numpy as np

from .._tuning import LPG_BLOCK, NCHUNK

if not cython.compiled:  # compiled, these are C names cimported by policy.pxd
    from ._py import INF, NAN, exp, log
    from .policy_linear import (action_feature_grad_c, compatible_features_c,
                                linear_policy_grad_c, linear_policy_probs_c)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(a=cython.Py_ssize_t, m=cython.double, x=cython.double)
def _row_max(z: cython.const[cython.floating][:, ::1], i: cython.Py_ssize_t) -> cython.double:
    """max of row i, or NaN when the row is invalid (NaN, +inf, or no finite value)."""
    m = -INF
    for a in range(z.shape[1]):
        x = z[i, a]
        if x != x or x == INF:
            return NAN
        if x > m:
            m = x
    if m == -INF:
        return NAN
    return m


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(a=cython.Py_ssize_t, e=cython.double, s=cython.double)
def _exp_row(z: cython.const[cython.floating][:, ::1], i: cython.Py_ssize_t, m: cython.double,
             out: cython.floating[:, ::1]) -> cython.double:
    """out_i <- exp(z_i - m); returns Σ_a out_ia (in double)."""
    s = 0.0
    for a in range(z.shape[1]):
        e = exp(z[i, a] - m)
        out[i, a] = e
        s += e
    return s


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(a=cython.Py_ssize_t, s=cython.double)
def _sum_exp(z: cython.const[cython.floating][:, ::1], i: cython.Py_ssize_t,
             m: cython.double) -> cython.double:
    """Σ_a exp(z_ia - m)."""
    s = 0.0
    for a in range(z.shape[1]):
        s += exp(z[i, a] - m)
    return s


def softmax_c(logits, out):
    """out_i = exp(z_i - m_i) / Σ_a exp(z_ia - m_i), m_i = max_a z_ia."""
    for i in range(logits.shape[0]):
        m = _row_max(logits, i)
        if m != m:
            return i
        inv = 1.0 / _exp_row(logits, i, m, out)
        for a in range(logits.shape[1]):
            out[i, a] = out[i, a] * inv
    return -1


def log_softmax_c(logits, out):
    """out_ia = (z_ia - m_i) - log Σ_b exp(z_ib - m_i)."""
    for i in range(logits.shape[0]):
        m = _row_max(logits, i)
        if m != m:
            return i
        lse = log(_sum_exp(logits, i, m))
        for a in range(logits.shape[1]):
            out[i, a] = (logits[i, a] - m) - lse
    return -1


def softmax_jacobian_c(probs, out):
    """out_iab = p_ia (δ_ab - p_ib)."""
    for i in range(probs.shape[0]):
        for a in range(probs.shape[1]):
            pa = 1.0 * probs[i, a]
            for b in range(probs.shape[1]):
                out[i, a, b] = -pa * probs[i, b]
            out[i, a, a] = out[i, a, a] + pa
    return -1


def softmax_jvp_c(probs, v, out):
    """out_ia = p_ia (v_ia - Σ_b p_ib v_ib)."""
    for i in range(probs.shape[0]):
        dot = 0.0
        for a in range(probs.shape[1]):
            dot += (1.0 * probs[i, a]) * v[i, a]
        for a in range(probs.shape[1]):
            out[i, a] = probs[i, a] * (v[i, a] - dot)
    return -1


def log_prob_grad_c(logits, actions, out):
    """out_i = e_{a_i} - softmax(z_i), the gradient of log π(a_i) in z_i."""
    for i in range(logits.shape[0]):
        m = _row_max(logits, i)
        ai = actions[i]
        if m != m or logits[i, ai] == -INF:
            return i
        inv = -1.0 / _exp_row(logits, i, m, out)
        for a in range(logits.shape[1]):
            out[i, a] = out[i, a] * inv
        out[i, ai] = out[i, ai] + 1.0
    return -1


def sample_categorical_c(logits, u, out, e):
    """out_i = the first a with Σ_{b<=a} π_ib > u_i (inverse CDF, unnormalised),
    else the last a with π_ia > 0; ``e`` (A,) float64 scratch holds a row's
    exp(z_ia - m_i), so that each is computed once."""
    for i in range(logits.shape[0]):
        m = _row_max(logits, i)
        if m != m:
            return i
        tot = 0.0
        for a in range(logits.shape[1]):
            ea = exp(1.0 * logits[i, a] - m)
            e[a] = ea
            tot += ea
        thresh = u[i] * tot
        acc = 0.0
        pick = -1
        last = 0
        for a in range(logits.shape[1]):
            if e[a] > 0.0:
                last = a
            acc += e[a]
            if pick < 0 and acc > thresh:
                pick = a
        out[i] = pick if pick >= 0 else last
    return -1


def entropy_c(logits, out):
    """H_i = log S - Σ_a e_a (z_a - m) / S, e_a = exp(z_a - m), S = Σ e: one exp
    per element; masked actions (e_a = 0) are skipped, not 0 · inf."""
    for i in range(logits.shape[0]):
        m = _row_max(logits, i)
        if m != m:
            return i
        tot = 0.0
        h = 0.0
        for a in range(logits.shape[1]):
            lp = logits[i, a] - m
            p = exp(lp)
            tot += p
            if p > 0.0:
                h += p * lp
        out[i] = log(tot) - h / tot
    return -1


def policy_gradient_loss_c(logits, actions, advantages, dlogits, loss):
    """loss = -mean_i A_i log π(a_i | z_i); dlogits = its gradient in z."""
    N = logits.shape[0]
    total = 0.0
    for i in range(N):
        m = _row_max(logits, i)
        ai = actions[i]
        if m != m or logits[i, ai] == -INF:
            return i
        tot = _exp_row(logits, i, m, dlogits)  # one exp per element
        adv = 1.0 * advantages[i]
        scale = adv / N
        total -= ((logits[i, ai] - m) - log(tot)) * adv
        f = scale / tot
        for a in range(logits.shape[1]):
            dlogits[i, a] = dlogits[i, a] * f
        dlogits[i, ai] = dlogits[i, ai] - scale
    loss[0] = total / N if N > 0 else 0.0
    return -1


# ---- the Cython backend's registry kernels: the *_c functions without the
# GIL, scratch allocated here (numba's are in fastpg._numba.policy)

def softmax(logits, out):
    with cython.nogil:
        return softmax_c(logits, out)


def log_softmax(logits, out):
    with cython.nogil:
        return log_softmax_c(logits, out)


def softmax_jacobian(probs, out):
    with cython.nogil:
        return softmax_jacobian_c(probs, out)


def softmax_jvp(probs, v, out):
    with cython.nogil:
        return softmax_jvp_c(probs, v, out)


def log_prob_grad(logits, actions, out):
    with cython.nogil:
        return log_prob_grad_c(logits, actions, out)


def linear_policy_probs(X, W, out):
    z = np.empty(W.shape[1])
    with cython.nogil:
        return linear_policy_probs_c(X, W, out, z)


def linear_policy_grad(X, actions, weights, W, out):
    return _lpg(X, actions, weights, W, out, 1)


def linear_policy_grad_parallel(X, actions, weights, W, out):
    n = NCHUNK
    return _lpg(X, actions, weights, W, out, n)


def _lpg(X, actions, weights, W, out, nchunk):
    acc = np.empty((nchunk, X.shape[1], W.shape[1]))
    z = np.empty((nchunk, 3 * LPG_BLOCK if W.shape[1] == 2 else W.shape[1]))
    bads = np.empty(nchunk, np.int64)
    with cython.nogil:
        return linear_policy_grad_c(X, actions, weights, W, out, acc, z, bads)


def compatible_features(phi, theta, out):
    p = np.empty(phi.shape[1])
    mean = np.empty(phi.shape[2])
    with cython.nogil:
        return compatible_features_c(phi, theta, out, p, mean)


def action_feature_grad(phi, actions, weights, theta, out):
    p = np.empty(phi.shape[1])
    acc = np.empty(phi.shape[2])
    with cython.nogil:
        return action_feature_grad_c(phi, actions, weights, theta, out, p, acc)


def sample_categorical(logits, u, out):
    e = np.empty(logits.shape[1])
    with cython.nogil:
        return sample_categorical_c(logits, u, out, e)


def entropy(logits, out):
    with cython.nogil:
        return entropy_c(logits, out)


def policy_gradient_loss(logits, actions, advantages, dlogits, loss):
    with cython.nogil:
        return policy_gradient_loss_c(logits, actions, advantages, dlogits, loss)
