# The scan behind the return kernels, included by returns.pyx: the linear
# recurrence y_t = a_t + c_t y_{t+1} with each kernel's a_t, c_t (_coef),
# its row path (wide batches) and block path (narrow batches; a flat stream's
# blocks in vector chunks where fpg_scan_simd.h has them), serial or
# OpenMP-parallel. _run (returns.pyx) fills a Src from the arguments.
cdef enum:
    DISC = 0
    GAE = 1
    LAMBDA = 2

# Compile-time kernel modes: empty tag structs in a fused type, so every
# helper is specialised per mode (the mode branches vanish from the per-element
# code of the flat-stream path instead of being tested for every element).
cdef struct DiscTag:
    char unused
cdef struct GaeTag:
    char unused
cdef struct LamTag:
    char unused
ctypedef fused mode_t:
    DiscTag
    GaeTag
    LamTag


cdef extern from "fpg_scan_simd.h":
    # the vector chunks of a flat stream (the file's comment has the method)
    enum:
        FPG_SCAN_SIMD
        FPG_W32
        FPG_W64
    int fpg_scan_f32(int mode, const float* r, const float* v, const float* nv, Py_ssize_t nvs,
                     const float* g, Py_ssize_t gs, const float* lm, Py_ssize_t ls,
                     const unsigned char* te, Py_ssize_t tes, const unsigned char* tr,
                     Py_ssize_t trs, Py_ssize_t lo, Py_ssize_t hi, float* carry, float* prod,
                     float* out, float* out2) noexcept nogil
    int fpg_scan_f64(int mode, const double* r, const double* v, const double* nv,
                     Py_ssize_t nvs, const double* g, Py_ssize_t gs, const double* lm,
                     Py_ssize_t ls, const unsigned char* te, Py_ssize_t tes,
                     const unsigned char* tr, Py_ssize_t trs, Py_ssize_t lo, Py_ssize_t hi,
                     double* carry, double* prod, double* out, double* out2) noexcept nogil


cdef struct Src:
    # element (t, b) of a (T, B) or broadcast (1, B) array is p[t * s + b]
    const void* r
    const void* v
    const void* nv
    const void* g
    const void* lm
    const unsigned char* te
    const unsigned char* tr
    void* out
    void* out2
    Py_ssize_t T, B, nvs, gs, ls, tes, trs
    int nvmode  # 0: (T, B); 1: GAE shorthand (1, B) = value after the last step
    int m


cdef inline void _coef(const Src* S, Py_ssize_t t, Py_ssize_t b,
                       floating* a, floating* c, const mode_t* tag) noexcept nogil:
    cdef const floating* r = <const floating*>S.r
    cdef const floating* v = <const floating*>S.v
    cdef const floating* nv = <const floating*>S.nv
    cdef floating gt = (<const floating*>S.g)[t * S.gs + b]
    cdef floating lt, nvt
    cdef Py_ssize_t B = S.B
    cdef bint te = S.te[t * S.tes + b] != 0
    cdef bint cut = t == S.T - 1 or S.tr[t * S.trs + b] != 0
    if mode_t is DiscTag:
        a[0] = r[t * B + b]
        if cut and not te:
            a[0] = a[0] + gt * nv[t * S.nvs + b]
        c[0] = 0 if (te or cut) else gt
        return
    lt = (<const floating*>S.lm)[t * S.ls + b]
    if S.nvmode == 0:
        nvt = nv[t * S.nvs + b]
    elif t + 1 < S.T:
        nvt = v[(t + 1) * B + b]
    else:
        nvt = nv[b]
    if mode_t is GaeTag:
        a[0] = r[t * B + b] - v[t * B + b]
        if not te:
            a[0] = a[0] + gt * nvt
        c[0] = 0 if (te or cut) else gt * lt
        return
    # LAMBDA
    if te:
        a[0] = r[t * B + b]
        c[0] = 0
    elif cut:
        a[0] = r[t * B + b] + gt * nvt
        c[0] = 0
    else:
        a[0] = r[t * B + b] + gt * ((1 - lt) * nvt)
        c[0] = gt * lt


cdef inline floating _step(floating y, floating a, floating c) noexcept nogil:
    # select, not multiply: 0 * inf must not leak past an episode end
    if c != 0:
        return a + c * y
    return a


cdef inline void _put(const Src* S, Py_ssize_t t, Py_ssize_t b, floating y,
                      const mode_t* tag) noexcept nogil:
    (<floating*>S.out)[t * S.B + b] = y
    if mode_t is GaeTag:
        (<floating*>S.out2)[t * S.B + b] = y + (<const floating*>S.v)[t * S.B + b]


