"""Numba kernels, one module per family (same names as fastpg.reference).

Every kernel is an ``@numba.njit(nogil=True)`` dispatcher, so a user's own
jitted code can call it directly. Kernels that have a multi-threaded variant
expose it as ``<name>_parallel`` (``parallel=True``); the public API picks it
for large inputs only, because a parallel region costs microseconds.

Compiled code is cached on disk, never inside the installed package (files
there outlive ``pip uninstall`` and turn the leftover folder into a namespace
package that shadows a later install): in ``NUMBA_CACHE_DIR`` when set, else
in the user's cache directory (``~/.cache/fastpg/numba`` on Linux). Where
neither is writable the kernels compile without a cache, so a read-only
install still works. :func:`cache_dir` tells where the cache goes.
"""
from __future__ import annotations

import os

import numba
from numba.core import caching, config, cpu
from numba.misc.appdirs import AppDirs


_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: files whose code or constants the cached kernels hold but numba's cache
#: does not check: the tuning constants, the one-source kernels that jitted
#: wrappers here call, and the modules here, which give the one-source
#: kernels their options and scope (a kernel's cache is filed under its
#: source, fastpg/_kernels/) and hold the private helpers (``_scan.py``):
#: numba checks only the function's own file
_DEPENDENCIES = [os.path.join(_PKG, "_tuning.py")] + sorted(
    os.path.join(_PKG, "_kernels", f) for f in os.listdir(os.path.join(_PKG, "_kernels"))
    if f.endswith(".py")) + sorted(
    os.path.join(_PKG, "_numba", f) for f in os.listdir(os.path.join(_PKG, "_numba"))
    if f.endswith(".py"))


def _cache_root() -> str:
    root = config.CACHE_DIR or os.path.join(  # NUMBA_CACHE_DIR
        AppDirs("fastpg", appauthor=False).user_cache_dir, "numba")
    # FASTPG_ISA narrows the vector chunks (fastpg._numba._chunks), a
    # compile-time constant numba's cache does not see: such kernels go apart
    level = os.environ.get("FASTPG_ISA", "").strip().lower()
    return root if level in ("", "auto") else os.path.join(root, "isa-" + level)


class _UserCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """numba's user-provided locator, with fastpg's default root."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(_cache_root(), self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        # a change in any of _DEPENDENCIES invalidates the cache too
        stamp = super().get_source_stamp()
        deps = []
        for path in _DEPENDENCIES:
            try:
                st = os.stat(path)
            except OSError:
                continue
            deps += [st.st_mtime, st.st_size]
        return (stamp, *deps)


class _CacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_UserCacheLocator]


class _FunctionCache(caching.FunctionCache):
    _impl_class = _CacheImpl


#: numba's target option that compiles a function without reference counting
#: (a listed CPU target option since numba 0.4x; checked, not assumed)
_NRT_OPTION = hasattr(getattr(cpu, "CPUTargetOptions", None), "_nrt")


def cache_dir() -> str | None:
    """Where the numba kernels are cached (None: not writable, no cache)."""
    from . import returns

    cache = returns.discounted_returns._cache
    return None if isinstance(cache, caching.NullCache) else cache._cache_path


def jit(func=None, *, parallel=False, inline="never", cache=True, error_model="python",
        refcount=True):
    """``njit(nogil=True)`` with fastpg's disk cache where it can be written.

    ``error_model="numpy"``: a float division by zero gives inf or NaN, as in
    the Cython build (``cdivision``), instead of a check per division that
    keeps LLVM from vectorising the loop; for helpers whose divisors cannot
    be zero.

    ``cache=False`` for a helper that two dispatchers compile from one body
    (serial and ``parallel=True``): numba's cache index does not tell them
    apart. Its callers' cached code holds it anyway.

    ``refcount=False`` for a kernel that allocates nothing (the one-source
    ``*_c`` bodies): compiled without numba's reference counting
    (``_nrt=False``), where each array handed to a helper, inlined or not,
    cost an atomic increment and decrement per call (a helper per row: ~16 ns
    a row). Helpers inlined into it are lowered under the same option.
    """

    def wrap(f):
        opts = dict(nogil=True, inline=inline, error_model=error_model)
        if parallel:
            opts["parallel"] = True
        if not refcount and _NRT_OPTION:
            opts["_nrt"] = False
        disp = numba.njit(**opts)(f)
        if not cache:
            return disp
        try:
            disp._cache = _FunctionCache(f)
        except RuntimeError:  # "no locator available": nowhere writable
            pass
        return disp

    return wrap if func is None else wrap(func)
