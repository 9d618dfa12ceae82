"""fastpg: compiled reinforcement-learning kernels.

Every kernel has a plain NumPy reference (``fastpg.reference``), a Numba
kernel (``fastpg._numba``) and a Cython kernel (``fastpg._cy``) under one
validated API. Importing fastpg is cheap: numba is imported only when a numba
kernel is first used.
"""
from ._backend import (BackendUnavailable, available, available_backends, get_backend,
                       set_backend, use_backend)
from .returns import GAEResult, discounted_returns, gae, lambda_returns, nstep_returns

__version__ = "0.1.0"


def get_include() -> str:
    """Directory to put on Cython's include path to ``cimport`` fastpg kernels.

    ``cythonize(..., include_path=[fastpg.get_include()])`` makes
    ``from fastpg._cy.returns cimport gae_c`` resolve against the installed
    ``.pxd`` files (like ``numpy.get_include()`` for NumPy's headers).
    """
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

__all__ = [
    "__version__", "get_include", "get_backend", "set_backend", "use_backend", "available",
    "available_backends", "BackendUnavailable",
    "discounted_returns", "gae", "lambda_returns", "nstep_returns", "GAEResult",
]
