# cython: language_level=3
"""What the CPU can run: the instruction-set level fastpg._cy loads its
kernels for. Always built for the baseline, so that it runs anywhere."""

cdef extern from *:
    """
    /* 0: the architecture's baseline; 1: x86-64 with AVX2; 2: x86-64 with
       AVX-512 F, VL, BW and DQ (x86-64-v4). GCC and Clang's builtins also
       check that the OS saves the AVX and AVX-512 registers (XGETBV). */
    static int fastpg_cpu_level(void) {
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
            return 2;
        if (__builtin_cpu_supports("avx2"))
            return 1;
    #endif
        return 0;
    }
    """
    int fastpg_cpu_level() noexcept nogil


def cpu_level():
    """The highest level this CPU supports: 0 baseline, 1 AVX2, 2 AVX-512 (x86-64)."""
    return fastpg_cpu_level()
