import importlib
import os

import numpy as np
import pytest
from hypothesis import settings

from fastpg import _backend

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

#: backends the tests exercise: every available one, unless FASTPG_BACKEND pins one
_pinned = os.environ.get("FASTPG_BACKEND", "").strip().lower()
if _pinned and _pinned != "auto":
    BACKENDS = [_pinned]
else:
    BACKENDS = [b for b in _backend.BACKENDS if _backend.available(b)]


#: the backends a parity test compares with the NumPy reference: a numpy-vs-numpy
#: case could not fail, so under FASTPG_BACKEND=numpy parity tests are skipped
COMPILED = [b for b in BACKENDS if b != "numpy"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "parity: compares each compiled backend with the NumPy reference "
        "(its backend parameter leaves out numpy)")
    config.addinivalue_line(
        "markers", "backend_fixed: calls one compiled backend directly (cimport, a user's "
        "@njit, a subprocess), never the default one, so FASTPG_BACKEND changes nothing")


def pytest_generate_tests(metafunc):
    # plain parametrisation (not fixtures), so hypothesis tests may use them
    if "backend" in metafunc.fixturenames:
        parity = metafunc.definition.get_closest_marker("parity") is not None
        metafunc.parametrize("backend", COMPILED if parity else BACKENDS)
    if "dtype" in metafunc.fixturenames:
        metafunc.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def pytest_collection_modifyitems(config, items):
    # FASTPG_DEFAULT_BACKEND_ONLY=1 (.ci/run's second pass, with FASTPG_BACKEND
    # pinned): a test that takes a backend parameter already ran with that
    # backend in the first pass, which covers every backend, and a backend_fixed
    # one runs the same whatever the default; what the pass adds is the tests
    # that call the default backend
    if os.environ.get("FASTPG_DEFAULT_BACKEND_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        fixed = "backend" in params or item.get_closest_marker("backend_fixed") is not None
        (drop if fixed else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if np.dtype(dtype) == np.float32 else dict(rtol=1e-12, atol=1e-12)


def need(module):
    """pytest.importorskip, except under FASTPG_REQUIRE_PEERS=1 (what CI sets
    after installing the extras): there a missing module fails the test, so
    CI cannot pass by skipping the integration tests."""
    if os.environ.get("FASTPG_REQUIRE_PEERS") == "1":
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            pytest.fail(f"{module} is required here (FASTPG_REQUIRE_PEERS=1): {exc}; "
                        "install the extras, e.g. pip install -e '.[test,sb3]'")
    return pytest.importorskip(module)


def pytest_collection_finish(session):
    """Start the selected examples in the background as soon as the tests are
    known (tests/test_examples.py waits for each one in its own test)."""
    paths = [item.callspec.params["path"] for item in session.items
             if getattr(item, "originalname", None) == "test_example_runs"]
    # under pytest-xdist every worker collects every test: each example then
    # starts in its own test, in the worker that runs it
    if paths and not os.environ.get("PYTEST_XDIST_WORKER"):
        from . import test_examples
        test_examples.start(paths)


def pytest_sessionfinish(session):
    import sys
    mod = sys.modules.get("tests.test_examples")
    if mod is not None:
        mod.stop()


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray for a module's tests (2 CPUs, no dashboard), shut down after."""
    ray = need("ray")
    from fastpg.distributed import init
    init()
    yield ray
    ray.shutdown()
