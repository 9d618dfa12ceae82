"""numba's twin of src_cython/fpg_scan_simd.h: one vector chunk of a flat
stream's return scan, written as LLVM IR (numba does not SLP-vectorise, so
the same algorithm as Python loops stays scalar). The method, the rounding
and why non-finite results go back to the scalar loop: that header's comment
and docs/design.md ("The flat-stream scans in vector chunks").

``chunk(m, r, v, nv, nvoff, ns, g, gs, lm, ls, te, tes, tr, trs, t0, carry,
out, out2)`` scans rows t0 .. t0 + W - 1 (W = ``width(r)``) of (T, 1) arrays
from the carry y_{t0+W}, writes out (and out2 = y + v for GAE, m == 1) and
returns (y_t0, product of c, whether every result is finite). A stride of 0
reads row 0 for every row (flags: absent); nv's rows start nvoff rows in.
The widths follow the host like the Cython levels': 16 float32 / 8 float64
with AVX-512, 8 / 4 with AVX2; ``width`` is 0 elsewhere (no chunks).
``FASTPG_ISA`` (fastpg/_cy/__init__.py) caps them the same way, so every
width can be tested on one machine: ``baseline`` 0, ``avx2`` 32 bytes
(never more than the host has; fastpg._numba files such a run's compiled
kernels under their own cache directory).
"""
from __future__ import annotations

import os

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_FEATURES = llvm.get_host_cpu_features()
_HOST_BYTES = 64 if _FEATURES.get("avx512f") else (32 if _FEATURES.get("avx2") else 0)
#: FASTPG_ISA's level (an invalid value: the host's; the Cython import reports it)
LEVEL = os.environ.get("FASTPG_ISA", "").strip().lower()
_BYTES = min(_HOST_BYTES, {"baseline": 0, "avx2": 32}.get(LEVEL, _HOST_BYTES))
I32 = ir.IntType(32)
I64 = ir.IntType(64)


def _w(dtype):
    return _BYTES * 8 // dtype.bitwidth


@intrinsic
def width(typingctx, x):
    """Lanes of a chunk for x's float dtype (a compile-time constant)."""
    n = _w(x.dtype)

    def codegen(context, builder, signature, args):
        return ir.Constant(I64, n)
    return types.int64(x), codegen


def _row_ptr(context, builder, aryty, ary, row):
    """Address of row `row` (an i64) of a (T, 1) array."""
    a = context.make_array(aryty)(context, builder, ary)
    stride = builder.extract_value(a.strides, 0)
    base = builder.ptrtoint(a.data, I64)
    return builder.inttoptr(builder.add(base, builder.mul(row, stride)), a.data.type)


