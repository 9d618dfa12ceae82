import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys

import numpy as np
import pytest

import fastpg
from fastpg import _backend
from fastpg._tuning import ROW_MIN_B


@pytest.mark.parametrize("family", list(_backend.REGISTRY))
@pytest.mark.parametrize("name_backend", ["numpy", "numba", "cython"])
def test_every_registered_kernel_exists_in_every_backend(family, name_backend):
    why = _backend.why_unavailable(name_backend)
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"backend {name_backend} unavailable in CI: {why}")
        pytest.skip(why)
    mod = _backend._load(name_backend, family)
    missing = [k for k in _backend.REGISTRY[family] if not callable(getattr(mod, k, None))]
    assert not missing, f"{name_backend}.{family} lacks {missing}"


def test_every_registered_kernel_is_public():
    for family, names in _backend.REGISTRY.items():
        # the environment kernels' public classes are in fastpg.envs
        mod = importlib.import_module("fastpg.envs" if family == "tabular_envs"
                                      else f"fastpg.{family}")
        if family in ("replay", "envs", "tabular_envs"):
            # used through the public classes (fastpg.SumTree and the buffers,
            # the environments), which look their kernels up by name
            source = "".join(inspect.getsource(importlib.import_module(f"{mod.__name__}.{m.name}"))
                             for m in pkgutil.iter_modules(mod.__path__))
            calls = re.findall(r'_k\("(\w+)"|kernel\([^)]*?"%s", "(\w+)"' % family, source)
            used = {n for pair in calls for n in pair if n}
            if family in ("envs", "tabular_envs"):  # the vector envs name their kernel
                from fastpg.envs._vector import KernelVectorEnv
                used |= {c.KERNEL for c in vars(mod).values()
                         if isinstance(c, type) and issubclass(c, KernelVectorEnv)}
            assert set(names) <= used, f"{family} kernels no public class calls: " \
                                       f"{set(names) - used}"
            continue
        for name in names:
            assert callable(getattr(mod, name)) and hasattr(fastpg, name)


def test_set_and_use_backend_scoping():
    before = fastpg.get_backend()
    with fastpg.use_backend("numpy"):
        assert fastpg.get_backend() == "numpy"
    assert fastpg.get_backend() == before


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="backend must be one of"):
        fastpg.set_backend("fortran")
    with pytest.raises(ValueError, match="backend must be one of"):
        fastpg.discounted_returns([1.0], 0.9, backend="gpu")


def test_unavailable_backend_raises_with_reason(monkeypatch):
    monkeypatch.setitem(_backend._unavailable, "cython", "not built (test)")
    monkeypatch.setattr(_backend, "_modules", {})
    monkeypatch.setattr(_backend, "_dispatch", {})  # the memoised kernel choices
    with pytest.raises(fastpg.BackendUnavailable, match="not built"):
        fastpg.discounted_returns([1.0], 0.9, backend="cython")
    with pytest.raises(fastpg.BackendUnavailable):
        fastpg.set_backend("cython")
    # auto falls back silently only because nobody asked for cython by name
    assert _backend.resolve("gae", "auto") in ("numba", "numpy")
    # a plain bool, so `if fastpg.available(...)` means what it says
    assert fastpg.available("cython") is False
    assert fastpg.why_unavailable("cython") == "not built (test)"
    assert "cython" not in fastpg.available_backends()


def test_available_is_a_bool():
    assert fastpg.available("numpy") is True
    assert fastpg.why_unavailable("numpy") is None
    for b in _backend.BACKENDS:
        assert isinstance(fastpg.available(b), bool)
        assert fastpg.available(b) == (fastpg.why_unavailable(b) is None)
    with pytest.raises(ValueError, match="backend must be one of"):
        fastpg.available("gpu")


