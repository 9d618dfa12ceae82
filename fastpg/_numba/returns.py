"""Numba return kernels (semantics and argument layout: fastpg.reference.returns).

discounted_returns, gae and lambda_returns are one linear recurrence scanned by
fastpg._numba._scan; each comes serial, ``*_parallel`` and, for arrays known to
be wide (B >= ROW_MIN_B), ``*_rows`` / ``*_rows_parallel``, which compile only the
row path (fastpg._backend.kernel picks them from its ``width``).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._tuning import MAX_SLABS
from . import jit
from ._scan import DISC, GAE, LAMBDA, _row_scan, _row_scan_parallel, _scan, _scan_parallel

__all__ = ["discounted_returns", "gae", "lambda_returns", "nstep_returns"]


@jit
def discounted_returns(rewards, gamma, terminated, truncated, next_values, out):
    _scan(DISC, rewards, rewards, next_values, gamma, gamma, terminated,
          truncated, out, out, 1)
    return out


@jit
def gae(rewards, values, next_values, gamma, lam, terminated, truncated,
        advantages_out, returns_out):
    _scan(GAE, rewards, values, next_values, gamma, lam, terminated, truncated,
          advantages_out, returns_out, 1)
    return advantages_out, returns_out


@jit
def lambda_returns(rewards, next_values, gamma, lam, terminated, truncated, out):
    _scan(LAMBDA, rewards, rewards, next_values, gamma, lam, terminated,
          truncated, out, out, 1)
    return out


@jit
def discounted_returns_parallel(rewards, gamma, terminated, truncated,
                                next_values, out):
    _scan_parallel(DISC, rewards, rewards, next_values, gamma, gamma, terminated,
                   truncated, out, out, MAX_SLABS)
    return out


@jit
def gae_parallel(rewards, values, next_values, gamma, lam, terminated,
                 truncated, advantages_out, returns_out):
    _scan_parallel(GAE, rewards, values, next_values, gamma, lam, terminated,
                   truncated, advantages_out, returns_out, MAX_SLABS)
    return advantages_out, returns_out


@jit
def lambda_returns_parallel(rewards, next_values, gamma, lam, terminated,
                            truncated, out):
    _scan_parallel(LAMBDA, rewards, rewards, next_values, gamma, lam, terminated,
                   truncated, out, out, MAX_SLABS)
    return out


# The same kernels for wide arrays only (B >= ROW_MIN_B): fastpg's API calls
# these there (fastpg._backend.kernel's ``width``).
@jit
def discounted_returns_rows(rewards, gamma, terminated, truncated, next_values, out):
    _row_scan(DISC, rewards, rewards, next_values, gamma, gamma, terminated,
              truncated, out, out, 1)
    return out


@jit
def gae_rows(rewards, values, next_values, gamma, lam, terminated, truncated,
             advantages_out, returns_out):
    _row_scan(GAE, rewards, values, next_values, gamma, lam, terminated, truncated,
              advantages_out, returns_out, 1)
    return advantages_out, returns_out


@jit
def lambda_returns_rows(rewards, next_values, gamma, lam, terminated, truncated, out):
    _row_scan(LAMBDA, rewards, rewards, next_values, gamma, lam, terminated,
              truncated, out, out, 1)
    return out


@jit
def discounted_returns_rows_parallel(rewards, gamma, terminated, truncated,
                                     next_values, out):
    _row_scan_parallel(DISC, rewards, rewards, next_values, gamma, gamma, terminated,
                       truncated, out, out, MAX_SLABS)
    return out


@jit
def gae_rows_parallel(rewards, values, next_values, gamma, lam, terminated,
                      truncated, advantages_out, returns_out):
    _row_scan_parallel(GAE, rewards, values, next_values, gamma, lam, terminated,
                       truncated, advantages_out, returns_out, MAX_SLABS)
    return advantages_out, returns_out


@jit
def lambda_returns_rows_parallel(rewards, next_values, gamma, lam, terminated,
                                 truncated, out):
    _row_scan_parallel(LAMBDA, rewards, rewards, next_values, gamma, lam, terminated,
                       truncated, out, out, MAX_SLABS)
    return out


@jit
def _nstep_rows(r, nv, g, n, term, trunc, out, t0, t1):
    T, B = r.shape
    # unsigned indices: numba adds a negative-index fix-up to every signed
    # one (fastpg._numba._scan._unsigned); gamma's row stride 0 or 1
    gs = np.uint64(1 if g.shape[0] > 1 else 0)
    has_te = term.shape[0] > 0
    has_tr = trunc.shape[0] > 0
    for t in range(t0, t1):
        for b in range(B):
            ub = np.uint64(b)
            acc = 0.0  # float64 sums, as the reference: gamma^k must not underflow
            disc = 1.0
            for k in range(min(n, T - t)):
                s = t + k
                us = np.uint64(s)
                gk = g[us * gs, ub]
                acc += disc * r[us, ub]
                if has_te and term[us, ub] != 0:
                    break
                if k == n - 1 or s == T - 1 or (has_tr and trunc[us, ub] != 0):
                    acc += disc * gk * nv[us, ub]
                    break
                disc *= gk
            out[t, b] = acc


@jit
def nstep_returns(rewards, next_values, gamma, n, terminated, truncated, out):
    _nstep_rows(rewards, next_values, gamma, n, terminated, truncated, out, 0,
                rewards.shape[0])
    return out


@jit(parallel=True)
def nstep_returns_parallel(rewards, next_values, gamma, n, terminated,
                           truncated, out):
    T = rewards.shape[0]
    nchunk = max(1, min(T // 4096, 256))
    for i in prange(nchunk):
        _nstep_rows(rewards, next_values, gamma, n, terminated, truncated, out,
                    i * T // nchunk, (i + 1) * T // nchunk)
    return out
