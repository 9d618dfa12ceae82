"""pytest-benchmark: V-trace and Retrace on every backend and, when installed,
rlax (jax.jit + vmap over the batch) on the same inputs, in one group per
kernel. Each timed call's result is first checked: the compiled backends
against the reference, rlax against fastpg (V-trace at lam = 1, where the
two definitions agree; see fastpg.vtrace).

Run: pytest bench/bench_offpolicy.py --benchmark-only (CI: --benchmark-disable,
which runs each case once at a small size).
"""
import numpy as np
import pytest

import fastpg
from fastpg import _backend

from fastpg.bench.peers import Unavailable, rlax_returns

from .checks import assert_same

GAMMA = 0.99


def _inputs(small):
    T, B = (64, 8) if small else (2048, 64)
    rng = np.random.default_rng(0)
    f32 = np.float32
    v = rng.standard_normal((T + 1, B)).astype(f32)
    r = rng.standard_normal((T, B)).astype(f32)
    log_rhos = (rng.standard_normal((T, B)) * 0.3).astype(f32)
    term = rng.random((T, B)) < 0.004
    return dict(v=v, r=r, log_rhos=log_rhos, term=term, T=T, B=B)


def _fastpg(kernel, d, backend):
    if kernel == "vtrace":
        return lambda: fastpg.vtrace(d["r"], d["v"][:-1], d["v"][1:], d["log_rhos"], GAMMA, 1.0,
                                     d["term"], backend=backend)
    return lambda: fastpg.retrace(d["r"], d["v"][:-1], d["v"][1:], d["log_rhos"], GAMMA, 0.95,
                                  d["term"], backend=backend)


@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
@pytest.mark.parametrize("kernel", ["vtrace", "retrace"])
def test_fastpg(benchmark, kernel, backend):
    why = _backend.why_unavailable(backend)
    if why is not None:
        pytest.skip(why)
    d = _inputs(benchmark.disabled)
    benchmark.group = f"{kernel}|T{d['T']}xB{d['B']}-f32"
    fn = _fastpg(kernel, d, backend)
    got = fn()
    if backend != "numpy":
        assert_same(got, _fastpg(kernel, d, "numpy")())
    benchmark(fn)


def test_rlax_vtrace(benchmark):
    d = _inputs(benchmark.disabled)
    benchmark.group = f"vtrace|T{d['T']}xB{d['B']}-f32"
    data = dict(r=d["r"], v=d["v"], term=d["term"], log_rhos=d["log_rhos"])
    try:
        fn = rlax_returns("vtrace", data)  # checked against fastpg's reference first
    except Unavailable as exc:
        pytest.skip(str(exc))
    benchmark(fn)


def test_rlax_retrace(benchmark):
    """rlax.retrace takes Q-value tables and both policies' probabilities:
    fastpg's inputs are derived from them (the taken actions' Q, E_pi Q of the
    next observation, the log ratios) and the results compared first."""
    rlax = pytest.importorskip("rlax")
    jax = pytest.importorskip("jax")
    d = _inputs(benchmark.disabled)
    T, B, A = d["T"], d["B"], 4
    benchmark.group = f"retrace|T{T}xB{B}-f32"
    rng = np.random.default_rng(1)
    Q = rng.standard_normal((T + 1, B, A)).astype(np.float32)
    acts = rng.integers(0, A, (T + 1, B))
    pi = rng.dirichlet(np.ones(A), (T + 1, B)).astype(np.float32)
    mu = rng.uniform(0.1, 1.0, (T + 1, B)).astype(np.float32)
    discount = np.where(d["term"], 0.0, GAMMA).astype(np.float32)
    fn_j = jax.jit(jax.vmap(lambda q0, q1, a0, a1, r, disc, p, m: rlax.retrace(
        q0, q1, a0, a1, r, disc, p, m, 0.95, eps=0.0), in_axes=1, out_axes=1))
    args = (Q[:-1], Q[1:], acts[:-1], acts[1:], d["r"], discount, pi[1:], mu[1:])

    def fn():
        return jax.block_until_ready(fn_j(*args))

    err = np.asarray(fn())
    q_taken = np.take_along_axis(Q, acts[..., None], -1)[..., 0]
    log_rhos = np.log(np.take_along_axis(pi, acts[..., None], -1)[..., 0]) - np.log(mu)
    want = fastpg.retrace(d["r"], q_taken[:-1], (pi[1:] * Q[1:]).sum(-1), log_rhos[:-1], GAMMA,
                          0.95, d["term"], backend="numpy")
    np.testing.assert_allclose(err + q_taken[:-1], want, rtol=1e-4, atol=1e-4)
    benchmark(fn)
