"""The record kernels of the replay family (ring writes, row gathers, uniform
draws, n-step gathering): each compiled backend against the reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastpg import _backend
from fastpg.reference import replay as ref


def _k(backend, name):
    return _backend.kernel("replay", name, backend)


@pytest.mark.parity
@given(C=st.integers(1, 40), n=st.integers(0, 100), start=st.integers(0, 39),
       R=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_ring_write_matches_the_reference(backend, C, n, start, R, seed):
    rng = np.random.default_rng(seed)
    start %= C
    dst = rng.integers(0, 256, (C, R), dtype=np.uint8)
    src = rng.integers(0, 256, (n, R), dtype=np.uint8)
    a, b = dst.copy(), dst.copy()
    _k(backend, "ring_write")(a, src, start)
    ref.ring_write(b, src, start)
    np.testing.assert_array_equal(a, b)
    # as if written one row at a time: the later rows win
    c = dst.copy()
    for i in range(n):
        c[(start + i) % C] = src[i]
    np.testing.assert_array_equal(a, c)


def test_byte_kernels_take_strided_rows(backend):
    rec = np.arange(60, dtype=np.uint8).reshape(6, 10)
    field = rec[:, 2:6]  # a field's bytes inside each record
    out = np.zeros((3, 4), np.uint8)
    _k(backend, "gather_rows")(field, np.array([5, 0, 5]), out)
    np.testing.assert_array_equal(out, field[[5, 0, 5]])
    expect = rec.copy()
    expect[[4, 5, 0], 2:6] = 200 + np.arange(12, dtype=np.uint8).reshape(3, 4)
    _k(backend, "ring_write")(field, 200 + np.arange(12, dtype=np.uint8).reshape(3, 4), 4)
    np.testing.assert_array_equal(rec, expect)  # the bytes outside the field untouched


#: row lengths: records of a few bytes, around the 64-byte lines and the
#: 128-byte bound past which rows are prefetched one ahead, a frame
_ROW_BYTES = st.one_of(st.integers(1, 17), st.sampled_from([63, 64, 65, 127, 128, 129, 300, 7056]))


@pytest.mark.parity
@given(C=st.integers(1, 50), B=st.integers(0, 40), R=_ROW_BYTES,
       layout=st.sampled_from(["contiguous", "field", "byte-strided", "strided-out"]),
       seed=st.integers(0, 2**32 - 1))
def test_gather_rows_and_uniform_sample_match_the_reference(backend, C, B, R, layout, seed):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 256, (C, R), dtype=np.uint8)
    if layout == "field":  # rows R + 7 bytes apart, as a field of a record
        src = np.concatenate([src, np.zeros((C, 7), np.uint8)], axis=1)[:, :R]
    elif layout == "byte-strided":  # every other byte
        src = np.repeat(src, 2, axis=1)[:, ::2]
    idx = rng.integers(0, C, B)
    a, b = np.zeros((B, 2 * R), np.uint8), np.empty((B, R), np.uint8)
    a = a[:, ::2] if layout == "strided-out" else a[:, :R]
    _k(backend, "gather_rows")(src, idx, a)
    ref.gather_rows(src, idx, b)
    np.testing.assert_array_equal(a, b)
    u = rng.random(B)
    u[: B // 4] = np.nextafter(1.0, 0.0)  # the largest u lands on the last slot
    s1, s2 = np.empty(B, np.int64), np.empty(B, np.int64)
    _k(backend, "uniform_sample")(u, C, s1)
    ref.uniform_sample(u, C, s2)
    np.testing.assert_array_equal(s1, s2)
    assert B == 0 or (s1.min() >= 0 and s1.max() < C)


@pytest.mark.parity
@given(C=st.integers(1, 50), size=st.integers(1, 50), B=st.integers(0, 40), R=st.integers(1, 17),
       bitgen=st.sampled_from(["PCG64", "MT19937", "Philox", "SFC64"]),
       seed=st.integers(0, 2**32 - 1))
def test_uniform_gather_matches_the_reference_draw_for_draw(backend, C, size, B, R, bitgen, seed):
    """One call = uniform_sample(rng.random(B)) + gather_rows: same slots, same
    rows, and the Generator left where the reference leaves it."""
    size = min(size, C)
    src = np.random.default_rng(seed).integers(0, 256, (C, R), dtype=np.uint8)
    field = np.zeros((C, R + 5), np.uint8)[:, 2:R + 2]  # strided rows, as a record field
    field[:] = src
    got, want = [], []
    for fn, res in ((_k(backend, "uniform_gather"), got), (ref.uniform_gather, want)):
        rng = np.random.Generator(getattr(np.random, bitgen)(seed))
        idx, out = np.empty(B, np.int64), np.empty((B, R), np.uint8)
        fn(rng, size, field, idx, out)
        res += [idx, out, rng.random(3)]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert B == 0 or (got[0].min() >= 0 and got[0].max() < size)
    np.testing.assert_array_equal(got[1], src[got[0]])


@pytest.mark.parity
@given(E=st.sampled_from([1, 2, 3]), rows=st.integers(1, 12), n=st.integers(1, 6),
       gamma=st.sampled_from([0.0, 0.5, 0.99, 1.0]), seed=st.integers(0, 2**32 - 1))
def test_nstep_gather_matches_the_reference(backend, dtype, E, rows, n, gamma, seed):
    rng = np.random.default_rng(seed)
    C = rows * E
    r = rng.normal(size=C).astype(dtype)
    term = (rng.random(C) < 0.2).astype(np.uint8)
    cut = (rng.random(C) < 0.2).astype(np.uint8)
    idx = rng.integers(0, C, 30)
    newest = int(rng.integers(0, rows))
    outs = []
    for fn in (_k(backend, "nstep_gather"), ref.nstep_gather):
        o = (np.empty(30, dtype), np.empty(30, dtype), np.empty(30, np.int64))
        fn(r, term, cut, idx, E, newest, n, gamma, *o)
        outs.append(o)
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6 if dtype == np.float32 else 1e-13)
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_array_equal(outs[0][2], outs[1][2])
