"""Numba kernels, one module per family (same names as fastpg.reference).

Every kernel is an ``@numba.njit(nogil=True)`` dispatcher, so a user's own
jitted code can call it directly. Kernels that have a multi-threaded variant
expose it as ``<name>_parallel`` (``parallel=True``); the public API picks it
for large inputs only, because a parallel region costs microseconds.

Compiled code is cached on disk (``cache=True``). Numba writes the cache next
to the sources when it can and otherwise in its user-wide cache directory
(``NUMBA_CACHE_DIR``); if neither is writable the kernels are compiled
without a cache, so a read-only install still works.
"""
from __future__ import annotations

import numba


def _cacheable(func) -> bool:
    from numba.core.caching import FunctionCache

    try:
        FunctionCache(func)
    except RuntimeError:  # "no locator available": read-only everywhere
        return False
    return True


def jit(func=None, *, parallel=False, inline="never"):
    """``njit(nogil=True, cache=True)``; the cache only where it can be written."""

    def wrap(f):
        opts = dict(nogil=True, cache=_cacheable(f), inline=inline)
        if parallel:
            opts["parallel"] = True
        return numba.njit(**opts)(f)

    return wrap if func is None else wrap(func)
