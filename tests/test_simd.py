"""numba's dot8 (fastpg/_numba/_simd.py): the dense value-iteration sum's 8
interleaved lanes, added pairwise, bit for bit against the same order
written out in Python floats (the order Cython's scalar lanes keep)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastpg import _backend

numba = pytest.importorskip("numba")
pytestmark = [pytest.mark.backend_fixed,
              pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")]


def _lanes(x, y, n8):
    s = [0.0] * 8
    for j in range(8 * n8):
        s[j % 8] += float(x[j]) * float(y[j])
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


@pytest.fixture(scope="module")
def dot8():
    from fastpg._numba._simd import dot8 as d8

    @numba.njit
    def call(x, y, n8):
        return d8(x, y, n8)
    return call


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 70), seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-3, 1.0, 1e8]))
def test_dot8_is_the_lane_order(dot8, n, seed, scale):
    rng = np.random.default_rng(seed)
    # mixed signs and magnitudes, so that another order rounds differently
    x = rng.standard_normal(n + 3) * scale ** rng.uniform(-1, 1, n + 3)
    y = rng.standard_normal(n + 3)
    got = dot8(x, y, n // 8)
    assert got == _lanes(x, y, n // 8)


def test_dot8_reads_only_its_blocks(dot8):
    """Elements past 8·n8 (the caller's remainder) are not summed."""
    x = np.ones(20)
    y = np.arange(20.0)
    assert dot8(x, y, 2) == sum(range(16)) and dot8(x, y, 0) == 0.0
    # a view into a larger row: the data pointer is the view's
    assert dot8(x[3:], y[3:], 1) == sum(range(3, 11))


def test_dot8_rejects_what_it_cannot_load(dot8):
    with pytest.raises(numba.core.errors.TypingError):
        dot8(np.ones(8, np.float32), np.ones(8, np.float32), 1)
    with pytest.raises(numba.core.errors.TypingError):
        dot8(np.ones(16)[::2], np.ones(8), 1)