cdef void _rows(const Src* S, Py_ssize_t b0, Py_ssize_t b1, floating* y,
                const mode_t* tag) noexcept nogil:
    # The row path is the hot loop for (T, B) batches: one branch on the mode
    # per row, row pointers hoisted into locals and selects instead of
    # branches, so the inner loop over b is straight-line code.
    cdef Py_ssize_t T = S.T, B = S.B, t, b
    cdef const floating* r = <const floating*>S.r
    cdef const floating* v = <const floating*>S.v
    cdef const floating* nv = <const floating*>S.nv
    cdef const floating* g = <const floating*>S.g
    cdef const floating* lm = <const floating*>S.lm
    cdef const floating* rt
    cdef const floating* vt
    cdef const floating* nvt
    cdef const floating* gt
    cdef const floating* lt
    cdef const unsigned char* tet
    cdef const unsigned char* trt
    cdef floating* o1
    cdef floating* o2
    cdef floating a, c, yy, boot, gl, zero = 0
    # int, not unsigned char: a loop mixing 1-byte and 4-byte lanes makes gcc
    # pick a byte vector mode and give up on the floats
    cdef int last, fl, te
    for b in range(b0, b1):
        y[b - b0] = 0
    for t in range(T - 1, -1, -1):
        rt = r + t * B
        vt = v + t * B
        gt = g + t * S.gs
        lt = lm + t * S.ls
        tet = S.te + t * S.tes
        trt = S.tr + t * S.trs
        o1 = <floating*>S.out + t * B
        o2 = <floating*>S.out2 + t * B
        last = t == T - 1
        if S.nvmode == 0:
            nvt = nv + t * S.nvs
        elif not last:
            nvt = v + (t + 1) * B
        else:
            nvt = nv
        # Every operand is computed unconditionally and combined with
        # selects: no loads or FP ops under a branch, so gcc can if-convert
        # (with -fno-trapping-math) and vectorise the loop (a "cut" select, not a multiply, keeps
        # 0 * inf from leaking past an episode end).
        if mode_t is GaeTag:
            for b in range(b0, b1):
                te = tet[b]
                fl = te | trt[b] | last
                a = rt[b] - vt[b]
                boot = a + gt[b] * nvt[b]
                gl = gt[b] * lt[b]
                a = a if te != 0 else boot
                c = zero if fl != 0 else gl
                yy = a + c * y[b - b0]
                yy = yy if c != 0 else a
                y[b - b0] = yy
                o1[b] = yy
                o2[b] = yy + vt[b]
        elif mode_t is DiscTag:
            for b in range(b0, b1):
                boot = rt[b] + gt[b] * nvt[b]
                gl = gt[b]
                te = tet[b]
                fl = te | trt[b] | last
                # bootstrap at a truncation (or the array end) that is not a termination
                a = boot if (fl != 0) & (te == 0) else rt[b]
                c = zero if fl != 0 else gl
                yy = a + c * y[b - b0]
                yy = yy if c != 0 else a
                y[b - b0] = yy
                o1[b] = yy
        else:
            for b in range(b0, b1):
                _coef(S, t, b, &a, &c, tag)
                y[b - b0] = _step(y[b - b0], a, c)
                o1[b] = y[b - b0]


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


cdef int _scan(const Src* S, floating dummy, bint parallel, const mode_t* tag) noexcept nogil:
    """Run the scan described by S; returns -1 when out of memory."""
    cdef Py_ssize_t T = S.T, B = S.B, nblk, k, i, b, s, nslab
    cdef floating* head
    cdef floating* prod
    cdef char* cut
    cdef floating* y
    cdef floating cur, nxt
    if T == 0 or B == 0:
        return 0
    if B >= ROW_MIN_B:
        if not parallel:
            y = <floating*>malloc(B * sizeof(floating))
            if y == NULL:
                return -1
            _rows(S, 0, B, y, tag)
            free(y)
            return 0
        nslab = min(B // ROW_MIN_B, MAX_SLABS)
        y = <floating*>malloc(B * sizeof(floating))
        if y == NULL:
            return -1
        for i in prange(nslab, schedule='static'):
            _rows(S, i * B // nslab, (i + 1) * B // nslab, y + i * B // nslab, tag)
        free(y)
        return 0
    nblk = (T + BLOCK - 1) // BLOCK
    head = <floating*>malloc(nblk * B * sizeof(floating))
    prod = <floating*>malloc(nblk * B * sizeof(floating))
    cut = <char*>malloc(nblk * B)
    if head == NULL or prod == NULL or cut == NULL:
        free(head)
        free(prod)
        free(cut)
        return -1
    if parallel:
        for k in prange(nblk * B, schedule='static'):
            head[k] = _block(S, k // nblk, (k % nblk) * BLOCK,
                             min(T, (k % nblk + 1) * BLOCK), prod + k, cut + k, tag)
    else:
        for k in range(nblk * B):
            head[k] = _block(S, k // nblk, (k % nblk) * BLOCK,
                             min(T, (k % nblk + 1) * BLOCK), prod + k, cut + k, tag)
    if nblk > 1:
        # head[k] <- the true y at the start of block k + 1 (block k's carry)
        for b in range(B):
            nxt = head[b * nblk + nblk - 1]
            for i in range(nblk - 2, -1, -1):
                k = b * nblk + i
                cur = head[k]
                if not cut[k]:
                    cur = cur + _scaled(prod[k], nxt)
                head[k] = nxt
                nxt = cur
        if parallel:
            for k in prange(nblk * B, schedule='static'):
                if k % nblk < nblk - 1:
                    _fix(S, k // nblk, (k % nblk) * BLOCK, (k % nblk + 1) * BLOCK, head[k], tag)
        else:
            for k in range(nblk * B):
                if k % nblk < nblk - 1:
                    _fix(S, k // nblk, (k % nblk) * BLOCK, (k % nblk + 1) * BLOCK, head[k], tag)
    free(head)
    free(prod)
    free(cut)
    return 0
