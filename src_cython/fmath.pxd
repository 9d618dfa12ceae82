# fastpg's own exp, for the kernels whose rows of exp dominate (V-trace and
# Retrace's importance ratios, the two-action policy gradient's sigmoid).
# numba's twin is fastpg/_numba/fmath.py; the algorithm and its error are in
# docs/design.md ("fastpg's exp").
#
# libm's exp is a call, so a loop of them is scalar; this one is inline,
# branch-free arithmetic that gcc vectorises (and, with -ffp-contract=off, the
# same bits at every instruction-set level and in numba). Within 1 ulp of the
# correctly rounded result for every double; exp(±inf), NaN, overflow to inf
# and underflow through the subnormals to 0 as libm.
#
#   n = rint(x / ln 2), r = x - n ln 2 (Cody-Waite, two constants, |r| <= ln2/2)
#   exp(r) = Σ_{k <= 13} r^k / k!  (Horner; the truncation is below 0.02 ulp)
#   exp(x) = exp(r) · 2^h · 2^(n-h), h = rint(n / 2): each factor a normal
#   double, so the one rounding left is that of a subnormal result
#
# cimport-able by itself: ``from fastpg._cy.fmath cimport fpg_exp`` (no module
# behind it; everything here is inline).

cdef union _f64_i64:
    double d
    long long i

cdef inline double _pow2(double n) noexcept nogil:
    # 2^n for an integer-valued n in [-1022, 1023]: n + 1023 lands in the low
    # mantissa bits of 2^52 + (n + 1023), then shifts into the exponent field
    cdef _f64_i64 u, base
    u.d = n + 1023.0 + 4503599627370496.0
    base.d = 4503599627370496.0
    u.i = (u.i - base.i) << 52
    return u.d

cdef inline double fpg_exp(double x) noexcept nogil:
    cdef double shift = 6755399441055744.0  # 1.5 · 2^52: adding it rounds to an integer
    # the clamp keeps n in range; a NaN fails both tests and stays NaN
    cdef double xc = -746.0 if x < -746.0 else (710.0 if x > 710.0 else x)
    cdef double n = (xc * 1.4426950408889634 + shift) - shift
    cdef double r = xc - n * 6.93147180369123816490e-01  # exact: 32-bit ln2 head
    r = r - n * 1.90821492927058770002e-10
    cdef double p = 1.6059043836821613e-10                 # 1/13!
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
    cdef double h = (n * 0.5 + shift) - shift
    return p * _pow2(h) * _pow2(n - h)


# sin(x) and cos(x) of libm as a pair, for CartPole's dynamics: gcc fetches
# both with one sincos call (glibc's gives the bits of sin and cos); numba's
# twin calls sincos itself (fastpg/_numba/_fmath.py), where LLVM would make
# two calls. ``from fastpg._cy.fmath cimport fpg_sincos``.
from libc.math cimport cos as _cos, sin as _sin

cdef inline (double, double) fpg_sincos(double x) noexcept nogil:
    return _sin(x), _cos(x)
