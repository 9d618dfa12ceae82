"""Compiled Cython kernels (built from src_cython/ and fastpg/_kernels/ by
setup.py) and their .pxd files.

Instruction sets: the kernel modules are built for their architecture's
baseline (x86-64: SSE2) and, on x86-64, again for AVX2 in ``_avx2/`` and
for AVX-512 (F, VL, BW, DQ: x86-64-v4) in ``_avx512/``.
Importing this package picks the best level that the CPU supports and that
was built (``ISA``) and puts its directory first on the package's
``__path__``, so ``fastpg._cy.returns`` and the cimports between the modules
all resolve to one build. ``FASTPG_ISA`` (``auto``, ``baseline``, ``avx2``,
``avx512``), read once at import, forces a level; a value that cannot be honoured (not a
level, not supported by this CPU, not built) fails the import, so the Cython
backend is unavailable with that reason (``fastpg info`` shows it) rather
than silently slower or killed by an illegal instruction. Every level
computes the same bits (no FMA contraction, no reassociation: only wider
vectors).
"""
import os
from importlib.machinery import EXTENSION_SUFFIXES

from ._isa import cpu_level

#: the levels, in the order of ``_isa.cpu_level()``
LEVELS = ("baseline", "avx2", "avx512")


def _module_name(filename):
    """The module an extension file holds (its name less the longest suffix), or None."""
    for suffix in sorted(EXTENSION_SUFFIXES, key=len, reverse=True):
        if filename.endswith(suffix):
            return filename[:-len(suffix)]
    return None


def _built(level):
    """The kernel modules built for ``level`` (those with an extension file)."""
    if level == "baseline":
        return None
    d = os.path.join(os.path.dirname(__file__), "_" + level)
    names = os.listdir(d) if os.path.isdir(d) else []
    return sorted({m for m in map(_module_name, names) if m})


def _choose():
    want = os.environ.get("FASTPG_ISA", "").strip().lower() or "auto"
    if want != "auto" and want not in LEVELS:
        raise ImportError(f"FASTPG_ISA must be one of auto, {', '.join(LEVELS)}; got {want!r}")
    cpu = LEVELS[min(cpu_level(), len(LEVELS) - 1)]
    if want == "auto":
        for level in LEVELS[LEVELS.index(cpu)::-1]:
            if level == "baseline" or _built(level):
                return level, cpu
    if LEVELS.index(want) > LEVELS.index(cpu):
        raise ImportError(f"FASTPG_ISA={want}: this CPU supports only {cpu}")
    if want != "baseline" and not _built(want):
        raise ImportError(f"FASTPG_ISA={want}: this build of fastpg has no {want} kernels "
                         "(built on another architecture, or the compiler lacked the flags)")
    return want, cpu


#: the instruction set of the loaded kernels, and the best the CPU supports
ISA, CPU_ISA = _choose()
#: the modules built for ISA (the others are the baseline build)
ISA_MODULES = _built(ISA) or []
if ISA != "baseline":
    __path__.insert(0, os.path.join(os.path.dirname(__file__), "_" + ISA))