def test_env_var_selects_backend_and_bad_value_is_named():
    code = "import fastpg; print(fastpg.get_backend())"
    env = dict(os.environ, FASTPG_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "numpy"
    env["FASTPG_BACKEND"] = "bogus"
    out = subprocess.run([sys.executable, "-c", "import fastpg; fastpg.gae([1.],[0.],0.,0.9,0.9)"],
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "FASTPG_BACKEND" in out.stderr


def test_import_does_not_import_numba():
    code = "import sys, fastpg; fastpg.discounted_returns([1.0], 0.5, backend='numpy'); print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parity
def test_parallel_variant_used_for_big_inputs_matches(backend):
    if _backend.threads() == 1:
        pytest.skip("one thread: big inputs take the serial kernel, no parallel one to test")
    rng = np.random.default_rng(0)
    T = _backend.PARALLEL_MIN + 12345
    r = rng.standard_normal(T).astype(np.float32)
    term = rng.random(T) < 0.01
    fn = _backend.kernel("returns", "discounted_returns", backend, T)
    assert fn.__name__.endswith("_parallel"), fn.__name__
    got = fastpg.discounted_returns(r, 0.99, term, backend=backend)
    want = fastpg.discounted_returns(r[:, None], 0.99, term[:, None], backend="numpy")[:, 0]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-4)


@pytest.mark.parity
@pytest.mark.parametrize("T, B", [(3 * (1 << 14) + 7, 2), (300, 67)])
def test_parallel_scans_equal_the_serial_ones(backend, T, B):
    """Both paths of the scan kernels (blocks of a narrow batch, column slabs
    of a wide one): the threads split the same arithmetic, so the parallel
    variant gives the serial kernel's values bit for bit; so do the variants
    for wide arrays only (``*_rows``, numba), which compile just that path."""
    if backend == "numpy":
        pytest.skip("no parallel variant in the reference")
    mod = _backend._load(backend, "returns")
    rng = np.random.default_rng(T)
    f = np.float32
    r, v, nv = (rng.standard_normal((T, B)).astype(f) for _ in range(3))
    g = np.full((1, B), 0.999, f)
    lm = rng.uniform(0.5, 1.0, (T, B)).astype(f)
    term = (rng.random((T, B)) < 1e-3).astype(np.uint8)
    trunc = (rng.random((T, B)) < 1e-3).astype(np.uint8)
    calls = {
        "discounted_returns": lambda fn, o: fn(r, g, term, trunc, nv, o[0]),
        "gae": lambda fn, o: fn(r, v, nv, g, lm, term, trunc, o[0], o[1]),
        "lambda_returns": lambda fn, o: fn(r, nv, g, lm, term, trunc, o[0]),
    }
    for name, call in calls.items():
        want = np.full((2, T, B), np.nan, f)
        call(getattr(mod, name), want)
        assert np.isfinite(want[0]).all(), name
        variants = [name + "_parallel"]
        if B >= ROW_MIN_B and hasattr(mod, name + "_rows"):
            variants += [name + "_rows", name + "_rows_parallel"]
        for variant in variants:
            got = np.full((2, T, B), np.nan, f)
            call(getattr(mod, variant), got)
            np.testing.assert_array_equal(got, want, err_msg=variant)


@pytest.mark.parametrize("B, rows", [(ROW_MIN_B, True), (ROW_MIN_B - 1, False)])
def test_wide_scans_call_the_row_path_variant(B, rows, monkeypatch):
    """The public scans ask for the row-path-only numba kernel exactly when
    the arrays take that path, and get the same values as the reference."""
    if not _backend.available("numba"):
        pytest.skip("numba unavailable")
    asked = []
    kernel = _backend.kernel

    def spy(*args, **kwargs):
        fn = kernel(*args, **kwargs)
        asked.append(fn.__name__)
        return fn
    monkeypatch.setattr(_backend, "kernel", spy)
    rng = np.random.default_rng(B)
    r, v = rng.standard_normal((2, 50, B))
    got = [fastpg.discounted_returns(r, 0.9, backend="numba"),
           *fastpg.gae(r, v, v[-1], 0.9, 0.8, backend="numba"),
           fastpg.lambda_returns(r, v, 0.9, 0.8, backend="numba")]
    assert asked == [n + "_rows" * rows for n in ("discounted_returns", "gae", "lambda_returns")]
    want = [fastpg.discounted_returns(r, 0.9, backend="numpy"),
            *fastpg.gae(r, v, v[-1], 0.9, 0.8, backend="numpy"),
            fastpg.lambda_returns(r, v, 0.9, 0.8, backend="numpy")]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_tuning_constants_live_in_one_place():
    """Every backend reads fastpg/_tuning.py: the numba kernels import it, the
    Cython build writes it to src_cython/_tuning.pxi (checked where the
    sources are, i.e. in a checkout), the dispatch layer reads its thresholds."""
    from fastpg import _tuning
    assert _backend.PARALLEL_MIN is _tuning.PARALLEL_MIN
    if _backend.available("numba"):
        from fastpg._numba import _scan as nscan
        from fastpg._numba import policy as npol
        from fastpg._numba import returns as nret
        assert (nscan.BLOCK, nscan.ROW_MIN_B, nret.MAX_SLABS, npol.NCHUNK) == \
            (_tuning.BLOCK, _tuning.ROW_MIN_B, _tuning.MAX_SLABS, _tuning.NCHUNK)
    pxi = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "src_cython", "_tuning.pxi")
    if not os.path.exists(pxi):
        pytest.skip("no src_cython/ next to the tests (an installed package)")
    with open(pxi) as f:
        assert f.read() == _tuning.pxi_text()


