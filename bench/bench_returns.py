"""pytest-benchmark suite for the return kernels, driven by the registry.

Run: pytest bench/ --benchmark-only   (CI runs it with --benchmark-disable).
Groups are ``kernel|size``; the NumPy reference is the baseline of each group.
"""
import os

import pytest

from fastpg import _backend

from .checks import assert_same, start
from .workloads import QUICK, SIZES, call, make, seed_style_loop

FULL = os.environ.get("FASTPG_BENCH_FULL") == "1"
_SIZES = list(SIZES) if FULL else list(QUICK)
_DATA = {}


def _data(size):
    if size not in _DATA:
        _DATA[size] = make(size)
    return _DATA[size]


@pytest.mark.parametrize("size", _SIZES)
@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
@pytest.mark.parametrize("kernel", list(_backend.REGISTRY["returns"]))
def test_returns(benchmark, kernel, backend, size):
    start(benchmark, backend, f"{kernel}|{size}")
    T, B, _ = SIZES[size]
    slow = backend == "numpy" and B == 1 and T > 100_000
    if slow and benchmark.disabled:
        pytest.skip("the reference's Python time loop on a long flat stream is benchmarked only when enabled")
    fn = call(kernel, _data(size), backend)
    got = fn()  # warm-up: JIT compile excluded
    if backend != "numpy" and not (B == 1 and T > 100_000 and benchmark.disabled):
        assert_same(got, call(kernel, _data(size), "numpy")())
    if slow:
        benchmark.pedantic(fn, rounds=1, iterations=1)
    else:
        benchmark(fn)


def test_seed_style_loop(benchmark):
    benchmark.group = "discounted_returns|T2048xB64-f32"
    d = make("T2048xB64-f32")
    d = {k: v[:, 0] for k, v in d.items()}
    benchmark.pedantic(seed_style_loop, args=(d,), rounds=3, iterations=1)
