"""Builds src_cython/*.pyx and the one-source kernels fastpg/_kernels/*.py
into fastpg/_cy/*.so and installs the .pxd files.

Cython >= 3, -O3, no -march=native (wheels must run on any x86-64/arm64).
OpenMP is used when the compiler supports it (FASTPG_OPENMP=0 disables it);
without it the *_parallel kernels run on one thread. FASTPG_DEBUG=1 builds
with bounds and wraparound checks on, for chasing memory errors.
"""
import os
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


class BuildPy(build_py):
    def run(self):
        _sync_pxd()
        super().run()


setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        include_path=[str(HERE)],
        compiler_directives={"boundscheck": debug, "wraparound": debug},
        # a process pool: fork-safe only where setup.py is not re-imported by spawn
        nthreads=(os.cpu_count() or 1) if sys.platform.startswith("linux") else 0,
    ),
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
)
