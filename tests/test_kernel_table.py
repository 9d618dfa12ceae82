"""The kernel table (fastpg.bench.specs) against the registry, and every
compiled backend against the NumPy reference on every kernel of the table:
the return value and every array argument after the call (outputs, tables
updated in place, and inputs, which must come back unchanged)."""
import copy

import numpy as np
import pytest

from fastpg import _backend
from fastpg.bench.specs import SPECS

from .conftest import tol

COMPILED = [b for b in ("numba", "cython") if _backend.available(b)]
pytestmark = pytest.mark.backend_fixed


def test_the_table_has_every_registered_kernel_once():
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
    registered = {(fam, n) for fam, ns in _backend.REGISTRY.items() for n in ns}
    assert {(s.family, s.name) for s in SPECS} == registered
    for s in SPECS:
        assert {"tiny", "small", "bench"} <= set(s.sizes), s.name
        assert s.dtypes and all(np.dtype(d).kind == "f" for d in s.dtypes), s.name


def _same(got, want, dtype, where):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, dtype, f"{where}[{i}]")
    elif isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape and got.dtype == want.dtype, where
        if want.dtype.kind in "fc":
            np.testing.assert_allclose(got, want, err_msg=where, **tol(want.dtype))
        else:
            np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, float):
        np.testing.assert_allclose(got, want, err_msg=where, **tol(dtype))
    else:
        assert got == want, where


@pytest.mark.parametrize("compiled", COMPILED)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_compiled_backend_matches_the_reference(spec, compiled):
    for dtype in spec.dtypes:
        for size in ("tiny", "small"):
            for seed in (0, 1):
                args, kwargs = spec.args(size, dtype, seed)
                want = spec.outcome(args, kwargs, "numpy")
                got = spec.outcome(args, kwargs, compiled)
                _same(got, want, dtype, f"{spec.name} {compiled} {np.dtype(dtype)} {size} "
                                        f"seed {seed}")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_call_of_the_table_has_an_effect(spec):
    """A parity test is only as strong as what the call leaves behind: each
    call returns a result or writes at least one of its arrays."""
    args, kwargs = spec.args("tiny", spec.dtypes[0])
    before = [a.copy() for a in args if isinstance(a, np.ndarray)]
    result, after = spec.outcome(args, kwargs, "numpy")
    changed = [not np.array_equal(a, b, equal_nan=True) for a, b in zip(after, before)]
    assert result is not None or any(changed), spec.name


@pytest.mark.parametrize("compiled", COMPILED)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_repeated_calls_match_the_reference(spec, compiled):
    """Calls repeated on the same arguments, as the benchmarks repeat them
    (``KernelSpec.again``: state carried over, the env kernels' banks
    refilled between calls as their callers do): every call's result and
    the arguments after the last one equal the reference's."""
    dtype = spec.dtypes[0]
    args, kwargs = spec.args("small", dtype)
    mine = copy.deepcopy((args, kwargs))
    for k in range(6):
        want = spec.again(args, kwargs, "numpy")
        got = spec.again(*mine, compiled)
        if spec.family != "replay":  # a replay kernel's status: its outputs are compared
            _same(got, want, dtype, f"{spec.name} {compiled} call {k}")
        if spec.between is not None:  # refilled: never the used-up-bank status
            assert want != (-1 if spec.name == "cartpole_rollout" else -3), k
    for i, (g, w) in enumerate(zip(mine[0], args)):
        if isinstance(w, np.ndarray):
            _same(g, w, dtype, f"{spec.name} {compiled} argument {i}")