@intrinsic
def chunk(typingctx, m, r, v, nv, nvoff, ns, g, gs, lm, ls, te, tes, tr, trs, t0, carry,
          out, out2):
    dt = r.dtype
    W = _w(dt)
    sig = types.Tuple((dt, dt, types.boolean))(m, r, v, nv, nvoff, ns, g, gs, lm, ls, te, tes,
                                                tr, trs, t0, carry, out, out2)

    if W == 0:
        # no vector unit to use: _block never calls this (width is 0), but
        # numba compiles _flat anyway, and LLVM rejects a vector of 0 lanes
        def unreachable(context, builder, signature, args):
            one = context.get_constant(dt, 1)
            return context.make_tuple(builder, signature.return_type,
                                      [args[15], one, context.get_constant(types.boolean, False)])
        return sig, unreachable

    def codegen(context, builder, signature, args):
        (m_, r_, v_, nv_, nvoff_, ns_, g_, gs_, lm_, ls_, te_, tes_, tr_, trs_, t0_, carry_,
         out_, out2_) = args
        tys = signature.args
        ft = context.get_value_type(dt)
        vt = ir.VectorType(ft, W)
        mt = ir.VectorType(ir.IntType(1), W)
        zero = ir.Constant(vt, [0.0] * W)
        one = ir.Constant(vt, [1.0] * W)
        nomask = ir.Constant(mt, [0] * W)

        def i64(x, ty):
            return context.cast(builder, x, ty, types.int64)

        t0v = i64(t0_, tys[14])

        def splat(x):
            vec = builder.insert_element(ir.Constant(vt, ir.Undefined), x, ir.Constant(I32, 0))
            return builder.shuffle_vector(vec, ir.Constant(vt, ir.Undefined),
                                          ir.Constant(ir.VectorType(I32, W), [0] * W))

        def rows_or_row0(stride, ty, rows, row0):
            """rows() where the stride is not 0, else row0(): an array or a
            broadcast row (never a vector load past a one-row array)."""
            nonzero = builder.icmp_signed("!=", stride, ir.Constant(I64, 0))
            with builder.if_else(nonzero) as (full, bc):
                with full:
                    a = rows()
                    bfull = builder.block
                with bc:
                    b = row0()
                    bbc = builder.block
            phi = builder.phi(ty)
            phi.add_incoming(a, bfull)
            phi.add_incoming(b, bbc)
            return phi

        def load(aty, ary, stride, off=None):
            """W rows from t0 (+ off) of a float array, or its row 0 W times."""
            row = t0v if off is None else builder.add(t0v, off)
            return rows_or_row0(
                stride, vt,
                lambda: builder.load(builder.bitcast(_row_ptr(context, builder, aty, ary, row),
                                                     vt.as_pointer()), align=1),
                lambda: splat(builder.load(_row_ptr(context, builder, aty, ary,
                                                    ir.Constant(I64, 0)))))

        def flags(aty, ary, stride):
            """W rows' uint8 flags from t0 as a lane mask; none where absent."""
            bt = ir.VectorType(ir.IntType(8), W)

            def rows():
                p = builder.bitcast(_row_ptr(context, builder, aty, ary, t0v), bt.as_pointer())
                return builder.icmp_unsigned("!=", builder.load(p, align=1),
                                             ir.Constant(bt, [0] * W))
            return rows_or_row0(stride, mt, rows, lambda: nomask)

        def sel(mask, a, b):
            return builder.select(mask, a, b)

        mode = i64(m_, tys[0])
        ns64, gs64, ls64 = i64(ns_, tys[5]), i64(gs_, tys[7]), i64(ls_, tys[9])
        rv = load(tys[1], r_, ir.Constant(I64, 1))
        nvv = load(tys[3], nv_, ns64, i64(nvoff_, tys[4]))
        gv = load(tys[6], g_, gs64)
        tem = flags(tys[10], te_, i64(tes_, tys[11]))
        cut = flags(tys[12], tr_, i64(trs_, tys[13]))
        end = builder.or_(tem, cut)
        notend = builder.not_(end)
        boot = builder.and_(cut, builder.not_(tem))
        # each mode's (a, c); the mode is a constant where this is inlined
        a_d = sel(boot, builder.fadd(rv, builder.fmul(gv, nvv)), rv)
        c_d = sel(notend, gv, zero)
        lv = load(tys[8], lm_, ls64)
        vv = load(tys[2], v_, ir.Constant(I64, 1))
        base = builder.fsub(rv, vv)
        a_g = sel(tem, base, builder.fadd(base, builder.fmul(gv, nvv)))
        c_gl = sel(notend, builder.fmul(gv, lv), zero)
        bootl = builder.fadd(rv, builder.fmul(gv, nvv))
        mid = builder.fadd(rv, builder.fmul(gv, builder.fmul(builder.fsub(one, lv), nvv)))
        a_l = sel(tem, rv, sel(boot, bootl, mid))
        is_d = builder.icmp_signed("==", mode, ir.Constant(I64, 0))
        is_g = builder.icmp_signed("==", mode, ir.Constant(I64, 1))
        A = sel(is_d, a_d, sel(is_g, a_g, a_l))
        C = sel(is_d, c_d, c_gl)
        k = 1
        while k < W:
            idx = ir.Constant(ir.VectorType(I32, W), [j + k for j in range(W)])
            As = builder.shuffle_vector(A, zero, idx)
            Cs = builder.shuffle_vector(C, one, idx)
            live = builder.fcmp_unordered("!=", C, zero)
            A = sel(live, builder.fadd(A, builder.fmul(C, As)), A)
            C = builder.fmul(C, Cs)
            k *= 2
        live = builder.fcmp_unordered("!=", C, zero)
        Y = sel(live, builder.fadd(A, builder.fmul(C, splat(carry_))), A)
        fin = builder.fcmp_ordered("==", builder.fsub(Y, Y), zero)
        allfin = builder.icmp_unsigned("==", builder.bitcast(fin, ir.IntType(W)),
                                       ir.Constant(ir.IntType(W), (1 << W) - 1))
        po = _row_ptr(context, builder, tys[16], out_, t0v)
        builder.store(Y, builder.bitcast(po, vt.as_pointer()), align=1)
        with builder.if_then(is_g):
            p2 = _row_ptr(context, builder, tys[17], out2_, t0v)
            builder.store(builder.fadd(Y, vv), builder.bitcast(p2, vt.as_pointer()), align=1)
        y0 = builder.extract_element(Y, ir.Constant(I32, 0))
        c0 = builder.extract_element(C, ir.Constant(I32, 0))
        return context.make_tuple(builder, signature.return_type, [y0, c0, allfin])
    return sig, codegen
