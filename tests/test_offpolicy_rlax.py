"""V-trace and Retrace against rlax's own functions on the same data (when rlax
is installed: ``pip install fastpg[peers]``). rlax computes in float32 and
has no episode flags: a zero discount ends an episode, which is what
``terminated`` does here."""
import numpy as np
import pytest

import fastpg

rlax = pytest.importorskip("rlax")
jax = pytest.importorskip("jax")


def _episodes(rng, T):
    term = rng.random(T) < 0.1
    return term, np.where(term, 0.0, 0.97).astype(np.float32)


@pytest.mark.parametrize("lam", [1.0, 0.8])
def test_vtrace_matches_rlax(backend, lam):
    rng = np.random.default_rng(11)
    T = 60
    v = rng.standard_normal(T + 1).astype(np.float32)
    r = rng.standard_normal(T).astype(np.float32)
    rho = rng.uniform(0.2, 3.0, T).astype(np.float32)
    term, discount = _episodes(rng, T)
    out = rlax.vtrace_td_error_and_advantage(v[:-1], v[1:], r, discount, rho, lambda_=lam,
                                             clip_rho_threshold=1.0,
                                             clip_pg_rho_threshold=1.5)
    vs, pg = fastpg.vtrace(r, v[:-1], v[1:], np.log(rho), 0.97, lam, term, rho_clip=1.0,
                           c_clip=1.0, pg_rho_clip=1.5, backend=backend)
    np.testing.assert_allclose(vs - v[:-1], np.asarray(out.errors), rtol=1e-4, atol=1e-4)
    if lam == 1.0:  # rlax's advantage bootstraps from lam v + (1 - lam) V (see vtrace's doc)
        np.testing.assert_allclose(pg, np.asarray(out.pg_advantage), rtol=1e-4, atol=1e-4)


def test_retrace_matches_rlax(backend):
    rng = np.random.default_rng(12)
    T, A = 50, 4
    Q = rng.standard_normal((T + 1, A)).astype(np.float32)
    acts = rng.integers(0, A, T + 1)
    pi = rng.dirichlet(np.ones(A), T + 1).astype(np.float32)
    mu = rng.uniform(0.1, 1.0, T + 1).astype(np.float32)
    r = rng.standard_normal(T).astype(np.float32)
    term, discount = _episodes(rng, T)
    err = rlax.retrace(Q[:-1], Q[1:], acts[:-1], acts[1:], r, discount, pi[1:], mu[1:], 0.9,
                       eps=0.0)
    q_taken = Q[np.arange(T + 1), acts]
    log_rhos = np.log(pi[np.arange(T + 1), acts]) - np.log(mu)
    got = fastpg.retrace(r, q_taken[:-1], (pi[1:] * Q[1:]).sum(-1), log_rhos[:-1], 0.97, 0.9,
                         term, backend=backend)
    # fastpg reads the trace of step t + 1 from log_rhos[t + 1]; the last row's
    # trace would need log_rhos[T], which bootstrapping at the end never uses
    np.testing.assert_allclose(got, np.asarray(err) + q_taken[:-1], rtol=1e-4, atol=1e-4)
