"""fastpg's own exp (src_cython/fmath.pxd, fastpg/_numba/_fmath.py): within
1 ulp of the C library's everywhere, the C library's special values, and the
same bits in numba and Cython (here through the off-policy kernels that use
it; tests/test_call_paths.py also cimports it from a user's module); and
numba's fpg_sincos, the C library's sin and cos bit for bit."""
import math

import numpy as np
import pytest

import fastpg
from fastpg import _backend

numba = pytest.importorskip("numba")
pytestmark = [pytest.mark.backend_fixed,
              pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")]


@pytest.fixture(scope="module")
def fexp():
    from fastpg._numba import _fmath

    @numba.njit
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = _fmath.exp(x[i])
        return out
    return apply


def _libm_exp(v):
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


def _draws(seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([
        rng.uniform(-760, 720, 400_000),        # the whole range, past both ends
        rng.normal(0, 3, 400_000),              # where log-ratios and logits live
        rng.uniform(-745.2, -708.3, 100_000),   # subnormal results
        rng.uniform(709.0, 709.79, 50_000),     # the largest finite results
        rng.normal(0, 1e-9, 50_000),            # exp(x) ~ 1 + x
    ])


@pytest.mark.parametrize("seed", [0, 1])
def test_within_one_ulp_of_libm(fexp, seed):
    x = _draws(seed)
    got = fexp(x)
    want = np.array([_libm_exp(v) for v in x.tolist()])
    fin = np.isfinite(want)
    # inf exactly where libm overflows
    np.testing.assert_array_equal(np.isinf(got), ~fin)
    ulp = np.abs(got[fin] - want[fin]) / np.spacing(want[fin])
    assert ulp.max() <= 1.0, (ulp.max(), x[fin][np.argmax(ulp)])
    # mostly the correctly rounded value itself (libm's)
    assert (ulp == 0).mean() > 0.8


def test_special_values(fexp):
    x = np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 5e-324, -5e-324, 710.0, 1e300,
                  -746.0, -1e300, 709.782712893384, -745.1332191019411, -745.1332191019412,
                  -708.3964185322641, 1.0, -1.0, math.log(2.0), 0.5 * math.log(2.0)])
    got = fexp(x)
    want = np.array([_libm_exp(v) for v in x.tolist()])
    assert np.isnan(got[2]) and np.isnan(got[3])
    keep = ~np.isnan(want)
    exact = np.isinf(want) | (want == 0) | (want == 1)
    np.testing.assert_array_equal(got[keep & exact], want[keep & exact])
    rest = keep & ~exact
    assert (np.abs(got[rest] - want[rest]) <= np.spacing(want[rest])).all()
    assert got[0] == np.inf and got[1] == 0.0 and got[4] == 1.0 and got[5] == 1.0
    assert got[12] < np.inf and got[8] == np.inf  # the last finite result, the first inf
    assert 0 < got[13] <= 5e-324 * 2 and got[10] == 0.0  # the smallest subnormal, then 0


@pytest.mark.skipif(not _backend.available("cython"), reason="cython backend unavailable")
def test_numba_and_cython_same_bits(dtype):
    # unclipped ratios over the whole exponent range reach the outputs
    rng = np.random.default_rng(3)
    T, B = 200, 29
    r = rng.normal(size=(T, B)).astype(dtype)
    v = rng.normal(size=(T + 1, B)).astype(dtype)
    lr = (rng.normal(size=(T, B)) * rng.choice([0.5, 5, 50, 800], size=(T, B))).astype(dtype)
    lr[0, :2] = [-np.inf, 0.0]  # (NaN and +inf are refused by validation)
    term = rng.random((T, B)) < 0.05
    outs = {}
    for be in ("numba", "cython"):
        with fastpg.use_backend(be), np.errstate(all="ignore"):
            outs[be] = fastpg.vtrace(r, v[:-1], v[-1], lr, 0.99, 0.95, term, rho_clip=np.inf,
                                     c_clip=np.inf, pg_rho_clip=np.inf) + (
                fastpg.retrace(r, v[:-1], v[1:], lr, 0.99, 0.95, term, c_clip=np.inf),)
    for a, b in zip(outs["numba"], outs["cython"]):
        assert a.tobytes() == b.tobytes()
        assert np.isfinite(a).mean() > 0.3  # not all overflowed


def test_sincos_is_the_c_librarys_sin_and_cos():
    """numba's fpg_sincos twin (one sincos call on glibc) gives the bits of
    the C library's sin and cos (Python's math module calls them), which
    CartPole's dynamics need to equal gymnasium's: over angles the env
    reaches, over the whole range, and at the special values."""
    from fastpg._numba import _fmath

    @numba.njit
    def apply(x):
        s = np.empty_like(x)
        c = np.empty_like(x)
        for i in range(x.shape[0]):
            s[i], c[i] = _fmath.sincos(x[i])
        return s, c

    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-0.5, 0.5, 100_000), rng.uniform(-1e6, 1e6, 50_000),
                        rng.standard_normal(50_000) * 1e-300,
                        [0.0, -0.0, math.pi, -math.pi, 1e308, -1e308, 5e-324]])
    s, c = apply(x)
    want_s = np.array([math.sin(v) for v in x])
    want_c = np.array([math.cos(v) for v in x])
    assert np.array_equal(s.view(np.int64), want_s.view(np.int64))
    assert np.array_equal(c.view(np.int64), want_c.view(np.int64))
    s, c = apply(np.array([math.inf, -math.inf, math.nan]))
    assert np.isnan(s).all() and np.isnan(c).all()
