"""The linear-recurrence scan behind numba's discounted_returns, gae and
lambda_returns (fastpg._numba.returns holds the kernels themselves).

Implementation notes (the why):

* ``discounted_returns``, ``gae`` and ``lambda_returns`` are one linear
  recurrence ``y_t = a_t + c_t y_{t+1}`` with kernel-specific coefficients
  (``_rule``, the one place each rule is written here). A zero ``c`` cuts the
  dependence (NaN stays in its episode).
* Wide arrays (``B >= ROW_MIN_B``) run a reverse loop over time with the
  batch as the inner, vectorised loop: one pass over memory, the
  coefficients computed in the loop from unconditional loads (absent flags
  and values read as a zero row, ``_prepared``), the carry read back from the
  output row below.
* Narrow arrays (a flat stream is ``B == 1``) are not allowed to be bound by
  the serial latency of the recurrence. Each column is cut into blocks of
  ``BLOCK`` steps that are scanned independently with a zero carry-in, each
  block as 4 interleaved sub-chains (instruction-level parallelism);
  a short serial pass over the blocks' heads computes the true carries, and a
  fix-up adds ``prod(c) * carry`` to the start of each block, stopping at the
  first zero coefficient, i.e. usually at the first episode end. Blocks are
  independent, so ``*_parallel`` spreads them over threads. A flat stream's
  blocks, on a host with AVX2 or AVX-512, are scanned in vector chunks
  instead (``_flat``, ``fastpg._numba._chunks``: the twin of Cython's
  src_cython/fpg_scan_simd.h).
* Shaped for compile time (docs/design.md, Backends): one scan body compiled
  serial and ``parallel=True``, the mode a compile-time constant. The row
  path is inlined (called as its own function its loop ran 1.5-2.5x
  slower); the block (``_block``) is a compiled call that both variants
  share: numba's inlining copies and re-types a callee's IR at every call
  site, and the parallel variant re-lowered the inlined block inside its
  parfor. Zen 1 EPYC, cold cache, float64 (2026-12-06): serial 23 -> 16 s,
  parallel 49 -> 12 s per kernel, run time unchanged (blocked B4, flat 1M,
  row path T2048 B64 and T512 B512, interleaved runs).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._tuning import BLOCK, ROW_MIN_B
from . import jit
from ._chunks import chunk, width

DISC, GAE, LAMBDA = 0, 1, 2


@jit(inline="always")
def _rule(m, rt, vt, nvt, gt, lt, te, cut):
    """(a_t, c_t) of mode m from one step's values: the recurrence
    y_t = a_t + c_t y_{t+1} of discounted returns, GAE and λ-returns (the
    reference's rules; nvt is the value bootstrapped from, vt GAE's V_t)."""
    # selects, not statements that branch: those keep the loop from
    # vectorising. 0 and 1 of the working dtype: gamma is finite, and gt * 0
    # or 1 - lt (an int 1) would be float64
    zero = gt - gt
    if m == DISC:
        a = rt + gt * nvt if cut and not te else rt
        c = zero if te or cut else gt
    elif m == GAE:
        a = rt - vt
        a = a if te else a + gt * nvt
        c = zero if te or cut else gt * lt
    else:
        boot = rt + gt * nvt
        a = rt if te else (boot if cut else rt + gt * (((zero + np.float32(1)) - lt) * nvt))
        c = zero if te or cut else gt * lt
    return a, c


@jit(inline="always")
def _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, t, b, last):
    """(a_t, c_t) at step t of column b, every load unconditional (branch-free
    code that vectorises over b); the arguments are _prepared's. Callers
    unpack that tuple once, outside their loops: unpacked per element, its
    arrays cost reference counts per element."""
    gt = g[t * gs, b]
    ted = te[t * tes, b] != 0
    cut = last | (tr[t * trs, b] != 0)
    nvt = nv[t * ns, b]
    if m == GAE:
        # GAE's shorthand: the value of the next step's observation, the one row
        # of next values after the last step. Both loaded, then a select: a
        # branch between two arrays costs reference counts per element
        vn = v[t if last else -(~t), b]  # t + 1 in t's type (uint64 + 1 is a float64)
        nvt = nvt if full or last else vn
    return _rule(m, r[t, b], v[t, b], nvt, gt, lm[t * ls, b], ted, cut)


@jit(inline="always")
def _prepared(r, v, nv, g, lm, term, trunc):
    """The inputs with absent flags and values (0 rows) read as one row of
    zeros and constant coefficients as stride-0 rows, so that no load needs a
    branch; (T, B) next values for the shorthand ``full`` is False."""
    T, B = r.shape
    zf = np.zeros((1, B), np.uint8)
    te = term if term.shape[0] > 0 else zf
    tr = trunc if trunc.shape[0] > 0 else zf
    nva = nv if nv.shape[0] > 0 else np.zeros((1, B), r.dtype)
    return (r, v, nva, 1 if nv.shape[0] == T else 0, nv.shape[0] == T,
            g, 1 if g.shape[0] > 1 else 0, lm, 1 if lm.shape[0] > 1 else 0,
            te, 1 if term.shape[0] > 0 else 0, tr, 1 if trunc.shape[0] > 0 else 0)


@jit(inline="always")
def _unsigned(S):
    """_prepared's tuple with its strides as uint64, for the flat-stream path:
    indexed with unsigned t and b (_U) its loads need no negative-index
    fix-up, which numba adds to every signed index and which cost more there
    than the arithmetic (flat 1M discounted: 3.3 -> 2.4 ms). The row path
    keeps signed indices: unsigned ones stopped it vectorising."""
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    return (r, v, nv, np.uint64(ns), full, g, np.uint64(gs), lm, np.uint64(ls), te,
            np.uint64(tes), tr, np.uint64(trs))


@jit(inline="always")
def _U(i):
    return np.uint64(i)


@jit(inline="always")
def _coefs(m, S, t0, t1, b, A, C):
    """a_t, c_t of rows [t0, t1) of column b into A[0:t1-t0], C[0:t1-t0]
    (S: _unsigned's)."""
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    T = r.shape[0]
    ub = _U(b)
    for t in range(t0, t1):
        A[t - t0], C[t - t0] = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr,
                                        trs, _U(t), ub, t == T - 1)


