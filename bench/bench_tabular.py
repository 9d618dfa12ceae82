"""pytest-benchmark suite for the tabular kernels.

Groups are ``kernel|size``. Baselines: the NumPy reference (a Python loop over
transitions, as the Gymnasium tutorial writes it; timed on the first
N_REF = 50,000 transitions: compare rates, i.e. extra_info["updates_per_s"])
and, for q_learning, the ``np.add.at`` batch variant (different semantics:
duplicates add up against the pre-batch table). Sizes: FASTPG_BENCH_FULL=1
for all four (default: TABULAR_QUICK).
"""
import os

import pytest

from fastpg import _backend

from .checks import assert_same, start
from .workloads import (TABULAR_QUICK, TABULAR_SIZES, TABULAR_UPDATES, VI_SIZES, add_at_q_learning,
                        call_tabular, call_vi, make_tabular, make_vi)

_SIZES = list(TABULAR_SIZES) if os.environ.get("FASTPG_BENCH_FULL") == "1" else list(TABULAR_QUICK)
_DATA = {}


def _data(size, make=make_tabular):
    if size not in _DATA:
        _DATA[size] = make(size)
    return _DATA[size]


@pytest.mark.parametrize("size", _SIZES)
@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
@pytest.mark.parametrize("kernel", list(TABULAR_UPDATES) + ["epsilon_greedy"])
def test_tabular(benchmark, kernel, backend, size):
    start(benchmark, backend, f"{kernel}|{size}")
    d = _data(size)
    if benchmark.disabled:
        d = {k: (v[:2000] if k not in ("Q", "V") else v) for k, v in d.items()}
    fn, n = call_tabular(kernel, d, backend)
    got = fn()  # warm-up: JIT compile excluded; the first call starts from the given tables
    if backend != "numpy":
        want = call_tabular(kernel, d, "numpy")[0]()  # on the first N_REF transitions
        # the updates are sequential, so their head is the reference's; epsilon_greedy
        # draws N uniforms twice, so only the same N gives the same actions
        if kernel != "epsilon_greedy" or len(got) == len(want):
            assert_same(got[:len(want)], want)
    benchmark.pedantic(fn, rounds=3 if backend == "numpy" else 10, iterations=1)
    benchmark.extra_info["updates_per_s"] = n / benchmark.stats.stats.median if benchmark.stats else None


@pytest.mark.parametrize("size", _SIZES)
def test_add_at_variant(benchmark, size):
    benchmark.group = f"q_learning|{size}"
    fn, n = add_at_q_learning(_data(size))
    benchmark.pedantic(fn, rounds=3, iterations=1)


@pytest.mark.parametrize("size", list(VI_SIZES))
@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
def test_value_iteration(benchmark, backend, size):
    start(benchmark, backend, f"value_iteration|{size}")
    fn = call_vi(_data(size, make_vi), backend)
    got = fn()
    if backend != "numpy":
        want = call_vi(_data(size, make_vi), "numpy")()
        assert_same((got.V, got.Q, got.policy), (want.V, want.Q, want.policy))
    benchmark.pedantic(fn, rounds=1 if benchmark.disabled else 3, iterations=1)
