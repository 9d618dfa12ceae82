"""pytest-benchmark suite for the policy kernels, driven by the registry.

Groups are ``kernel|size``; the NumPy reference is the baseline of each group;
the seed notebook's per-sample loop joins ``linear_policy_grad`` at the small
size. The action-feature kernels use 10,000 rows (see fastpg.bench.workloads.N_PHI).
"""
import pytest

from fastpg import _backend

from .checks import assert_same, start
from .workloads import POLICY_QUICK, call_policy, make_policy, seed_policy_loop

_DATA = {}


def _data(size):
    if size not in _DATA:
        _DATA[size] = make_policy(size)
    return _DATA[size]


@pytest.mark.parametrize("size", list(POLICY_QUICK))
@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
@pytest.mark.parametrize("kernel", list(_backend.REGISTRY["policy"]))
def test_policy(benchmark, kernel, backend, size):
    start(benchmark, backend, f"{kernel}|{size}")
    fn = call_policy(kernel, _data(size), backend)
    got = fn()  # warm-up: JIT compile excluded
    if backend != "numpy":
        assert_same(got, call_policy(kernel, _data(size), "numpy")())
    benchmark(fn)


def test_seed_per_sample_loop(benchmark):
    benchmark.group = "linear_policy_grad|N100k-d4-A2-f32"
    d = _data("N100k-d4-A2-f32")
    if benchmark.disabled:  # as a test: a slice is enough to keep it from rotting
        d = {k: v[:500] if k in ("X", "actions", "weights") else v for k, v in d.items()}
    benchmark.pedantic(seed_policy_loop, args=(d,), rounds=1, iterations=1)