@jit(inline="always")
def _rows(m, S, out, out2, b0, b1):
    """Row path: reverse loop over time, batch columns [b0, b1) inner, the
    coefficients computed in the loop; the carry is the output row below."""
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    T = r.shape[0]
    for t in range(T - 1, -1, -1):
        last = t == T - 1
        for b in range(b0, b1):
            a, c = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, t, b, last)
            prev = out[t + 1, b] if not last else c  # c = 0 at the last row
            # select, not multiply: 0 * inf must not leak past an episode end
            out[t, b] = a + (c * prev if c != 0 else c)
        if m == GAE:  # its own loop: one more output in the loop above stops it vectorising
            for b in range(b0, b1):
                out2[t, b] = out[t, b] + v[t, b]


@jit(inline="always")
def _scaled(p, carry):
    """p * carry for a product p of positive coefficients: when p underflowed
    to 0 a NaN or infinite carry still propagates (as in the exact recurrence),
    where 0 * inf would make NaN of an inf."""
    if p == 0 and carry - carry != 0:
        return carry
    return p * carry


@jit(inline="always")
def _put(m, S, out, out2, t, b, y):
    out[t, b] = y
    if m == GAE:
        out2[t, b] = y + S[1][t, b]


@jit
def _seg(m, S, out, out2, lo, hi, y, p):
    """Rows hi - 1 down to lo of a flat stream, one chain from the carry y;
    returns (y, p times their coefficients) (S: _unsigned's). Not inlined:
    _flat calls it three times for a few rows each."""
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    T = r.shape[0]
    for t in range(hi - 1, lo - 1, -1):
        a, c = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t), _U(0),
                        t == T - 1)
        y = a + (c * y if c != 0 else c)
        p *= c
        _put(m, S, out, out2, _U(t), _U(0), y)
    return y, p


