"""``auto``'s choices: per kernel, the backends in order of preference
(``auto_preference``), and per kernel the width from which another order
applies (``AUTO_WIDE``; the public function passes the width of its call).

The orders come from ``fastpg bench`` measurements; each entry's provenance
(date, machine, sizes, figures) is written next to it, and a change to the
tables comes with the run that justifies it. ``fastpg bench`` checks the
choices on every run ("auto within 10% of the fastest backend",
fastpg/bench/auto.py). fastpg._backend re-exports ``AUTO_PREFERENCE``
(built from its kernel registry) and ``AUTO_WIDE``.
"""
from __future__ import annotations

CYTHON_FIRST = ("cython", "numba", "numpy")
NUMBA_FIRST = ("numba", "cython", "numpy")

#: auto_preference: kernel -> backends in order of preference for ``auto``.
#: From ``fastpg bench`` on the project's 2-core machine (2026-11-21):
#: * returns: cython was faster than numba for every kernel and size (gae
#:   T2048xB64 f32 0.16 vs 0.33 ms, flat 1M discounted 1.9 vs 9.3 ms, nstep
#:   0.85 vs 1.15 ms at f64), and it has no JIT latency;
#: * policy: cython and numba within noise of each other on most kernels
#:   (linear_policy_grad N100k d4 A2: 1.9 vs 3.0 ms; sample_categorical 5.0 vs
#:   4.7 ms); cython first for the same JIT reason. At d=64, A=18 the NumPy
#:   reference's BLAS beats both for linear_policy_probs/grad (not picked per
#:   size: see the README).
#: * offpolicy: Cython first for narrow batches, numba from B = 16 up (AUTO_WIDE).
#: * cartpole_rollout (2026-12-04, the kernel table's call at N1024 T100,
#:   N64 T500 and N8 T2000, interleaved, two runs): numba first, 31-33 M
#:   steps/s against Cython's 24-25 M at every size (1.27-1.31x). perf puts
#:   their libm time (sin, cos, exp, log) equal; gcc's code for the rest of
#:   the step takes ~1.7x LLVM's (AVX2/AVX-512 builds of it: no faster).
#:   With numba's sincos intrinsic (fpg_sincos, the same day) the rollout
#:   went to 33-35 M, and cartpole_step moved too: 1024 envs (the kernel
#:   table's call, best of 7 x 300) 23.0 vs 27.3 µs serial, 16.0 vs 20.8 µs
#:   on two threads; numba first for it as well.
#: * the other env kernels and q_learning_rollout (2026-12-05, after numba's
#:   one-source kernels dropped reference counting, fastpg._numba.jit): 64
#:   envs through the gymnasium API, two runs, M steps/s numba vs cython:
#:   MountainCar 27.7 / 27.1 vs 19.2 / 19.1, Acrobot 3.04 / 3.08 vs 2.92 /
#:   2.98, GridWorld (mdp_step) 23.2 / 26.5 vs 16.1 / 16.1, ThreeStateMDP
#:   16.2 / 15.7 vs 8.2 / 11.7; the HOML rollout 38.8 / 45.3 vs 35.7 / 37.5
#:   (before: mountaincar and acrobot within 2%, mdp_step Cython 15% ahead,
#:   the rollout numba 28.6 vs 38.4). numba first for all of them.
#: * compatible_features and softmax_jacobian (2026-12-05, the same change,
#:   two `fastpg bench --full` runs, N100k f32, µs numba vs cython):
#:   compatible_features d4 A2 270 / 261 vs 293 / 293, d64 A18 10806 / 10714
#:   vs 11906 / 10993; softmax_jacobian A2 362 / 377 vs 370 / 363, A18 11488
#:   / 11514 vs 12866 / 12783: Cython first left `auto` 8-12% behind. numba
#:   first. The other policy kernels: within 10% either way (the closest,
#:   linear_policy_grad, by AUTO_WIDE: d4 A2 numba 9% ahead, d64 A18 Cython 9%).
def auto_preference(registry: dict) -> dict:
    """kernel -> ``auto``'s order, for every kernel of ``registry``."""
    prefs = {name: CYTHON_FIRST for family in registry.values() for name in family}
    prefs.update({name: NUMBA_FIRST for name in (
        *registry["envs"], *registry["tabular_envs"], "q_learning_rollout",
        "compatible_features", "softmax_jacobian")})
    return prefs


