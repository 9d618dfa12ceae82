# The block path of the return scan (included by _scan.pxi, after the row
# path): narrow batches cut into blocks scanned independently (a flat
# stream's blocks in vector chunks, fpg_scan_simd.h), the carries between
# blocks, and the fix-up that adds each block's carry.

cdef inline floating _scaled(floating p, floating carry) noexcept nogil:
    # p * carry for a product p of positive coefficients: when p underflowed
    # to 0 a NaN or infinite carry still propagates, as in the exact
    # recurrence (0 * inf would turn an inf into NaN)
    if p == 0 and carry - carry != 0:
        return carry
    return p * carry


cdef void _fix(const Src* Sp, Py_ssize_t b, Py_ssize_t s, Py_ssize_t e,
               floating carry, const mode_t* tag) noexcept nogil:
    """Add prod_{k=t}^{e-1} c_k * carry to y_t for t = e-1 down to s, until an
    episode end (a zero coefficient), or until the product underflows when
    the carry is finite (what is left adds nothing)."""
    cdef Src L = Sp[0]
    cdef const Src* S = &L
    cdef floating p = 1, a, c, d
    cdef Py_ssize_t t
    cdef bint finite = carry - carry == 0
    cdef floating* out = <floating*>S.out
    cdef floating* out2 = <floating*>S.out2
    for t in range(e - 1, s - 1, -1):
        _coef(S, t, b, &a, &c, tag)
        if c == 0:
            return
        p = p * c
        if p == 0 and finite:
            return
        d = _scaled(p, carry)
        out[t * S.B + b] += d
        if mode_t is GaeTag:
            out2[t * S.B + b] += d


cdef inline void _seg(const Src* S, Py_ssize_t b, Py_ssize_t lo, Py_ssize_t hi, floating* y,
                      floating* p, const mode_t* tag) noexcept nogil:
    """Rows hi - 1 down to lo of column b, one chain from the carry y; p
    takes the product of their coefficients."""
    cdef floating a, c
    cdef Py_ssize_t t
    for t in range(hi - 1, lo - 1, -1):
        _coef(S, t, b, &a, &c, tag)
        y[0] = _step(y[0], a, c)
        p[0] = p[0] * c
        _put(S, t, b, y[0], tag)


cdef floating _flat(const Src* Sp, Py_ssize_t s, Py_ssize_t e, floating* prod,
                    const mode_t* tag) noexcept nogil:
    """Scan [s, e) of a flat stream (B == 1) with zero carry-in: vector
    chunks (fpg_scan_simd.h) between scalar rows at both ends. The array's
    last row is always scalar (its "end of data" cut and GAE's shorthand
    next value are the scalar loop's); a run of chunks whose results are not
    all finite runs again as one scalar chain. Returns y_s."""
    cdef Src L = Sp[0]
    cdef const Src* S = &L
    cdef Py_ssize_t W = FPG_W32 if floating is float else FPG_W64
    cdef Py_ssize_t top = min(e, S.T - 1), lo
    cdef floating y = 0, p = 1, y0, p0
    cdef const floating* nv = <const floating*>S.nv
    cdef Py_ssize_t nvs = S.nvs
    cdef int mode = DISC if mode_t is DiscTag else (GAE if mode_t is GaeTag else LAMBDA)
    cdef int bad
    if top < s:
        top = s
    lo = top - (top - s) // W * W
    _seg(S, 0, top, e, &y, &p, tag)
    if S.nvmode == 1:  # next value = values[t + 1] below the last row
        nv = <const floating*>S.v + 1
        nvs = 1
    y0 = y
    p0 = p
    if floating is float:
        bad = fpg_scan_f32(mode, <const float*>S.r, <const float*>S.v, nv, nvs,
                           <const float*>S.g, S.gs, <const float*>S.lm, S.ls, S.te, S.tes,
                           S.tr, S.trs, lo, top, &y, &p, <float*>S.out, <float*>S.out2)
    else:
        bad = fpg_scan_f64(mode, <const double*>S.r, <const double*>S.v, nv, nvs,
                           <const double*>S.g, S.gs, <const double*>S.lm, S.ls, S.te, S.tes,
                           S.tr, S.trs, lo, top, &y, &p, <double*>S.out, <double*>S.out2)
    if bad:
        y = y0
        p = p0
        _seg(S, 0, lo, top, &y, &p, tag)
    _seg(S, 0, s, lo, &y, &p, tag)
    prod[0] = p
    return y


cdef floating _block(const Src* Sp, Py_ssize_t b, Py_ssize_t s, Py_ssize_t e,
                     floating* prod, char* cut, const mode_t* tag) noexcept nogil:
    """Scan [s, e) of column b with zero carry-in: a flat stream's vector
    chunks (_flat), else 4 interleaved chains.

    Returns y_s; writes prod(c over [s, e)) to prod and to cut whether the
    block holds an episode end (a zero c; a zero prod may only have underflowed).
    """
    # a private copy: stores to out cannot alias it, so the compiler keeps
    # the pointers and strides in registers instead of reloading per element
    cdef Src L = Sp[0]
    cdef const Src* S = &L
    cdef Py_ssize_t K = (e - s) // 4, i, t, j
    cdef floating y0 = 0, y1 = 0, y2 = 0, y3 = 0
    cdef floating p0 = 1, p1 = 1, p2 = 1, p3 = 1
    cdef floating a0, a1, a2, a3, c0, c1, c2, c3
    cdef floating* out = <floating*>S.out
    if FPG_SCAN_SIMD and S.B == 1:
        y0 = _flat(S, s, e, prod, tag)
        _cut(S, b, s, e, prod, cut, tag)
        return y0
    for t in range(e - 1, s + 4 * K - 1, -1):  # the remainder belongs to lane 3
        _coef(S, t, b, &a3, &c3, tag)
        y3 = _step(y3, a3, c3)
        p3 = p3 * c3
        _put(S, t, b, y3, tag)
    for i in range(K - 1, -1, -1):
        t = s + i
        _coef(S, t, b, &a0, &c0, tag)
        _coef(S, t + K, b, &a1, &c1, tag)
        _coef(S, t + 2 * K, b, &a2, &c2, tag)
        _coef(S, t + 3 * K, b, &a3, &c3, tag)
        y0 = _step(y0, a0, c0)
        y1 = _step(y1, a1, c1)
        y2 = _step(y2, a2, c2)
        y3 = _step(y3, a3, c3)
        p0 = p0 * c0
        p1 = p1 * c1
        p2 = p2 * c2
        p3 = p3 * c3
        _put(S, t, b, y0, tag)
        _put(S, t + K, b, y1, tag)
        _put(S, t + 2 * K, b, y2, tag)
        _put(S, t + 3 * K, b, y3, tag)
    if K > 0:
        for j in range(2, -1, -1):
            _fix(S, b, s + j * K, s + (j + 1) * K, out[(s + (j + 1) * K) * S.B + b], tag)
    prod[0] = p0 * p1 * p2 * p3
    _cut(S, b, s, e, prod, cut, tag)
    return out[s * S.B + b]


cdef inline void _cut(const Src* S, Py_ssize_t b, Py_ssize_t s, Py_ssize_t e,
                      const floating* prod, char* cut, const mode_t* tag) noexcept nogil:
    cdef floating a, c
    cdef Py_ssize_t t
    cut[0] = 0
    if prod[0] == 0:  # an episode end, or an underflow: look (episode ends come early)
        for t in range(s, e):
            _coef(S, t, b, &a, &c, tag)
            if c == 0:
                cut[0] = 1
                break
