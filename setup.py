"""Builds src_cython/*.pyx and the one-source kernels fastpg/_kernels/*.py
into fastpg/_cy/*.so and installs the .pxd files.

Cython >= 3, -O3, no -march=native (wheels must run on any x86-64/arm64); on
x86-64 the kernel modules are built a second time for AVX2 into
fastpg/_cy/_avx2/, which fastpg._cy loads on CPUs that have it
(FASTPG_ISA_BUILD=0 skips that build).
OpenMP is used when the compiler supports it (FASTPG_OPENMP=0 disables it);
without it the *_parallel kernels run on one thread. FASTPG_DEBUG=1 builds
with bounds and wraparound checks on, for chasing memory errors.
"""
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SRC = HERE / "src_cython"
PKG = HERE / "fastpg" / "_cy"


def _openmp_flags():
    if os.environ.get("FASTPG_OPENMP", "1") == "0" or sys.platform == "darwin":
        return []
    cc = sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "omp.c")
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n")
        try:
            res = subprocess.run(cc.split() + ["-fopenmp", str(src), "-o", str(Path(tmp, "a.out"))],
                                 capture_output=True)
        except OSError:
            return []
    return ["-fopenmp"] if res.returncode == 0 else []


def _supported(flags):
    """The flags the C compiler accepts (each tried on a tiny file)."""
    cc = sysconfig.get_config_var("CC") or "cc"
    ok = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "f.c")
        src.write_text("int f(int x){return x + 1;}\n")
        for flag in flags:
            try:
                res = subprocess.run(cc.split() + ["-Werror", flag, "-c", str(src), "-o",
                                                   str(Path(tmp, "f.o"))], capture_output=True)
            except OSError:
                continue
            if res.returncode == 0:
                ok.append(flag)
    return ok


# Vectorisation helpers that change no result: FP operations never trap here
# (we do not enable FP exceptions), which lets gcc turn the kernels' selects
# into branch-free code; and more runtime alias checks, so loops reading
# several arrays and writing two or three still get a vectorised version.
VEC_FLAGS = _supported(["-fno-trapping-math", "--param=vect-max-version-for-alias-checks=64"])


def _sync_pxd():
    # The .pxd files are the cimport API; ship them inside the package.
    for pxd in SRC.glob("*.pxd"):
        dst = PKG / pxd.name
        if not dst.exists() or dst.read_bytes() != pxd.read_bytes():
            shutil.copyfile(pxd, dst)


def _write_tuning_pxi():
    # the Cython kernels' block sizes come from fastpg/_tuning.py, the numba
    # kernels' source of the same constants (run, not imported: no fastpg import)
    import runpy
    tuning = runpy.run_path(str(HERE / "fastpg" / "_tuning.py"))
    text = tuning["pxi_text"](tuning)
    pxi = SRC / "_tuning.pxi"
    if not pxi.exists() or pxi.read_text() != text:
        pxi.write_text(text)


def _render_templates():
    # src_cython/*.pxi.tp: Tempita templates of repeated Cython wrappers (one
    # body per kernel, serial and parallel), rendered next to them
    from Cython import Tempita
    for tp in SRC.glob("*.pxi.tp"):
        text = Tempita.sub(tp.read_text())
        out = tp.with_suffix("")
        if not out.exists() or out.read_text() != text:
            out.write_text(text)


