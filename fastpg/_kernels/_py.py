"""Python's stand-ins for the C names that the one-source kernels' .pxd
files cimport (``INF``, ``NAN``, ``int64_t``, ``exp``, ``expf``, ``log``,
``pow``, ``cos``, ``sin``). A kernel module imports them only ``if not cython.compiled``, a
branch Cython drops; numba compiles the math functions as its own."""
import math

import cython

INF = math.inf
NAN = math.nan
int64_t = cython.longlong
exp = expf = math.exp
log = math.log
pow = math.pow
cos = math.cos
sin = math.sin
