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

__all__ = [
    "__version__", "get_backend", "set_backend", "use_backend", "available",
    "available_backends", "BackendUnavailable",
    "discounted_returns", "gae", "lambda_returns", "nstep_returns", "GAEResult",
]
