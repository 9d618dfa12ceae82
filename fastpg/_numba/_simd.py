"""``dot8(x, y, n8)``: Σ_{j < 8·n8} x[j] y[j] in 8 interleaved partial sums.

Lane k sums x[j] y[j] over j ≡ k (mod 8), in order of j; the lanes are then
added pairwise, ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). That is
the order of the one-source loop it stands in for (``_dense_dot`` in
fastpg/_kernels/tabular.py), which gcc vectorises as written. numba runs
LLVM without its SLP vectoriser (``NUMBA_SLP_VECTORIZE`` is off by default
since numba issue #8705 and is process-wide), so the eight scalar sums stayed
eight scalar chains: dense value iteration S500 A6 ran 2x slower than
Cython's (139 against 70 ms). Written here as one ``<8 x double>`` multiply
and add per step, without fast-math flags (no reassociation, no FMA), it
gives the same bits as the scalar lanes.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_F64 = ir.DoubleType()
_V8 = ir.VectorType(_F64, 8)


def _check(x):
    return (isinstance(x, types.Array) and x.ndim == 1 and x.layout == "C"
            and x.dtype == types.float64)


@intrinsic
def dot8(typingctx, x, y, n8):
    """x, y: C-contiguous float64 1-D arrays with at least 8·n8 elements
    (not checked: the caller's loop bound); n8: an integer."""
    if not (_check(x) and _check(y) and isinstance(n8, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        xa = context.make_array(signature.args[0])(context, builder, args[0])
        ya = context.make_array(signature.args[1])(context, builder, args[1])
        xp = builder.bitcast(xa.data, _V8.as_pointer())
        yp = builder.bitcast(ya.data, _V8.as_pointer())
        n = context.cast(builder, args[2], signature.args[2], types.intp)
        acc = cgutils.alloca_once_value(builder, ir.Constant(_V8, None))
        with cgutils.for_range(builder, n) as loop:
            xv = builder.load(builder.gep(xp, [loop.index], inbounds=True), align=8)
            yv = builder.load(builder.gep(yp, [loop.index], inbounds=True), align=8)
            builder.store(builder.fadd(builder.load(acc), builder.fmul(xv, yv)), acc)
        v = builder.load(acc)
        s = [builder.extract_element(v, ir.Constant(ir.IntType(32), k)) for k in range(8)]
        return builder.fadd(builder.fadd(builder.fadd(s[0], s[1]), builder.fadd(s[2], s[3])),
                            builder.fadd(builder.fadd(s[4], s[5]), builder.fadd(s[6], s[7])))

    return types.float64(x, y, n8), codegen
