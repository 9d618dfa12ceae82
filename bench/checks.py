"""Each benchmark checks its kernel's result once against the NumPy reference
(as a test under --benchmark-disable, a broken kernel fails its benchmark)."""
import numpy as np
import pytest

from fastpg import _backend


def start(benchmark, backend, group):
    """Skips a benchmark whose backend is not available here (with the
    reason), and names its comparison group (kernel and size)."""
    why = _backend.why_unavailable(backend)
    if why is not None:
        pytest.skip(why)
    benchmark.group = group


def assert_same(got, want):
    """got and want: arrays, or tuples of arrays (GAEResult, (loss, grad), ...)."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype,
                                                                 want.shape, want.dtype)
    if want.dtype.kind == "f":
        tol = 2e-4 if want.dtype == np.float32 else 1e-9
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)
