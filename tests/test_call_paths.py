"""The three ways other code calls a kernel: Python (incl. foreign arrays),
a user's own @numba.njit function, and Cython ``cimport``; plus numba from a
read-only install."""
import math
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastpg
from fastpg import _backend
from fastpg.reference import returns as ref
from fastpg.reference import policy as ref_policy
from fastpg.reference import tabular as ref_tabular

from .conftest import tol


def _tb_inputs(dtype, T=50, B=3, seed=0):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((T, B)).astype(dtype)
    v = rng.standard_normal((T, B)).astype(dtype)
    nv = rng.standard_normal((T, B)).astype(dtype)
    g = np.full((1, B), 0.97, dtype)
    lm = np.full((1, B), 0.9, dtype)
    te = (rng.random((T, B)) < 0.1).astype(np.uint8)
    tr = (rng.random((T, B)) < 0.05).astype(np.uint8)
    return r, v, nv, g, lm, te, tr


def _expected(args, dtype):
    r, v, nv, g, lm, te, tr = args
    a, b = np.empty_like(r), np.empty_like(r)
    return ref.gae(r, v, nv, g, lm, te, tr, a, b)


@pytest.mark.backend_fixed
@pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")
def test_user_njit_function_calls_numba_kernel(dtype):
    import numba

    from fastpg._numba import returns as nbr

    @numba.njit
    def advantage_sum(r, v, nv, g, lm, te, tr):
        adv = np.empty_like(r)
        ret = np.empty_like(r)
        nbr.gae(r, v, nv, g, lm, te, tr, adv, ret)
        return adv, ret

    args = _tb_inputs(dtype)
    adv, ret = advantage_sum(*args)
    ea, er = _expected(args, dtype)
    assert adv.dtype == dtype
    np.testing.assert_allclose(adv, ea, **tol(dtype))
    np.testing.assert_allclose(ret, er, **tol(dtype))


@pytest.mark.backend_fixed
@pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")
def test_user_njit_calls_the_one_source_kernels(dtype):
    """The kernels numba compiles from fastpg/_kernels (V-trace, the tabular
    updates) are dispatchers a user's own @njit code can call too."""
    import numba

    from fastpg._numba import offpolicy as nbo
    from fastpg._numba import tabular as nbt
    from fastpg.reference import offpolicy as ref_off

    @numba.njit
    def learn(r, v, nv, lr, g, lm, te, tr, Q, s, a, s2, td):
        vs = np.empty_like(r)
        pg = np.empty_like(r)
        nbo.vtrace(r, v, nv, lr, g, lm, 1.0, 1.0, 1.0, te, tr, vs, pg)
        nbt.q_learning(Q, s, a, r[:, 0].copy(), s2, te[:, 0].copy(), g[0, :1].copy(),
                       g[0, :1].copy(), td)
        return vs, pg

    r, v, nv, g, lm, te, tr = _tb_inputs(dtype)
    rng = np.random.default_rng(3)
    lr = (rng.standard_normal(r.shape) * 0.5).astype(dtype)
    T = r.shape[0]
    Q = rng.standard_normal((5, 3)).astype(dtype)
    s, a, s2 = rng.integers(0, 5, T), rng.integers(0, 3, T), rng.integers(0, 5, T)
    Q_ref, td, td_ref = Q.copy(), np.empty(T, dtype), np.empty(T, dtype)
    vs, pg = learn(r, v, nv, lr, g, lm, te, tr, Q, s, a, s2, td)
    want = ref_off.vtrace(r, v, nv, lr, g, lm, 1.0, 1.0, 1.0, te, tr, np.empty_like(r),
                          np.empty_like(r))
    np.testing.assert_allclose(vs, want[0], **tol(dtype))
    np.testing.assert_allclose(pg, want[1], **tol(dtype))
    ref_tabular.q_learning(Q_ref, s, a, r[:, 0].copy(), s2, te[:, 0].copy(), g[0, :1].copy(),
                           g[0, :1].copy(), td_ref)
    np.testing.assert_allclose(Q, Q_ref, **tol(dtype))


def test_foreign_array_without_copy():
    """Anything NumPy can view (here a memoryview over a bytearray, as a
    PyTorch CPU tensor would be) works as input and as out=."""
    buf = bytearray(np.arange(6, dtype=np.float64).tobytes())
    rewards = memoryview(buf).cast("d")
    out_buf = bytearray(6 * 8)
    out = np.frombuffer(out_buf, dtype=np.float64)
    res = fastpg.discounted_returns(rewards, 0.5, out=out)
    assert res is out
    # hand-computed, G_t = t + G_{t+1} / 2: the result is in the caller's buffer
    np.testing.assert_allclose(np.frombuffer(out_buf), [1.78125, 3.5625, 5.125, 6.25, 6.5, 5.0])