@jit
def _flat(m, S, out, out2, s, e):
    """A flat stream's block in vector chunks between scalar rows, as
    src_cython/_scan_blocks.pxi's _flat (the array's last row scalar; a run with a
    result that is not finite again as one scalar chain). Returns _block's
    triple. Not inlined: one compiled copy per kernel."""
    S = _unsigned(S)
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    T = r.shape[0]
    W = width(out)
    top = max(s, min(e, T - 1))
    lo = top - (top - s) // W * W
    y = g[0, 0] - g[0, 0]
    p = y + np.float32(1)
    y, p = _seg(m, S, out, out2, top, e, y, p)
    y0 = y
    p0 = p
    ok = True
    shorthand = m == GAE and not full  # next value = values[t + 1] below the last row
    t0 = top - W
    while t0 >= lo:
        if shorthand:
            y, c, fine = chunk(m, r, v, v, 1, 1, g, gs, lm, ls, te, tes, tr, trs, t0, y, out, out2)
        else:
            y, c, fine = chunk(m, r, v, nv, 0, ns, g, gs, lm, ls, te, tes, tr, trs, t0, y, out,
                               out2)
        p *= c
        ok = ok and fine
        t0 -= W
    if not ok:
        y, p = _seg(m, S, out, out2, lo, top, y0, p0)
    y, p = _seg(m, S, out, out2, s, lo, y, p)
    cut = False
    if p == 0:
        cut = _has_cut(m, S, s, e, s - s)  # column 0 typed as _block's b: one compiled copy
    return y, p, cut


@jit(cache=False)
def _block(m, S, out, out2, b, s, e):  # not inlined: see the module's notes
    """Scan [s, e) of column b with zero carry-in, as 4 interleaved chains
    (lane j: steps s + jK .. s + (j+1)K - 1; the remainder is lane 3's), the
    coefficients computed in the loop and the outputs written as they come;
    then each lane's head is carried into the lane before (_fix). Returns
    (y_s, prod c, whether the block holds an episode end). The Cython
    block (src_cython/_scan_blocks.pxi) is the same loop."""
    if width(out) > 0 and out.shape[1] == 1:
        return _flat(m, S, out, out2, s, e)
    signed = S  # what _scan_body hands _fix too: one compiled copy
    S = _unsigned(S)
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    T = r.shape[0]
    K = (e - s) // 4
    ub = _U(b)
    # a zero and a one of the working dtype (gamma is finite; in numba a
    # float32 times an int is a float64, which put the whole scan in double)
    y0 = g[0, 0] - g[0, 0]
    y1 = y0
    y2 = y0
    y3 = y0
    p0 = y0 + np.float32(1)
    p1 = p0
    p2 = p0
    p3 = p0
    for t in range(e - 1, s + 4 * K - 1, -1):
        a, c = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t), ub,
                        t == T - 1)
        y3 = a + (c * y3 if c != 0 else c)
        p3 *= c
        _put(m, S, out, out2, _U(t), ub, y3)
    for i in range(K - 1, -1, -1):
        t0 = s + i
        t1 = t0 + K
        t2 = t1 + K
        t3 = t2 + K
        a0, c0 = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t0), ub,
                          t0 == T - 1)
        a1, c1 = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t1), ub,
                          t1 == T - 1)
        a2, c2 = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t2), ub,
                          t2 == T - 1)
        a3, c3 = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t3), ub,
                          t3 == T - 1)
        y0 = a0 + (c0 * y0 if c0 != 0 else c0)
        y1 = a1 + (c1 * y1 if c1 != 0 else c1)
        y2 = a2 + (c2 * y2 if c2 != 0 else c2)
        y3 = a3 + (c3 * y3 if c3 != 0 else c3)
        p0 *= c0
        p1 *= c1
        p2 *= c2
        p3 *= c3
        _put(m, S, out, out2, _U(t0), ub, y0)
        _put(m, S, out, out2, _U(t1), ub, y1)
        _put(m, S, out, out2, _U(t2), ub, y2)
        _put(m, S, out, out2, _U(t3), ub, y3)
    if K > 0:
        for j in range(2, -1, -1):  # carry each lane's head into the lane before
            _fix(m, signed, out, out2, b, s + j * K, s + (j + 1) * K,
                 out[_U(s + (j + 1) * K), ub])
    p = p0 * p1 * p2 * p3
    cut = False
    if p == 0:  # an episode end, or an underflow: look (episode ends come early)
        cut = _has_cut(m, S, s, e, b)
    return out[_U(s), ub], p, cut


