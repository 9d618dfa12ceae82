/* The return scans' vector chunk (included by returns.pyx through _scan.pxi).
 *
 * A flat stream (B == 1) is scanned backwards in chunks of W rows, one
 * vector each. In a chunk the recurrence y_t = a_t + c_t y_{t+1} is a suffix
 * scan of the pairs (a_t, c_t) under
 *
 *     (A, C) . (A', C') = (A + C A', C C')   (A unchanged where C == 0),
 *
 * done in log2(W) steps, each combining lane i with lane i + k (k = 1, 2,
 * 4, ...; lanes past the end hold the identity (0, 1)). Lane i then holds
 * A_i = y_i given a zero carry at the chunk's end and C_i = the product of
 * c over rows i..W-1, so y_i = A_i + C_i carry, and the next carry is y_0.
 * The select "unchanged where C == 0" is the reference's "a zero
 * coefficient ends the sum": 0 * inf must not leak past an episode end.
 *
 * Rounding differs from the sequential loop (a sum in a tree, the last
 * product once per chunk): within a few ulps, like the 4-chain block scan.
 * A product of coefficients that underflows to 0 is taken for an episode
 * end: with finite values it drops what is below the smallest subnormal
 * times the rest, as the block scan's fix-up does, but it would drop an inf
 * that the reference propagates. Such an inf is a result somewhere in the
 * run (where it enters, or the chunk's last row under an inf carry), and a
 * run with a result that is not finite goes to the scalar loop (returns 1),
 * so infinities and NaN propagate exactly as in the reference, overflow
 * included.
 *
 * The caller gives chunks that end before the array's last row (the scalar
 * loop takes that row and its "end of data" cut), so a chunk's cut flags
 * are the truncation flags alone, and GAE's "next value = values[t + 1]"
 * shorthand is a plain load of values shifted by one row.
 *
 * Vectors are GCC/Clang vector extensions, as wide as the level the file is
 * compiled for (16 floats with AVX-512, 8 with AVX2); only the uint8 flags'
 * widening uses intrinsics. FPG_SCAN_SIMD is 0 elsewhere (below), and the
 * caller then uses its scalar chains only.
 */
#ifndef FPG_SCAN_SIMD_H
#define FPG_SCAN_SIMD_H

#include <string.h>

/* x86-64 with AVX2 or AVX-512 only: with 4 floats (or 2 doubles) a vector,
 * SSE2's chunks measured slower than the 4 scalar chains (discounted 0.81-0.90
 * vs 0.57 ms for 1M float32, 1.7-2.2 vs 0.6 ms for float64), so the baseline
 * build, and arm64, keep those. */
#if defined(__GNUC__) && defined(__x86_64__) && (defined(__AVX2__) || defined(__AVX512F__)) && \
    ((defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && __GNUC__ >= 12))
#define FPG_SCAN_SIMD 1
#else
#define FPG_SCAN_SIMD 0
#endif

#if FPG_SCAN_SIMD
#include <immintrin.h>

#if defined(__AVX512F__)
#define FPG_VB 64
#else
#define FPG_VB 32
#endif
#define FPG_W32 (FPG_VB / 4)
#define FPG_W64 (FPG_VB / 8)

typedef float fpg_vf __attribute__((vector_size(FPG_VB)));
typedef int fpg_vmf __attribute__((vector_size(FPG_VB)));
typedef double fpg_vd __attribute__((vector_size(FPG_VB)));
typedef long long fpg_vmd __attribute__((vector_size(FPG_VB)));

/* uint8 flags (0 or not) of W rows -> a lane mask (-1 where nonzero) */
static inline fpg_vmf fpg_flags32(const unsigned char* p) {
    fpg_vmf m;
#if FPG_VB == 64
    m = (fpg_vmf)_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p));
#else
    m = (fpg_vmf)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p));
#endif
    return m != 0;
}

static inline fpg_vmd fpg_flags64(const unsigned char* p) {
    fpg_vmd m;
#if FPG_VB == 64
    m = (fpg_vmd)_mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i*)p));
#else
    int x;
    memcpy(&x, p, 4);
    m = (fpg_vmd)_mm256_cvtepu8_epi64(_mm_cvtsi32_si128(x));
#endif
    return m != 0;
}

/* lanes i + k, then the fill: a shift of the chunk towards its start */
#if FPG_W32 == 16
#define FPG_SH32(x, f, k) ( \
    (k) == 1 ? __builtin_shufflevector(x, f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16) : \
    (k) == 2 ? __builtin_shufflevector(x, f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17) : \
    (k) == 4 ? __builtin_shufflevector(x, f, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19) : \
    __builtin_shufflevector(x, f, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23))
#else
#define FPG_SH32(x, f, k) ( \
    (k) == 1 ? __builtin_shufflevector(x, f, 1, 2, 3, 4, 5, 6, 7, 8) : \
    (k) == 2 ? __builtin_shufflevector(x, f, 2, 3, 4, 5, 6, 7, 8, 9) : \
    __builtin_shufflevector(x, f, 4, 5, 6, 7, 8, 9, 10, 11))
#endif
#if FPG_W64 == 8
#define FPG_SH64(x, f, k) ( \
    (k) == 1 ? __builtin_shufflevector(x, f, 1, 2, 3, 4, 5, 6, 7, 8) : \
    (k) == 2 ? __builtin_shufflevector(x, f, 2, 3, 4, 5, 6, 7, 8, 9) : \
    __builtin_shufflevector(x, f, 4, 5, 6, 7, 8, 9, 10, 11))