#: kernel -> (width, preference): ``auto``'s order for calls at least that
#: wide (the caller's ``width=``). linear_policy_grad: d * A. From two
#: runs of N=100k float32 on 2026-12-03 (ms, numba vs cython): d32 A18
#: 35.1 / 35.5 vs 41.1 / 42.8, d64 A8 35.3 / 22.9 vs 36.6 / 28.8, d64 A18
#: 54.7 / 42.8 vs 74.5 / 57.1; below d·A = 512 cython was as fast or faster
#: (d32 A8: 19.8 / 19.7 vs 22.2 / 14.6; d16 A8: 15.7 / 17.0 vs 14.0 / 10.0).
#: discounted_returns and lambda_returns: width T * B on the row path (B >=
#: ROW_MIN_B; the public functions pass 0 for narrower arrays). Public API,
#: one process, interleaved, minimum of 25 calls, 2026-12-03 (µs, numba vs
#: cython with its AVX2 build): T2048 B64 f32 discounted 142 vs 211, λ 534
#: vs 781; f64 211 vs 327, 290 vs 384; T512 B512 f32 211 vs 377, 1137 vs
#: 1665; f64 415 vs 771, 1082 vs 1416; at T2048 B8 and T256 B16 within 10%
#: either way, at T32 B8 cython 10% ahead (a cheaper call). With numba's
#: select-form λ rule (later the same day, minimum of 3 x 30 calls): λ T2048
#: B64 f32 114 vs 397, f64 254 vs 667; T512 B512 f32 211 vs 813, f64 303
#: vs 894; T2048 B8, T256 B16, T32 B8 within 15% either way. gae: width
#: T * B of float64 arrays on the row path (float32 passes 0). Public API,
#: interleaved, best of 9 (2026-12-04, µs, numba vs cython): f64 T2048 B64
#: 119 vs 185, T512 B512 154 vs 349; T2048 B8 51 vs 37, T256 B16 19 vs 18,
#: T32 B8 15 vs 13; f32 within 4% at T2048 B64 and T512 B512, Cython up
#: to 14% ahead below.
#: sample_categorical: width N * A. Public API, A = 4 f32, interleaved, best
#: of 7 (2026-12-04, one exp per element): N16384 521 vs 696 us, N100k 3118
#: vs 4251 us; N1024 40 vs 38, N64 and N8 equal (the call's cost).
#: value_iteration: width S for a dense P (the length of each expectation),
#: 0 for a sparse one. Public API, tol 1e-8, A = 4, interleaved, best of 3 x
#: 3 (2026-12-05, ms, numba with its vector dot8 vs cython's baseline build):
#: dense S16 0.071 vs 0.084, S32 0.146 vs 0.232, S128 1.78 vs 2.97, S500 A6
#: 53.6 vs 68.8, S2000 1391 vs 1411 (P's memory traffic); S8 a tie; sparse
#: S5000 A8 K10 60.7 vs 54.7, S2000 K32 31.1 vs 28.5, S1000 K100 59.8 vs 51.7.
#: vtrace and retrace: width B (the batch the time steps run over; below it
#: Cython first, AUTO_PREFERENCE). Public API, N = T * B = 1M, median of 9,
#: after the blocked ratios (ms, numba vs cython). The Zen 5 machine
#: (AVX-512, 2026-12-05), f32: flat vtrace 9.7 vs 7.0, retrace 8.6 vs 8.7;
#: B4 retrace 4.2 vs 3.7; B16 vtrace 3.2 vs 4.5; T2048 B64 (131k) vtrace
#: 0.31 vs 0.58, retrace 0.27 vs 0.42. A Zen 1 EPYC (AVX2, 2026-12-06), f32
#: and f64: Cython 7-31% ahead at B1-B8 for both kernels, B16-B64 within
#: 10% either way (f32 B16 vtrace 19.7 vs 17.7, B32 20.8 vs 25.0).
AUTO_WIDE = {"linear_policy_grad": (512, NUMBA_FIRST),
             "sample_categorical": (32768, NUMBA_FIRST),
             "gae": (32768, NUMBA_FIRST),
             "discounted_returns": (32768, NUMBA_FIRST),
             "lambda_returns": (32768, NUMBA_FIRST),
             "value_iteration": (16, NUMBA_FIRST),
             "vtrace": (16, NUMBA_FIRST),
             "retrace": (16, NUMBA_FIRST)}

#: the order for a name outside the registry
DEFAULT_PREFERENCE = CYTHON_FIRST
