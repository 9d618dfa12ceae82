"""NumPy reference for the return kernels: the executable specification.

Every backend implements the same names with the same positional signature.
The public functions in :mod:`fastpg.returns` validate and normalise their
arguments and hand the kernels:

* ``rewards``, ``values``, ``out`` ... : float32 or float64, C-contiguous,
  shape ``(T, B)`` (time-major; a flat stream is ``(T, 1)``);
* ``gamma``, ``lam``: same dtype, shape ``(1, B)`` (constant in time) or
  ``(T, B)`` (per step);
* ``terminated``, ``truncated``: uint8 ``(T, B)``, nonzero meaning true, or
  shape ``(0, B)`` when the caller passed none;
* ``next_values``: ``(T, B)``; ``(0, B)`` for "not given" (discounted
  returns only); ``(1, B)`` with ``T > 1``, the value after the last step:
  for GAE the shorthand ``next_values[t] = values[t + 1]``, for discounted
  returns one row read at every step that bootstraps (the public API allows
  it only when that is the last step alone).

The reference favours clarity over speed: it loops over time and is
vectorised over the batch, accumulating in float64 whatever the input
precision, and writes the result in the output's dtype.

All three scan kernels are the linear recurrence

    y_t = a_t + c_t * y_{t+1},   y_T = 0,

with per-kernel coefficients ``a`` and ``c``. A zero coefficient *cuts* the
dependence: ``c_t = 0`` gives ``y_t = a_t`` even if ``y_{t+1}`` is NaN or
infinite, so a NaN never leaks out of its episode (IEEE would give
``0 * inf = nan``). Every backend follows that rule.
"""
from __future__ import annotations

import numpy as np

__all__ = ["discounted_returns", "gae", "lambda_returns", "nstep_returns"]


def _flags(flag, T, B):
    if flag.shape[0] == 0:
        return np.zeros((T, B), dtype=bool)
    return flag != 0


def _ends(terminated, truncated, T, B):
    """(term, done): the terminated steps, and the steps where the recursion
    stops (terminated, truncated, or the last step of the array)."""
    term = _flags(terminated, T, B)
    done = term | _flags(truncated, T, B)
    if T:
        done[-1] = True
    return term, done


def _coef(arr, T):
    """(1, B) or (T, B) coefficient as a float64 (T, B) view."""
    return np.broadcast_to(arr.astype(np.float64), (T, arr.shape[1]))


def _scan(a, c, out, extra=None):
    """y_t = a_t + c_t y_{t+1} backwards in time; writes y (+ extra) to out."""
    T, B = a.shape
    y = np.zeros(B, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        for t in range(T - 1, -1, -1):
            y = a[t] + np.where(c[t] != 0.0, c[t] * y, 0.0)
            out[t] = y
            if extra is not None:
                extra[1][t] = y + extra[0][t]
    return out


def discounted_returns(rewards, gamma, terminated, truncated, next_values, out):
    """G_t = r_t + gamma_t (1 - term_t) B_t.

    B_t = G_{t+1} inside an episode; at a truncated step or the last step of
    the array B_t = next_values[t] (0 when next_values has no rows; a single
    row is broadcast along time).
    A step both terminated and truncated is terminal.
    """
    T, B = rewards.shape
    r = rewards.astype(np.float64)
    g = _coef(gamma, T)
    term, cut = _ends(terminated, truncated, T, B)
    if next_values.shape[0]:
        nv = next_values.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            boot = np.where(cut & ~term, g * nv, 0.0)
    else:
        boot = np.zeros((T, B))
    a = r + boot
    c = np.where(cut, 0.0, g)
    return _scan(a, c, out)


def _next_values_full(values, next_values):
    T = values.shape[0]
    if next_values.shape[0] == T:
        return next_values.astype(np.float64)
    # shorthand: the value after step t is the value of step t + 1
    return np.concatenate([values[1:], next_values], axis=0).astype(np.float64)


def gae(rewards, values, next_values, gamma, lam, terminated, truncated,
        advantages_out, returns_out):
    """Generalised advantage estimation (Schulman et al. 2016).

    delta_t = r_t + gamma_t (1 - term_t) next_values[t] - values[t]
    A_t     = delta_t + gamma_t lam_t (1 - done_t) A_{t+1},  A_T = 0,
    done    = terminated | truncated;   returns = A + values.
    """
    T, B = rewards.shape
    r = rewards.astype(np.float64)
    v = values.astype(np.float64)
    nv = _next_values_full(values, next_values)
    g = _coef(gamma, T)
    lm = _coef(lam, T)
    term, done = _ends(terminated, truncated, T, B)
    with np.errstate(invalid="ignore", over="ignore"):
        a = r + np.where(term, 0.0, g * nv) - v
    c = np.where(done, 0.0, g * lm)
    _scan(a, c, advantages_out, extra=(v, returns_out))
    return advantages_out, returns_out


def lambda_returns(rewards, next_values, gamma, lam, terminated, truncated, out):
    """TD(lambda) targets.

    G_t = r_t + gamma_t (1 - term_t) [(1 - lam_t) V_{t+1} + lam_t G_{t+1}]
    inside an episode; at a terminated, truncated or last step
    G_t = r_t + gamma_t (1 - term_t) next_values[t].
    Equals ``gae(...).returns`` when values[t + 1] == next_values[t] inside
    episodes.
    """
    T, B = rewards.shape
    r = rewards.astype(np.float64)
    nv = next_values.astype(np.float64)
    g = _coef(gamma, T)
    lm = _coef(lam, T)
    term, done = _ends(terminated, truncated, T, B)
    with np.errstate(invalid="ignore", over="ignore"):
        a = r + np.where(term, 0.0, np.where(done, g * nv, g * (1.0 - lm) * nv))
    c = np.where(done, 0.0, g * lm)
    return _scan(a, c, out)


def nstep_returns(rewards, next_values, gamma, n, terminated, truncated, out):
    """n-step returns.

    G_t = sum_{k<m} (prod_{j<k} gamma_{t+j}) r_{t+k}
          + (prod_{j<m} gamma_{t+j}) (1 - term_{t+m-1}) next_values[t+m-1]

    m <= n is the number of steps that stay inside the episode and the array:
    the window stops after the first terminated or truncated step (or the
    last step of the array). Costs O(T * B * n).
    """
    T, B = rewards.shape
    r = rewards.astype(np.float64)
    nv = next_values.astype(np.float64)
    g = _coef(gamma, T)
    term = _flags(terminated, T, B)
    stop = term | _flags(truncated, T, B)
    if T:
        stop[-1] = True
    with np.errstate(invalid="ignore", over="ignore"):
        for t in range(T):
            acc = np.zeros(B)
            disc = np.ones(B)
            alive = np.ones(B, dtype=bool)
            for k in range(min(n, T - t)):
                s = t + k
                acc = np.where(alive, acc + disc * r[s], acc)
                ends = alive & (stop[s] | (k == n - 1))
                boot = np.where(term[s], 0.0, disc * g[s] * nv[s])
                acc = np.where(ends, acc + boot, acc)
                disc = np.where(alive, disc * g[s], disc)
                alive &= ~ends
            out[t] = acc
    return out
