"""Numba softmax policy kernels (semantics and argument layout: fastpg.reference.policy).

Every kernel streams over its rows once and keeps only per-row scratch of
size A (or d): no (N, A) temporaries, which matters for
``linear_policy_grad`` and ``action_feature_grad``, the REINFORCE and
actor-critic hot loops. Gradient sums are accumulated in float64. Each kernel
returns -1, or the index of the first invalid row (see the reference).

``*_parallel`` variants split the rows into chunks, one per thread; the sums
get one float64 accumulator per chunk, added up in a fixed order afterwards,
so the result does not depend on thread timing.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._tuning import NCHUNK
from . import jit

__all__ = ["softmax", "log_softmax", "softmax_jacobian", "softmax_jvp", "log_prob_grad",
           "linear_policy_probs", "linear_policy_grad", "compatible_features",
           "action_feature_grad", "sample_categorical", "entropy", "policy_gradient_loss"]



@jit
def _row_max(z, i):
    """max of row i, or NaN if the row is invalid (NaN, +inf, or no finite value)."""
    A = z.shape[1]
    m = -np.inf
    for a in range(A):
        x = z[i, a]
        if x != x or x == np.inf:
            return np.nan
        if x > m:
            m = x
    if m == -np.inf:
        return np.nan
    return m


@jit
def softmax(logits, out):
    N, A = logits.shape
    for i in range(N):
        m = _row_max(logits, i)
        if m != m:
            return i
        s = 0.0
        for a in range(A):
            e = math.exp(logits[i, a] - m)
            out[i, a] = e
            s += e
        inv = 1.0 / s
        for a in range(A):
            out[i, a] = out[i, a] * inv
    return -1


@jit
def _logsumexp_shift(logits, i, m):
    s = 0.0
    for a in range(logits.shape[1]):
        s += math.exp(logits[i, a] - m)
    return math.log(s)


@jit
def log_softmax(logits, out):
    N, A = logits.shape
    for i in range(N):
        m = _row_max(logits, i)
        if m != m:
            return i
        lse = _logsumexp_shift(logits, i, m)
        for a in range(A):
            out[i, a] = (logits[i, a] - m) - lse
    return -1


@jit
def softmax_jacobian(probs, out):
    N, A = probs.shape
    for i in range(N):
        for a in range(A):
            pa = probs[i, a]
            for b in range(A):
                out[i, a, b] = -pa * probs[i, b]
            out[i, a, a] += pa
    return -1


@jit
def softmax_jvp(probs, v, out):
    N, A = probs.shape
    for i in range(N):
        dot = 0.0
        for a in range(A):
            dot += probs[i, a] * v[i, a]
        for a in range(A):
            out[i, a] = probs[i, a] * (v[i, a] - dot)
    return -1


@jit
def log_prob_grad(logits, actions, out):
    N, A = logits.shape
    for i in range(N):
        m = _row_max(logits, i)
        if m != m or logits[i, actions[i]] == -np.inf:
            return i
        s = 0.0
        for a in range(A):
            e = math.exp(logits[i, a] - m)
            out[i, a] = e
            s += e
        inv = 1.0 / s
        for a in range(A):
            out[i, a] = -out[i, a] * inv
        out[i, actions[i]] += 1.0
    return -1


@jit(inline="always")
def _linear_logits(X, W, i, z):
    """z = x_i^T W in float64 (z: A scratch)."""
    d = X.shape[1]
    A = W.shape[1]
    if A >= 8:
        # many actions: the action index innermost (contiguous rows of W, vectorised)
        for a in range(A):
            z[a] = 0.0
        for k in range(d):
            xk = np.float64(X[i, k])
            for a in range(A):
                z[a] += xk * W[k, a]
    else:
        # few actions: one register accumulator per action
        for a in range(A):
            acc = 0.0
            for k in range(d):
                acc += np.float64(X[i, k]) * W[k, a]
            z[a] = acc


@jit
def linear_policy_probs(X, W, out):
    N, d = X.shape
    A = W.shape[1]
    z = np.empty(A, dtype=np.float64)
    for i in range(N):
        _linear_logits(X, W, i, z)
        m = -np.inf
        bad = A == 0
        for a in range(A):
            acc = z[a]
            if acc != acc or acc == np.inf or acc == -np.inf:
                bad = True
            if acc > m:
                m = acc
        if bad:
            return i
        s = 0.0
        for a in range(A):
            e = math.exp(z[a] - m)
            z[a] = e
            s += e
        for a in range(A):
            out[i, a] = z[a] / s
    return -1


@jit
def _lpg_rows(X, actions, weights, W, i0, i1, acc, z):
    """acc (d, A) += Σ_{i in [i0, i1)} w_i x_i ⊗ (e_{a_i} - π_i); -1 or a bad row."""
    d = X.shape[1]
    A = W.shape[1]
    for i in range(i0, i1):
        _linear_logits(X, W, i, z)
        m = z[0]
        am = 0
        for a in range(A):
            s = z[a]
            if s != s or s == np.inf or s == -np.inf:
                return i
            if s > m:
                m = s
                am = a
        tot = 1.0
        for a in range(A):
            if a != am:  # exp(0) = 1 for the arg-max: one exp fewer per row
                e = math.exp(z[a] - m)
                z[a] = e
                tot += e
        z[am] = 1.0
        w = np.float64(weights[i])
        scale = -w / tot
        for a in range(A):
            z[a] = z[a] * scale  # -w p_a
        z[actions[i]] += w
        for k in range(d):
            xk = np.float64(X[i, k])
            for a in range(A):
                acc[k, a] += xk * z[a]
    return -1


@jit
def linear_policy_grad(X, actions, weights, W, out):
    d = X.shape[1]
    A = W.shape[1]
    acc = np.zeros((d, A), dtype=np.float64)
    z = np.empty(A, dtype=np.float64)
    bad = _lpg_rows(X, actions, weights, W, 0, X.shape[0], acc, z)
    if bad >= 0:
        return bad
    for k in range(d):
        for a in range(A):
            out[k, a] = acc[k, a]
    return -1


@jit(parallel=True)
def linear_policy_grad_parallel(X, actions, weights, W, out):
    N, d = X.shape
    A = W.shape[1]
    accs = np.zeros((NCHUNK, d, A), dtype=np.float64)
    bads = np.full(NCHUNK, -1, dtype=np.int64)
    for c in prange(NCHUNK):
        z = np.empty(A, dtype=np.float64)
        bads[c] = _lpg_rows(X, actions, weights, W, c * N // NCHUNK, (c + 1) * N // NCHUNK,
                            accs[c], z)
    for c in range(NCHUNK):
        if bads[c] >= 0:
            return bads[c]
    for k in range(d):
        for a in range(A):
            s = 0.0
            for c in range(NCHUNK):
                s += accs[c, k, a]
            out[k, a] = s
    return -1


@jit
def _feature_probs(phi, theta, i, p):
    """p <- softmax(θᵀ φ_i·); returns False if the row's logits are invalid."""
    A, d = phi.shape[1], phi.shape[2]
    m = -np.inf
    for a in range(A):
        s = 0.0
        for k in range(d):
            s += phi[i, a, k] * theta[k]
        if s != s or s == np.inf or s == -np.inf:
            return False
        p[a] = s
        if s > m:
            m = s
    if A == 0:
        return False
    tot = 0.0
    for a in range(A):
        e = math.exp(p[a] - m)
        p[a] = e
        tot += e
    for a in range(A):
        p[a] /= tot
    return True


