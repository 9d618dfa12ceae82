# The scan behind the return kernels, included by returns.pyx: the linear
# recurrence y_t = a_t + c_t y_{t+1} with each kernel's a_t, c_t (_coef),
# its row path (wide batches) and block path (narrow batches; a flat stream's
# blocks in vector chunks where fpg_scan_simd.h has them; _scan_blocks.pxi),
# serial or OpenMP-parallel. _run (returns.pyx) fills a Src from the arguments.
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


include "_scan_blocks.pxi"  # _fix, _seg, _flat, _block, _cut: the block path


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
