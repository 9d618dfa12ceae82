"""Python's stand-ins for the C names that the one-source kernels' .pxd
files cimport or define (``INF``, ``NAN``, ``int64_t``, ``exp``, ``expf``, ``fpg_exp``,
``log``, ``pow``, ``cos``, ``sin``, ``fpg_sincos``, ``row_index``). A kernel module imports
them only ``if not cython.compiled``, a branch Cython drops; numba compiles the math
functions as its own, except ``fpg_exp`` and ``fpg_sincos`` (src_cython/fmath.pxd) and
``row_index``, whose twins the numba modules put in the source's scope
(fastpg/_numba/_fmath.py, fastpg/_numba/_rows.py)."""
import math

import cython

INF = math.inf
NAN = math.nan
int64_t = cython.longlong
exp = expf = fpg_exp = math.exp
log = math.log
pow = math.pow
cos = math.cos
sin = math.sin


def fpg_sincos(x):
    return math.sin(x), math.cos(x)


def row_index(t):
    return t
