"""pytest-benchmark of every registered kernel on every backend, driven by the
kernel table (fastpg.bench.specs): one group per kernel at the table's
"bench" size, its first dtype; the NumPy reference is in each group unless
it is a Python loop (``reference_loop``; the per-family benchmarks time those
loops on fewer items).

Run: pytest bench/bench_kernels.py --benchmark-only. Under --benchmark-disable
(CI) each case runs once at the "small" size and each compiled backend's
result is checked against the reference first.
"""
import pytest

from fastpg import _backend
from fastpg.bench.specs import SPECS

from .checks import assert_same


def _flat(outcome):
    result, arrays = outcome
    return tuple(arrays) if result is None else (result, *arrays)


@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_kernel(benchmark, spec, backend):
    why = _backend.why_unavailable(backend)
    if why is not None:
        pytest.skip(why)
    size = "small" if benchmark.disabled else "bench"
    if backend == "numpy" and spec.reference_loop and size == "bench":
        pytest.skip("the reference is a Python loop: timed by the per-family benchmarks")
    dtype = spec.dtypes[0]
    if backend != "numpy":
        args, kwargs = spec.args("small", dtype)
        assert_same(_flat(spec.outcome(args, kwargs, backend)),
                    _flat(spec.outcome(args, kwargs, "numpy")))
    args, kwargs = spec.args(size, dtype)
    benchmark.group = f"{spec.name}|{size}|{dtype.__name__}"
    spec.again(args, kwargs, backend)  # warm-up: JIT compile excluded
    benchmark(spec.again, args, kwargs, backend)