_write_tuning_pxi()
_render_templates()
_sync_pxd()
debug = os.environ.get("FASTPG_DEBUG", "0") == "1"
omp = _openmp_flags()
extensions = [
    Extension(
        f"fastpg._cy.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        extra_compile_args=["-O3"] + VEC_FLAGS + omp + (["-O0", "-g"] if debug else []),
        extra_link_args=omp,
        include_dirs=[numpy.get_include()],  # the kernels read arrays through the NumPy C API
        depends=[str(h.relative_to(HERE)) for h in sorted(SRC.glob("*.h"))],  # C headers
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    # fastpg/_kernels/<family>.py, numba's source too, compiles as
    # fastpg._cy.<family>, typed by src_cython/<family>.pxd (docs/design.md)
    for pyx in sorted(SRC.glob("*.pyx")) + sorted((HERE / "fastpg" / "_kernels").glob("[!_]*.py"))
]


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:  # the modules compile independently (-O3: minutes in series)
            self.parallel = os.cpu_count() or 1

    def run(self):
        if self.inplace:  # the level directories (fastpg/_cy/_avx2/) hold only built files
            wanted = {HERE.joinpath(*ext.name.split(".")) for ext in self.extensions}
            for level in ISA_LEVELS:
                for old in PKG.joinpath("_" + level).glob("*.*"):  # no longer built: stale
                    if old.with_name(old.name.split(".")[0]) not in wanted:
                        old.unlink()
            for ext in self.extensions:
                HERE.joinpath(*ext.name.split(".")[:-1]).mkdir(parents=True, exist_ok=True)
        super().run()


class BuildPy(build_py):
    def run(self):
        _sync_pxd()
        super().run()


# Instruction-set levels above the baseline (fastpg/_cy/__init__.py picks one
# at import). -ffp-contract=off: no FMA where the baseline rounds twice, so
# every level computes the same bits and only its vectors are wider.
# The AVX-512 level is x86-64-v4's set (F, VL, BW, DQ), which fastpg._cy._isa
# checks as a whole. 256-bit vectors (GCC's default tuning, written out): on
# an AMD EPYC Zen 5 512-bit ones measured no faster and often slower; the
# level's gain is masked remainders and twice the registers (docs/design.md,
# "Instruction sets").
ISA_LEVELS = {
    "avx2": ["-mavx2", "-ffp-contract=off"],
    "avx512": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-ffp-contract=off",
               "-mprefer-vector-width=256"],
}
# The modules whose loops the wider levels speed up (docs/design.md,
# "Instruction sets": the (T, B) return scans 1.5-3x with AVX2, discounted
# and GAE another 1.1-1.9x with AVX-512); the tabular, replay and
# softmax-row kernels measured no faster, so they are built once.
ISA_KERNEL_MODULES = ("returns", "offpolicy", "policy_linear")


def _isa_variants(cythonized):
    """The kernel modules again for each level the compiler can target, each
    from a one-line C file that includes the module's generated C (its own
    object file; rebuilt when that C changes)."""
    if os.environ.get("FASTPG_ISA_BUILD", "1") == "0" or \
            platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    out = []
    for level, flags in ISA_LEVELS.items():
        if _supported(flags) != flags:
            continue
        for ext in cythonized:
            stem = ext.name.rsplit(".", 1)[1]
            if stem not in ISA_KERNEL_MODULES:
                continue
            c_src = (HERE / ext.sources[0]).resolve()
            wrapper = HERE / "build" / f"isa_{level}" / f"{stem}.c"
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            text = f'#include "{c_src}"\n'
            if not wrapper.exists() or wrapper.read_text() != text:
                wrapper.write_text(text)
            out.append(Extension(
                f"fastpg._cy._{level}.{stem}", [str(wrapper.relative_to(HERE))],
                depends=[str(c_src)] + ext.depends, extra_compile_args=ext.extra_compile_args + flags,
                extra_link_args=ext.extra_link_args, include_dirs=ext.include_dirs,
                define_macros=ext.define_macros))
    return out


cythonized = cythonize(
    extensions,
    language_level=3,
    include_path=[str(HERE)],
    compiler_directives={"boundscheck": debug, "wraparound": debug},
    # a process pool: fork-safe only where setup.py is not re-imported by spawn
    nthreads=(os.cpu_count() or 1) if sys.platform.startswith("linux") else 0,
)
setup(
    ext_modules=cythonized + _isa_variants(cythonized),
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
)