PYX = """
# cython: language_level=3, boundscheck=False, wraparound=False
from fastpg._cy.returns cimport gae_c

def run_gae(const {t}[:, ::1] r, const {t}[:, ::1] v, const {t}[:, ::1] nv,
            const {t}[:, ::1] g, const {t}[:, ::1] lm, const unsigned char[:, ::1] te,
            const unsigned char[:, ::1] tr, {t}[:, ::1] adv, {t}[:, ::1] ret):
    cdef int rc
    with nogil:
        rc = gae_c(r, v, nv, g, lm, te, tr, adv, ret, False)
    return rc


# the tabular declarations augment a pure-Python source (fastpg/_kernels)
from libc.stdint cimport int64_t
from fastpg._cy.tabular cimport q_learning_c

def run_q({t}[:, ::1] Q, const int64_t[::1] s, const int64_t[::1] a, const {t}[::1] r,
          const int64_t[::1] s2, const unsigned char[::1] te, const {t}[::1] g,
          const {t}[::1] al, {t}[::1] td):
    with nogil:
        q_learning_c(Q, s, a, r, s2, te, g, al, td)


# re-exported by fastpg._cy.policy from fastpg._cy.policy_linear; the caller
# passes the scratch, over two row chunks (OpenMP threads)
from fastpg._cy.policy cimport linear_policy_grad_c

def run_lpg(const {t}[:, ::1] X, const int64_t[::1] a, const {t}[::1] w,
            const {t}[:, ::1] W, {t}[:, ::1] out, double[:, :, ::1] acc, double[:, ::1] z,
            int64_t[::1] bads):
    cdef Py_ssize_t rc
    with nogil:
        rc = linear_policy_grad_c(X, a, w, W, out, acc, z, bads)
    return rc


# fastpg's exp: inline, nothing to link
from fastpg._cy.fmath cimport fpg_exp

def run_exp(const double[::1] x, double[::1] out):
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        out[i] = fpg_exp(x[i])
"""

SETUP = """
import fastpg
from Cython.Build import cythonize
from setuptools import setup
setup(ext_modules=cythonize("user_{t}.pyx", include_path=[fastpg.get_include()]),
      script_args=["build_ext", "--inplace", "-q"])
"""