def test_numba_cache_is_invalidated_by_a_dependency_change():
    """A cached kernel holds the tuning constants and the one-source kernels
    its wrapper calls; numba checks only the wrapper's file, so a change in
    any of those files must change the cache's source stamp."""
    pytest.importorskip("numba")
    from fastpg._numba import _DEPENDENCIES, offpolicy
    cache = offpolicy.vtrace._cache
    if not hasattr(cache, "_impl"):
        pytest.skip("no numba cache here (nothing writable)")
    names = {os.path.basename(p) for p in _DEPENDENCIES}
    assert {"_tuning.py", "offpolicy.py", "tabular.py"} <= names
    # every numba module too: they set the one-source kernels' options, and a
    # kernel's cache is filed under its source in fastpg/_kernels/
    here = os.path.dirname(offpolicy.__file__)
    assert {os.path.join(here, f) for f in os.listdir(here) if f.endswith(".py")} \
        <= set(_DEPENDENCIES)
    locator = cache._impl.locator
    for path in _DEPENDENCIES:
        st = os.stat(path)
        before = locator.get_source_stamp()
        try:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
            assert locator.get_source_stamp() != before, path
        finally:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert locator.get_source_stamp() == before


def test_memoised_per_step_kernels_follow_the_backend_in_force():
    """The replay buffer's per-batch path keeps its kernel while the backend in
    force is unchanged and takes the new one after set_backend / use_backend."""
    buf = fastpg.ReplayBuffer(32, (2,))
    o = np.zeros((8, 2), np.float32)
    buf.extend(o, np.zeros(8, int), np.ones(8), o, np.zeros(8, bool))
    rng = np.random.default_rng(0)
    before = fastpg.get_backend()

    def used():
        buf._sample_fields(4, rng, ())
        return buf._kept[("uniform_gather", buf.backend)][1]

    def kern(b):
        return _backend.kernel("replay", "uniform_gather", b)

    try:
        fastpg.set_backend("numpy")
        assert used() is kern("numpy") and used() is kern("numpy")
        other = next((b for b in ("numba", "cython") if fastpg.available(b)), None)
        if other is not None:
            with fastpg.use_backend(other):
                assert _backend._stamp is None
                assert used() is kern(other)
            assert used() is kern("numpy")
            fastpg.set_backend(other)
            assert used() is kern(other)
            buf.backend = "numpy"
            assert used() is kern("numpy")
    finally:
        fastpg.set_backend(before)


def test_auto_chooses_by_width_where_the_table_says_so(monkeypatch):
    """auto's order for linear_policy_grad changes at d * A = AUTO_WIDE's
    width; a backend asked for by name is never overridden; the memo keeps
    the two choices apart."""
    monkeypatch.setattr(_backend, "_dispatch", {})
    at, prefs = _backend.AUTO_WIDE["linear_policy_grad"]
    narrow = _backend.resolve("linear_policy_grad", "auto", at - 1)
    wide = _backend.resolve("linear_policy_grad", "auto", at)
    first = lambda order: next(b for b in order if b == "numpy" or _backend.available(b))  # noqa: E731
    assert narrow == first(_backend.AUTO_PREFERENCE["linear_policy_grad"])
    assert wide == first(prefs)
    assert _backend.resolve("linear_policy_grad", "cython", at) == "cython"
    assert _backend.resolve("softmax", "auto", 10**6) == first(_backend.AUTO_PREFERENCE["softmax"])
    k_narrow = _backend.kernel("policy", "linear_policy_grad", "auto", 0, at - 1)
    k_wide = _backend.kernel("policy", "linear_policy_grad", "auto", 0, at)
    assert (k_narrow is k_wide) == (narrow == wide)
    # and the public function passes its d * A: same result either way
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((50, 32)), rng.standard_normal((32, 18)) * 0.1
    a, w = rng.integers(0, 18, 50), rng.standard_normal(50)
    np.testing.assert_allclose(fastpg.linear_policy_grad(X, a, w, W),
                               fastpg.linear_policy_grad(X, a, w, W, backend="numpy"),
                               rtol=1e-9, atol=1e-12)