@jit
def compatible_features(phi, theta, out):
    N, A, d = phi.shape
    p = np.empty(A, dtype=np.float64)
    mean = np.empty(d, dtype=np.float64)
    for i in range(N):
        if not _feature_probs(phi, theta, i, p):
            return i
        for k in range(d):
            mean[k] = 0.0
        for a in range(A):
            for k in range(d):
                mean[k] += p[a] * phi[i, a, k]
        for a in range(A):
            for k in range(d):
                out[i, a, k] = phi[i, a, k] - mean[k]
    return -1


@jit
def action_feature_grad(phi, actions, weights, theta, out):
    N, A, d = phi.shape
    p = np.empty(A, dtype=np.float64)
    acc = np.zeros(d, dtype=np.float64)
    for i in range(N):
        if not _feature_probs(phi, theta, i, p):
            return i
        w = weights[i]
        ai = actions[i]
        for k in range(d):
            mk = 0.0
            for a in range(A):
                mk += p[a] * phi[i, a, k]
            acc[k] += w * (phi[i, ai, k] - mk)
    for k in range(d):
        out[k] = acc[k]
    return -1


@jit
def sample_categorical(logits, u, out):
    N, A = logits.shape
    for i in range(N):
        m = _row_max(logits, i)
        if m != m:
            return i
        tot = 0.0
        for a in range(A):
            tot += math.exp(np.float64(logits[i, a]) - m)
        thresh = u[i] * tot
        acc = 0.0
        pick = -1
        last = 0
        for a in range(A):
            e = math.exp(np.float64(logits[i, a]) - m)
            if e > 0.0:
                last = a
            acc += e
            if pick < 0 and acc > thresh:
                pick = a
        out[i] = pick if pick >= 0 else last
    return -1


@jit
def entropy(logits, out):
    N, A = logits.shape
    for i in range(N):
        m = _row_max(logits, i)
        if m != m:
            return i
        # H = log S - sum_a e_a (z_a - m) / S: one exp per element
        tot = 0.0
        h = 0.0
        for a in range(A):
            lp = logits[i, a] - m
            p = math.exp(lp)
            tot += p
            if p > 0.0:
                h += p * lp
        out[i] = math.log(tot) - h / tot
    return -1


@jit
def policy_gradient_loss(logits, actions, advantages, dlogits, loss):
    N, A = logits.shape
    total = 0.0
    for i in range(N):
        m = _row_max(logits, i)
        ai = actions[i]
        if m != m or logits[i, ai] == -np.inf:
            return i
        tot = 0.0  # the exponentials go to dlogits first: one exp per element
        for a in range(A):
            e = math.exp(logits[i, a] - m)
            dlogits[i, a] = e
            tot += e
        adv = advantages[i]
        scale = adv / N
        total -= ((logits[i, ai] - m) - math.log(tot)) * adv
        f = scale / tot
        for a in range(A):
            dlogits[i, a] = dlogits[i, a] * f
        dlogits[i, ai] -= scale
    loss[0] = total / N if N > 0 else 0.0
    return -1