@pytest.mark.backend_fixed
@pytest.mark.skipif(not _backend.available("cython"), reason="cython backend unavailable")
@pytest.mark.parametrize("ctype", ["float", "double"])
def test_cimport_from_user_cython(tmp_path, ctype):
    pytest.importorskip("Cython")
    dtype = np.float32 if ctype == "float" else np.float64
    pyx = PYX.replace("{t}", ctype)
    (tmp_path / f"user_{ctype}.pyx").write_text(pyx)
    (tmp_path / "setup.py").write_text(SETUP.replace("{t}", ctype))
    res = subprocess.run([sys.executable, "setup.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        mod = __import__(f"user_{ctype}")
    finally:
        sys.path.remove(str(tmp_path))
    args = _tb_inputs(dtype)
    adv, ret = np.empty_like(args[0]), np.empty_like(args[0])
    assert mod.run_gae(*args, adv, ret) == 0
    ea, er = _expected(args, dtype)
    np.testing.assert_allclose(adv, ea, **tol(dtype))
    np.testing.assert_allclose(ret, er, **tol(dtype))
    rng = np.random.default_rng(7)
    Q = rng.standard_normal((6, 3)).astype(dtype)
    idx = [rng.integers(0, k, 40) for k in (6, 3, 6)]
    r = rng.standard_normal(40).astype(dtype)
    te = (rng.random(40) < 0.2).astype(np.uint8)
    g, al = np.array([0.9], dtype), np.array([0.5], dtype)
    Q_ref, td, td_ref = Q.copy(), np.empty(40, dtype), np.empty(40, dtype)
    mod.run_q(Q, idx[0], idx[1], r, idx[2], te, g, al, td)
    ref_tabular.q_learning(Q_ref, idx[0], idx[1], r, idx[2], te, g, al, td_ref)
    np.testing.assert_array_equal(Q, Q_ref)
    np.testing.assert_array_equal(td, td_ref)
    X, W = rng.standard_normal((50, 4)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    a, w = rng.integers(0, 3, 50), rng.standard_normal(50).astype(dtype)
    out, out_ref = np.empty((4, 3), dtype), np.empty((4, 3), dtype)
    assert mod.run_lpg(X, a, w, W, out, np.empty((2, 4, 3)), np.empty((2, 3)),
                       np.empty(2, np.int64)) == -1
    ref_policy.linear_policy_grad(X, a, w, W, out_ref)
    np.testing.assert_allclose(out, out_ref, **tol(dtype))
    # two actions: blocks through a (C, 3m) scratch row, or one row at a time
    # through a (C, 2) one; the same bits either way
    X, W2, a2 = rng.standard_normal((300, 4)).astype(dtype), W[:, :2].copy(), a.repeat(6) % 2
    out2 = {}
    for zw in (2, 3, 3 * 128):
        out2[zw] = np.empty((4, 2), dtype)
        assert mod.run_lpg(X, a2, w.repeat(6), W2, out2[zw], np.empty((2, 4, 2)),
                           np.empty((2, zw)), np.empty(2, np.int64)) == -1
    ref_policy.linear_policy_grad(X, a2, w.repeat(6), W2, out_ref[:, :2])
    np.testing.assert_allclose(out2[2], out_ref[:, :2], **tol(dtype))
    assert out2[2].tobytes() == out2[3].tobytes() == out2[384].tobytes()
    x = np.concatenate([rng.uniform(-750, 720, 2000), rng.normal(0, 3, 2000),
                        [np.inf, -np.inf, np.nan, 0.0]])
    e = np.empty_like(x)
    mod.run_exp(x, e)
    if _backend.available("numba"):  # numba's twin: the same bits (tests/test_fmath.py)
        from fastpg._numba import _fmath
        o = np.empty_like(x)
        for i in range(x.shape[0]):
            o[i] = _fmath.exp(x[i])
        assert e.tobytes() == o.tobytes()
    want = np.array([math.exp(v) if v < 709.7 else np.inf for v in x.tolist()])  # x < 720
    fin = np.isfinite(want)
    assert (np.abs(e[fin] - want[fin]) <= np.spacing(want[fin])).all()
    assert e[-4] == np.inf and e[-3] == 0.0 and np.isnan(e[-2]) and e[-1] == 1.0


@pytest.mark.backend_fixed
@pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")
def test_numba_from_read_only_install(tmp_path):
    """No writable cache location anywhere: the numba kernels still compile
    (uncached) and give the right answer. (We may run as root, where file
    modes do not stop writes, so the cache paths are blocked by plain files.)"""
    site = tmp_path / "site"
    shutil.copytree(os.path.dirname(fastpg.__file__), site / "fastpg",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "fastpg" / "_numba" / "__pycache__").write_text("not a directory")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    # in-tree __pycache__, NUMBA_CACHE_DIR and the user-wide ~/.cache all blocked
    env = dict(os.environ, PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(blocker / "cache"),
               HOME=str(blocker), XDG_CACHE_HOME=str(blocker / "xdg"),
               PYTHONDONTWRITEBYTECODE="1")
    code = textwrap.dedent("""
        import numpy as np, fastpg
        assert fastpg.__file__.startswith(%r), fastpg.__file__
        from fastpg._numba import returns as nbr
        assert nbr.gae._cache.__class__.__name__ == "NullCache", nbr.gae._cache
        out = fastpg.discounted_returns(np.array([10.0, 0.0, -50.0]), 0.8, backend="numba")
        print(out.tolist())
    """ % str(site))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "[-22.0, -40.0, -50.0]"


@pytest.mark.backend_fixed
@pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")
@pytest.mark.parametrize("where", ["user-cache", "NUMBA_CACHE_DIR"])
def test_numba_cache_never_inside_the_package(tmp_path, where):
    """Cache files in the package outlive `pip uninstall` and make the leftover
    folder a namespace package that shadows the next install: the cache goes
    to NUMBA_CACHE_DIR when set, else to the user's cache directory."""
    site = tmp_path / "site"
    shutil.copytree(os.path.dirname(fastpg.__file__), site / "fastpg",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(site), XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONDONTWRITEBYTECODE="1")
    expected_root = tmp_path / "xdg" / "fastpg" / "numba"
    if where == "NUMBA_CACHE_DIR":
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
        expected_root = tmp_path / "numba-cache"
    code = textwrap.dedent("""
        import numpy as np, fastpg
        from fastpg import _numba
        from fastpg._numba import replay
        out = np.empty(3, np.int64)
        replay.uniform_sample(np.array([0.0, 0.5, 0.99]), 10, out)
        print(out.tolist())
        print(_numba.cache_dir())
    """)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.strip().splitlines()
    assert lines[-2] == "[0, 5, 9]"
    assert lines[-1].startswith(str(expected_root)), lines[-1]
    assert list(expected_root.rglob("replay.uniform_sample-*.nbi"))
    in_package = [p for p in (site / "fastpg").rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert not in_package, in_package


def test_every_public_kernel_is_in_the_call_table():
    from .kernel_calls import CALLS
    public = set(_backend.REGISTRY["returns"] + _backend.REGISTRY["offpolicy"]
                 + _backend.REGISTRY["policy"]
                 + _backend.REGISTRY["tabular"])
    assert {c[0] for c in CALLS} == public


@pytest.mark.backend_fixed
@pytest.mark.skipif(not _backend.available("numba"), reason="numba unavailable")
def test_read_only_inputs_compile_nothing_twice():
    """np.asarray of a JAX array is read-only, as are broadcast views; numba
    types read-only arrays separately, so each kernel would compile again
    (seconds) for them. They reach the kernels as writeable views instead."""
    import numba

    from fastpg import _numba
    from fastpg._numba import policy, replay, returns, tabular

    from .kernel_calls import CALLS, IN_PLACE

    for name, arrays, kw in CALLS:
        ro = []
        for i, a in enumerate(arrays):
            a = a.copy()
            a.flags.writeable = i < IN_PLACE.get(name, 0)
            ro.append(a)
        want = getattr(fastpg, name)(*[a.copy() for a in arrays], backend="numpy", **kw)
        got = getattr(fastpg, name)(*ro, backend="numba", **kw)
        if name not in ("sample_categorical", "epsilon_greedy", "q_learning_rollout"):
            for g, w in zip(np.atleast_1d(got) if not isinstance(got, tuple) else got,
                            np.atleast_1d(want) if not isinstance(want, tuple) else want):
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)
        assert all(not a.flags.writeable for a in ro[IN_PLACE.get(name, 0):])
    read_only = [f"{mod.__name__}.{k}" for mod in (returns, policy, tabular, replay, _numba)
                 for k, d in vars(mod).items() if isinstance(d, numba.core.dispatcher.Dispatcher)
                 for sig in d.signatures
                 if any(isinstance(t, numba.types.Array) and not t.mutable for t in sig)]
    assert not read_only, read_only


@pytest.mark.backend_fixed
def test_sdist_ships_the_cython_sources(tmp_path):
    """setup.py builds every src_cython/*.pyx: a source distribution without
    them (or without their .pxd, .pxi and Tempita templates) would install
    with no Cython backend at all. The manifest (SOURCES.txt) lists them."""
    root = os.path.join(os.path.dirname(__file__), os.pardir)
    if not os.path.exists(os.path.join(root, "setup.py")):
        pytest.skip("not a source tree")
    res = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base",
                          str(tmp_path)], cwd=root, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    listed = set((tmp_path / "fastpg.egg-info" / "SOURCES.txt").read_text().split())
    src = os.path.join(root, "src_cython")
    needed = {f"src_cython/{n}" for n in os.listdir(src)
              if n.endswith((".pyx", ".pxd", ".tp"))
              or (n.endswith(".pxi") and not os.path.exists(os.path.join(src, n + ".tp"))
                  and n != "_tuning.pxi")}
    assert {"src_cython/returns.pyx", "src_cython/_returns_api.pxi.tp",
            "src_cython/_scan.pxi", "src_cython/_ndarg.pxi"} <= needed
    # the one-source kernels (Cython compiles them too)
    needed |= {f"fastpg/_kernels/{n}" for n in os.listdir(os.path.join(root, "fastpg", "_kernels"))
               if n.endswith(".py")}
    assert "fastpg/_kernels/tabular.py" in needed
    assert needed <= listed, sorted(needed - listed)
    # generated files are rebuilt from those
    assert not {n for n in listed if n.endswith(".c") or n.endswith("_api.pxi")}, listed


def test_every_package_is_installed():
    """pyproject.toml lists the packages explicitly: a new subpackage missing
    from the list would work in the editable checkout and vanish from a wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = os.path.join(os.path.dirname(__file__), os.pardir)
    with open(os.path.join(root, "pyproject.toml"), "rb") as fh:
        listed = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    found = {os.path.relpath(d, root).replace(os.sep, ".")
             for d, _, files in os.walk(os.path.join(root, "fastpg"))
             if "__init__.py" in files}
    assert found == listed