def _widths_asked(monkeypatch, name):
    """The ``width`` of each _backend.kernel request for kernel ``name`` from
    now on, in order (the requests still go through)."""
    seen = []
    real = _backend.kernel

    def spy(family, kname, backend=None, size=0, width=0, rows=False):
        if kname == name:
            seen.append(width)
        return real(family, kname, backend, size, width, rows)

    monkeypatch.setattr(_backend, "kernel", spy)
    return seen


def test_auto_chooses_value_iteration_by_its_dense_sum(monkeypatch):
    """value_iteration passes S for a dense P and 0 for a sparse one, so
    auto takes AUTO_WIDE's order for dense sums of at least its width."""
    at, prefs = _backend.AUTO_WIDE["value_iteration"]
    seen = _widths_asked(monkeypatch, "value_iteration")
    rng = np.random.default_rng(2)
    for S in (at, at - 1):
        P = rng.random((S, 2, S))
        P /= P.sum(axis=2, keepdims=True)
        fastpg.value_iteration(P, rng.standard_normal((S, 2)), 0.9)
    probs = rng.random((at, 2, 3))
    probs /= probs.sum(axis=2, keepdims=True)
    fastpg.value_iteration((rng.integers(0, at, (at, 2, 3)), probs),
                           rng.standard_normal((at, 2)), 0.9)
    assert seen == [at, at - 1, 0]

    def first(order):
        return next(b for b in order if b == "numpy" or _backend.available(b))
    assert _backend.resolve("value_iteration", "auto", at) == first(prefs)
    assert _backend.resolve("value_iteration", "auto", 0) == first(
        _backend.AUTO_PREFERENCE["value_iteration"])


@pytest.mark.parametrize("name", ["discounted_returns", "lambda_returns", "gae"])
def test_auto_chooses_the_return_scans_by_size(monkeypatch, name):
    """The public scans pass T * B on the row path and 0 on the blocked one
    (GAE: for float64 arrays; float32 passes 0), so auto takes AUTO_WIDE's
    order exactly for wide arrays of that size."""
    at, prefs = _backend.AUTO_WIDE[name]
    seen = _widths_asked(monkeypatch, name)

    def scan(r, nv, backend):
        if name == "discounted_returns":
            return fastpg.discounted_returns(r, 0.9, backend=backend)
        if name == "gae":
            return fastpg.gae(r, nv, nv, 0.9, 0.8, backend=backend).advantages
        return fastpg.lambda_returns(r, nv, 0.9, 0.8, backend=backend)

    rng = np.random.default_rng(1)
    for shape in [(at // 8, 8), (at // 8 - 1, 8), (at, 1), (at // 64, 64)]:
        r = rng.standard_normal(shape)
        nv = rng.standard_normal(shape)
        got, want = (scan(r, nv, b) for b in ("auto", "numpy"))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert seen[0::2] == [at, at - 8, 0, at]  # every other call: the numpy one
    if name == "gae":
        r = rng.standard_normal((at // 8, 8)).astype(np.float32)
        scan(r, r, "auto")
        assert seen[-1] == 0

    def first(order):
        return next(b for b in order if b == "numpy" or _backend.available(b))
    assert _backend.resolve(name, "auto", at) == first(prefs)
    assert _backend.resolve(name, "auto", at - 1) == first(_backend.AUTO_PREFERENCE[name])


@pytest.mark.parametrize("name", ["vtrace", "retrace"])
def test_auto_chooses_the_offpolicy_scans_by_batch_width(monkeypatch, name):
    """vtrace and retrace pass their batch width B (whatever the time axis
    and batch shape), so auto takes AUTO_WIDE's order from B = its width on
    and AUTO_PREFERENCE's below; results match the reference either way."""
    at, prefs = _backend.AUTO_WIDE[name]
    seen = _widths_asked(monkeypatch, name)

    rng = np.random.default_rng(3)
    for shape, axis in [((40, at), 0), ((40, at - 1), 0), ((40,), 0), ((2, 40, at // 2), 1)]:
        r, v, nv = (rng.standard_normal(shape) for _ in range(3))
        lr = 0.3 * rng.standard_normal(shape)
        fn = getattr(fastpg, name)
        got, want = (fn(r, v, nv, lr, 0.9, 0.8, axis=axis, backend=b) for b in ("auto", "numpy"))
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-9, atol=1e-9)
    assert seen[0::2] == [at, at - 1, 1, at]  # every other call: the numpy one

    def first(order):
        return next(b for b in order if b == "numpy" or _backend.available(b))
    assert _backend.resolve(name, "auto", at) == first(prefs)
    assert _backend.resolve(name, "auto", at - 1) == first(_backend.AUTO_PREFERENCE[name])