@jit
def _has_cut(m, S, s, e, b):
    """Whether a coefficient of [s, e) of column b is 0 (an episode end, as
    opposed to a product that underflowed). Not inlined: one compiled copy
    of the coefficient loads fewer in the block (S: _unsigned's)."""
    r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs = S
    T = r.shape[0]
    for t in range(s, e):
        a, c = _coef_at(m, r, v, nv, ns, full, g, gs, lm, ls, te, tes, tr, trs, _U(t), _U(b),
                        t == T - 1)
        if c == 0:
            return True
    return False


@jit
def _fix(m, S, out, out2, b, s, e, carry):
    """Add prod_{k=t}^{e-1} c_k * carry to y_t for t = e-1 down to s.

    Stops at the first zero coefficient: usually an episode end, so this
    touches a short stretch unless the episode spans the whole block. A NaN
    or infinite carry keeps propagating after the product underflows.
    """
    S = _unsigned(S)
    step = 256
    A = np.empty(step, dtype=out.dtype)
    C = np.empty(step, dtype=out.dtype)
    g = S[5]
    p = (g[0, 0] - g[0, 0]) + np.float32(1)  # a one of the working dtype (as in _block)
    finite = carry - carry == 0
    hi = e
    while hi > s:
        lo = max(s, hi - step)
        _coefs(m, S, lo, hi, b, A, C)
        for t in range(hi - 1, lo - 1, -1):
            c = C[t - lo]
            if c == 0:  # an episode end
                return
            p *= c
            if p == 0 and finite:  # underflowed: the rest adds nothing
                return
            d = _scaled(p, carry)
            out[_U(t), _U(b)] += d
            if m == GAE:
                out2[_U(t), _U(b)] += d
        hi = lo


@jit
def _carries(head, prod, cut, nblk, B):
    """head[k] <- true y at the start of block k + 1 (the carry block k needs)."""
    for b in range(B):
        nxt = head[b * nblk + nblk - 1]
        head[b * nblk + nblk - 1] = 0
        for i in range(nblk - 2, -1, -1):
            k = b * nblk + i
            cur = head[k]
            if not cut[k]:
                cur = cur + _scaled(prod[k], nxt)
            head[k] = nxt
            nxt = cur


@jit(inline="always")
def _slabs(m, S, out, out2, max_slabs):
    """The row path, each thread owning a slab of columns."""
    B = out.shape[1]
    nslab = max(1, min(B // ROW_MIN_B, max_slabs))
    for i in prange(nslab):
        _rows(m, S, out, out2, i * B // nslab, (i + 1) * B // nslab)


def _rows_body(m, r, v, nv, g, lm, term, trunc, out, out2, max_slabs):
    """The row path alone, for arrays known to be wide (the ``*_rows``
    kernels): their first call compiles in about a third of the whole scan's
    time, which also holds the blocked path."""
    if r.shape[0] > 0 and r.shape[1] > 0:
        _slabs(m, _prepared(r, v, nv, g, lm, term, trunc), out, out2, max_slabs)


def _scan_body(m, r, v, nv, g, lm, term, trunc, out, out2, max_slabs):
    """The scan, serial and parallel (prange is range in the serial
    compilation, whose callers pass ``max_slabs=1``)."""
    T, B = r.shape
    if T == 0 or B == 0:
        return
    S = _prepared(r, v, nv, g, lm, term, trunc)
    if B >= ROW_MIN_B:
        _slabs(m, S, out, out2, max_slabs)
        return
    nblk = (T + BLOCK - 1) // BLOCK
    head = np.empty(nblk * B, dtype=out.dtype)
    prod = np.empty(nblk * B, dtype=out.dtype)
    cut = np.empty(nblk * B, dtype=np.bool_)
    for k in prange(nblk * B):
        s = (k % nblk) * BLOCK
        head[k], prod[k], cut[k] = _block(m, S, out, out2, k // nblk, s, min(T, s + BLOCK))
    if nblk > 1:
        _carries(head, prod, cut, nblk, B)
        for k in prange(nblk * B):
            if k % nblk < nblk - 1:
                s = (k % nblk) * BLOCK
                _fix(m, S, out, out2, k // nblk, s, s + BLOCK, head[k])


_scan = jit(_scan_body, cache=False)
_scan_parallel = jit(_scan_body, parallel=True, cache=False)
_row_scan = jit(_rows_body, cache=False)
_row_scan_parallel = jit(_rows_body, parallel=True, cache=False)
