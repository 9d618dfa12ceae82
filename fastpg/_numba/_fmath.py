"""fastpg's own exp for numba: the twin of src_cython/fmath.pxd (the algorithm
and its error there and in docs/design.md, "fastpg's exp"). The same
operations in the same order, without contraction, so numba and Cython agree
bit for bit; inline and branch-free, so LLVM vectorises a loop of them where
it keeps a loop of libm ``exp`` calls scalar."""
from __future__ import annotations

import math
import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import jit


@intrinsic
def _as_int(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _as_float(typingctx, i):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@jit(inline="always", cache=False)
def _pow2(n):
    # 2^n for an integer-valued n in [-1022, 1023] (fmath.pxd's _pow2)
    two52 = 4503599627370496.0
    return _as_float((_as_int(n + 1023.0 + two52) - _as_int(two52)) << 52)


@jit(inline="always", cache=False)
def exp(x):
    """exp(x) of a float64 within 1 ulp; the same bits as fmath.pxd's fpg_exp."""
    shift = 6755399441055744.0
    xc = -746.0 if x < -746.0 else (710.0 if x > 710.0 else x)
    n = (xc * 1.4426950408889634 + shift) - shift
    r = xc - n * 6.93147180369123816490e-01
    r = r - n * 1.90821492927058770002e-10
    p = 1.6059043836821613e-10
    p = p * r + 2.08767569878680989792e-09
    p = p * r + 2.50521083854417187751e-08
    p = p * r + 2.75573192239858906526e-07
    p = p * r + 2.75573192239858906526e-06
    p = p * r + 2.48015873015873015873e-05
    p = p * r + 1.98412698412698412698e-04
    p = p * r + 1.38888888888888888889e-03
    p = p * r + 8.33333333333333333333e-03
    p = p * r + 4.16666666666666666667e-02
    p = p * r + 1.66666666666666666667e-01
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    h = (n * 0.5 + shift) - shift
    return p * _pow2(h) * _pow2(n - h)


@intrinsic
def _libm_sincos(typingctx, x):
    """(sin x, cos x) from one call of the C library's sincos."""
    sig = types.UniTuple(types.float64, 2)(types.float64)

    def codegen(context, builder, signature, args):
        dbl = ir.DoubleType()
        fnty = ir.FunctionType(ir.VoidType(), [dbl, dbl.as_pointer(), dbl.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "sincos")
        s = cgutils.alloca_once(builder, dbl)
        c = cgutils.alloca_once(builder, dbl)
        builder.call(fn, [args[0], s, c])
        return context.make_tuple(builder, signature.return_type,
                                  [builder.load(s), builder.load(c)])
    return sig, codegen


@jit(inline="always", cache=False)
def _sin_cos(x):
    return math.sin(x), math.cos(x)


#: fmath.pxd's fpg_sincos: (sin x, cos x). LLVM calls sin and cos separately
#: (7.3 ns each on the Zen 5 machine, 14.5 for the pair through sincos), so
#: on glibc, whose sincos gives the bits of its sin and cos, one sincos call;
#: elsewhere the two calls
sincos = _libm_sincos if sys.platform.startswith("linux") else _sin_cos