#else
#define FPG_SH64(x, f, k) ( \
    (k) == 1 ? __builtin_shufflevector(x, f, 1, 2, 3, 4) : \
    __builtin_shufflevector(x, f, 2, 3, 4, 5))
#endif

/* Rows lo .. hi - 1, (hi - lo) a multiple of W, chunk by chunk from the
 * end, for element type T (vector V, mask M, width W). mode: 0 discounted,
 * 1 GAE, 2 lambda (the returns' DISC, GAE, LAMBDA); a constant where it is
 * inlined. A stride of 0 reads row 0 for every row (a broadcast scalar, or
 * the caller's zero row for an absent array); flags with stride 0 are
 * absent (all zero). nv is next_values, or values + 1 for GAE's shorthand.
 * Writes out (and out2 = y + v for GAE), multiplies *prod by the product
 * of c, and sets *carry (y_hi on entry) to y_lo. Returns 1 when a result is
 * not finite: the caller then runs these rows again with its scalar loop. */
#define FPG_DEFINE_SCAN(NAME, T, V, M, W, FLAGS, SH)                                    \
static inline int NAME(int mode, const T* r, const T* v, const T* nv, Py_ssize_t nvs,     \
                       const T* g, Py_ssize_t gs, const T* lm, Py_ssize_t ls,             \
                       const unsigned char* te, Py_ssize_t tes,                           \
                       const unsigned char* tr, Py_ssize_t trs, Py_ssize_t lo,            \
                       Py_ssize_t hi, T* carry, T* prod, T* out, T* out2) {               \
    V zero = {0}, one = zero + 1, acc = zero;                                             \
    T y = *carry, p = *prod;                                                              \
    for (Py_ssize_t t0 = hi - W; t0 >= lo; t0 -= W) {                                     \
        V rv, vv = zero, nvv, gv, lv = zero, A, C, Y;                                     \
        M tem = (M){0}, cut = (M){0}, end, live;                                          \
        memcpy(&rv, r + t0, sizeof(V));                                                   \
        if (nvs) memcpy(&nvv, nv + t0, sizeof(V)); else nvv = zero + nv[0];               \
        if (gs) memcpy(&gv, g + t0, sizeof(V)); else gv = zero + g[0];                    \
        if (tes) tem = FLAGS(te + t0);                                                    \
        if (trs) cut = FLAGS(tr + t0);                                                    \
        end = tem | cut;                                                                  \
        if (mode == 0) {                                                                  \
            M boot = cut & ~tem;                                                          \
            A = (V)(((M)(rv + gv * nvv) & boot) | ((M)rv & ~boot));                       \
            C = (V)((M)gv & ~end);                                                        \
        } else {                                                                          \
            if (ls) memcpy(&lv, lm + t0, sizeof(V)); else lv = zero + lm[0];              \
            if (mode == 1) {                                                              \
                V base;                                                                   \
                memcpy(&vv, v + t0, sizeof(V));                                           \
                base = rv - vv;                                                           \
                A = (V)(((M)base & tem) | ((M)(base + gv * nvv) & ~tem));                 \
            } else {                                                                      \
                V boot = rv + gv * nvv, mid = rv + gv * ((one - lv) * nvv);               \
                A = (V)(((M)rv & tem) | ((M)boot & (cut & ~tem)) | ((M)mid & ~end));      \
            }                                                                             \
            C = (V)((M)(gv * lv) & ~end);                                                 \
        }                                                                                 \
        for (int k = 1; k < W; k *= 2) {                                                  \
            V As = SH(A, zero, k), Cs = SH(C, one, k);                                    \
            live = C != 0;                                                                \
            A = (V)(((M)(A + C * As) & live) | ((M)A & ~live));                           \
            C = C * Cs;                                                                   \
        }                                                                                 \
        live = C != 0;                                                                    \
        Y = (V)(((M)(A + C * (zero + y)) & live) | ((M)A & ~live));                       \
        acc = acc + (Y - Y);  /* NaN from here on if a result is inf or NaN */            \
        memcpy(out + t0, &Y, sizeof(V));                                                  \
        if (mode == 1) {                                                                  \
            V y2 = Y + vv;                                                                \
            memcpy(out2 + t0, &y2, sizeof(V));                                            \
        }                                                                                 \
        p = p * C[0];                                                                     \
        y = Y[0];                                                                         \
    }                                                                                     \
    *carry = y;                                                                           \
    *prod = p;                                                                            \
    for (int j = 0; j < W; j++)                                                           \
        if (acc[j] != 0) return 1;                                                        \
    return 0;                                                                             \
}

FPG_DEFINE_SCAN(fpg_scan_f32, float, fpg_vf, fpg_vmf, FPG_W32, fpg_flags32, FPG_SH32)
FPG_DEFINE_SCAN(fpg_scan_f64, double, fpg_vd, fpg_vmd, FPG_W64, fpg_flags64, FPG_SH64)

#else  /* no vector chunks here: the caller never calls these */
#define FPG_W32 1
#define FPG_W64 1
#define FPG_SCAN_STUB(NAME, T)                                                            \
static inline int NAME(int mode, const T* r, const T* v, const T* nv, Py_ssize_t nvs,     \
                       const T* g, Py_ssize_t gs, const T* lm, Py_ssize_t ls,             \
                       const unsigned char* te, Py_ssize_t tes,                           \
                       const unsigned char* tr, Py_ssize_t trs, Py_ssize_t lo,            \
                       Py_ssize_t hi, T* carry, T* prod, T* out, T* out2) { return 1; }
FPG_SCAN_STUB(fpg_scan_f32, float)
FPG_SCAN_STUB(fpg_scan_f64, double)
#endif
#endif
