"""The flat-stream scans' vector chunks (src_cython/fpg_scan_simd.h and numba's
twin): lengths around the chunk and block boundaries, every coefficient and
flag layout, GAE's shorthand, and the inputs that must leave the vector path
(non-finite values, coefficients whose products could underflow), each
against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastpg
from fastpg._tuning import BLOCK

from .conftest import tol

#: around 8 and 16 lanes, the array's last row, and the block boundaries
LENGTHS = [1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 49, 64, 65, 100, 257,
           BLOCK - 1, BLOCK, BLOCK + 1, BLOCK + 17, 2 * BLOCK + 35]


@st.composite
def streams(draw):
    T = draw(st.sampled_from(LENGTHS) | st.integers(0, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = draw(st.sampled_from([0.0, 0.003, 0.05, 0.3]))
    d = dict(
        rewards=rng.standard_normal(T) * 3,
        values=rng.standard_normal(T),
        next_values=rng.standard_normal(T),
        terminated=(rng.random(T) < p) if draw(st.booleans()) else None,
        truncated=(rng.random(T) < p) if draw(st.booleans()) else None,
        shorthand=draw(st.booleans()),  # next_values = the value after the last step
    )
    gk = draw(st.sampled_from(["scalar", "per-step", "zero", "one", "tiny"]))
    d["gamma"] = {"scalar": 0.99, "zero": 0.0, "one": 1.0, "tiny": 1e-3,
                  "per-step": rng.uniform(0.0, 1.0, T) ** 0.1}[gk]
    lk = draw(st.sampled_from(["scalar", "per-step", "zero", "one"]))
    d["lam"] = {"scalar": 0.95, "zero": 0.0, "one": 1.0,
                "per-step": rng.uniform(0.5, 1.0, T)}[lk]
    bad = draw(st.sampled_from([None, np.nan, np.inf, -np.inf, 1e38]))
    if bad is not None and T:
        where = draw(st.sampled_from(["rewards", "values", "next_values"]))
        d[where][rng.integers(0, T, draw(st.integers(1, 3)))] = bad
    return d


def _run(kernel, d, dtype, backend):
    f = {k: (v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v)
         for k, v in d.items()}
    flags = dict(terminated=f["terminated"], truncated=f["truncated"], backend=backend)
    nv = f["next_values"]
    if f["shorthand"]:
        # only the last step bootstraps: no truncation before it
        nv = nv[-1] if len(nv) else dtype(0)
        flags["truncated"] = None
    if kernel == "discounted_returns":
        return [fastpg.discounted_returns(f["rewards"], f["gamma"], next_values=nv, **flags)]
    if kernel == "gae":
        return list(fastpg.gae(f["rewards"], f["values"], nv, f["gamma"], f["lam"], **flags))
    if f["shorthand"]:  # lambda_returns takes next values per step
        nv = f["next_values"]
    return [fastpg.lambda_returns(f["rewards"], nv, f["gamma"], f["lam"], **flags)]


@pytest.mark.parity
@pytest.mark.parametrize("kernel", ["discounted_returns", "gae", "lambda_returns"])
@given(d=streams())
def test_flat_streams_match_the_reference(kernel, d, backend, dtype):
    got = _run(kernel, d, dtype, backend)
    want = _run(kernel, d, dtype, "numpy")
    for g, w in zip(got, want):
        assert g.dtype == np.dtype(dtype)
        # non-finite results where the reference has them, nowhere else
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_array_equal(np.isposinf(g), np.isposinf(w))
        np.testing.assert_array_equal(np.isneginf(g), np.isneginf(w))
        fin = np.isfinite(w)
        # a sum's rounding error scales with its terms, not its result: a
        # 1e38 next to terms of 1 cancels differently in a tree
        terms = np.concatenate([x[np.isfinite(x)] for x in (d["rewards"], d["values"],
                                                            d["next_values"], w)])
        scale = max(1.0, float(np.abs(terms).max())) if terms.size else 1.0
        t = tol(dtype)
        np.testing.assert_allclose(g[fin], w[fin], rtol=t["rtol"], atol=t["atol"] * scale)


@pytest.mark.parity
@pytest.mark.parametrize("tiny", [1e-3, 1e-30], ids=["products-underflow", "each-underflows"])
def test_an_inf_crosses_coefficients_whose_products_underflow(backend, dtype, tiny):
    """Per-step discounts so small that a chunk's product of them is 0: the
    inf further on still reaches every earlier step of its episode (each step
    multiplies an inf by a positive number), as in the reference."""
    T = 300
    r = np.zeros(T, dtype)
    r[201] = np.inf
    g = np.full(T, tiny, dtype)
    term = np.zeros(T, bool)
    term[40] = True
    v = np.zeros(T, dtype)
    for out in (fastpg.discounted_returns(r, g, term, backend=backend),
                fastpg.gae(r, v, v, g, 1.0, term, backend=backend).advantages,
                fastpg.lambda_returns(r, v, g, 1.0, term, backend=backend)):
        assert np.isposinf(out[41:202]).all()
        assert (out[:41] == 0).all() and (out[202:] == 0).all()


@pytest.mark.parity
def test_hand_computed_chunk(backend, dtype):
    """Forty steps of reward 1 with gamma 1/2, an episode end at step 9, a
    truncation at step 29 bootstrapping from 8 and a next value of 0 after
    the last step: G_t = 2 - 2^(t-9) up to the end (G_9 = 1), then
    2 + 3 * 2^(t-29) up to the truncation (G_29 = 1 + 8/2), then
    2 - 2^(t-39) (G_39 = 1)."""
    T = 40
    r = np.ones(T, dtype)
    term = np.zeros(T, bool)
    term[9] = True
    trunc = np.zeros(T, bool)
    trunc[29] = True
    nv = np.zeros(T, dtype)
    nv[29] = 8
    t = np.arange(T, dtype=np.float64)
    want = np.where(t <= 9, 2 - 2.0 ** (t - 9),
                    np.where(t <= 29, 2 + 3 * 2.0 ** (t - 29), 2 - 2.0 ** (t - 39)))
    got = fastpg.discounted_returns(r, 0.5, term, trunc, next_values=nv, backend=backend)
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.backend_fixed
@pytest.mark.parametrize("kernel", ["discounted_returns", "gae", "lambda_returns"])
def test_numba_and_cython_chunks_give_the_same_bits(kernel, dtype):
    """numba's chunk (fastpg/_numba/_chunks.py, LLVM IR) is the same operations
    in the same order as the Cython header's: where both scan chunks of the
    same width, their results are identical (within a block: across blocks a
    float32 λ-return fix-up may differ in the last bit)."""
    if not (fastpg.available("numba") and fastpg.available("cython")):
        pytest.skip("needs both compiled backends")
    import fastpg._cy as cy
    from fastpg._numba._chunks import _BYTES
    if cy.ISA not in ("avx2", "avx512") or _BYTES != (64 if cy.ISA == "avx512" else 32):
        pytest.skip(f"different chunk widths (Cython level {cy.ISA}, numba {_BYTES} bytes)")
    rng = np.random.default_rng(11)
    T = BLOCK - 5
    d = dict(rewards=rng.standard_normal(T), values=rng.standard_normal(T),
             next_values=rng.standard_normal(T), terminated=rng.random(T) < 0.004,
             truncated=rng.random(T) < 0.002, shorthand=False,
             gamma=rng.uniform(0.9, 1.0, T), lam=0.95)
    for got, want in zip(_run(kernel, d, dtype, "numba"), _run(kernel, d, dtype, "cython")):
        assert got.tobytes() == want.tobytes()


_LEVEL_RUN = """
    import numpy as np, fastpg
    from fastpg import _numba
    from fastpg._numba import _chunks
    rng = np.random.default_rng(9)
    T = 3 * BLOCK + 21
    r, nv = rng.standard_normal((2, T))
    term, trunc = rng.random((2, T)) < 0.004
    for dt in (np.float32, np.float64):
        a = [x.astype(dt) for x in (r, nv)]
        got = fastpg.discounted_returns(a[0], 0.99, term, trunc, a[1], backend="numba")
        want = fastpg.discounted_returns(a[0], 0.99, term, trunc, a[1], backend="numpy")
        tol = 2e-5 if dt is np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    print(_chunks._BYTES, _numba.cache_dir())
"""


@pytest.mark.backend_fixed
def test_numba_chunks_at_every_narrower_level():
    """FASTPG_ISA caps numba's chunk width as it picks the Cython level, so
    the narrower widths (AVX2's 4 float64 lanes, none at the baseline) are
    compiled and checked on any host; such kernels are cached apart."""
    if not fastpg.available("numba"):
        pytest.skip("numba unavailable")
    import os
    import subprocess
    import sys
    import textwrap

    from fastpg._numba._chunks import _HOST_BYTES
    levels = [(lv, b) for lv, b in (("baseline", 0), ("avx2", 32)) if b < _HOST_BYTES]
    if not levels:
        pytest.skip("the host has no vector level above the baseline: the main run covers it")
    for level, nbytes in levels:
        code = f"BLOCK = {BLOCK}\n" + textwrap.dedent(_LEVEL_RUN)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(os.environ, FASTPG_ISA=level), timeout=900)
        assert res.returncode == 0, res.stderr[-3000:]
        got_bytes, where = res.stdout.split()
        assert int(got_bytes) == nbytes
        assert where.endswith("isa-" + level) or f"isa-{level}{os.sep}" in where
