# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""Off-policy corrected returns, one source for both compilers (semantics
and argument layout: fastpg.reference.offpolicy; how one source works:
fastpg/_kernels/tabular.py and docs/design.md).

Both kernels are a reverse scan over time with the batch as the inner loop,
so each input is read once, in order, and the inner loop has no dependence
between columns. The carry of V-trace (v_{t+1} - V(x_{t+1})) lives in a
caller-provided scratch row; Retrace's carry is its own output row t + 1.
The scan runs over blocks of steps (``ratio_steps(B)`` of them, about
RATIO_BLOCK ratios), each of which first fills scratch rows with its
importance ratios exp(log ρ): a loop with nothing else in it, which both
compilers vectorise with fastpg's inline exp (src_cython/fmath.pxd,
fastpg/_numba/_fmath.py; docs/design.md, "fastpg's exp"), where a call of
libm's per element kept the whole step scalar. One step per block would
leave a narrow batch loops of one to a few elements: a flat stream (B = 1)
ran 2x slower. Episode ends and zero traces select between
values, never multiply by 0 or 1, so that a NaN or inf never leaks past
them (nor into a zero-weight advantage).
Arithmetic is in double for float32 arrays too: each value is widened when
loaded (as ``1.0 * x``, because numba's ``float(x)`` keeps float32) or meets
a double first, and is rounded once when stored.
"""
import cython
import numpy as np

if not cython.compiled:  # compiled, these are C names cimported by offpolicy.pxd
    from ._py import fpg_exp, row_index

    def _exp_rows(x, s, e, out, r0):
        """out[r0 + i, b] = exp(x[s + i, b]) for s <= s + i < e: the ratios of
        a block of steps. Rows s..e-1 of x and the rows written of out are
        each one stretch of memory, read and written as one flat loop (by
        rows, a batch of 1 would be loops of one element); Cython's twin in
        src_cython/offpolicy.pxd takes pointers, numba compiles this one.
        The flat views are sliced first so that the loop indexes by its own
        counter (an offset index kept numba's loop scalar)."""
        B = x.shape[1]
        n = (e - s) * B
        xf = x.reshape(x.shape[0] * B)[s * B:s * B + n]
        of = out.reshape(out.shape[0] * out.shape[1])[r0 * B:r0 * B + n]
        for i in range(n):
            of[i] = fpg_exp(1.0 * xf[i])


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(b=cython.Py_ssize_t)
def _exp_row(x: cython.const[cython.floating][:, ::1], t: cython.Py_ssize_t,
             out: cython.double[::1]) -> cython.void:
    """out_b = exp(x_tb): one step's ratios, for a batch wide enough that a
    row is a vector loop (a flat view per row cost numba 28 ns a call, its
    reshape being a call of its C runtime). numba keeps this a call (inlined
    into the scan, LLVM made the float32 kernel 3x slower)."""
    for b in range(x.shape[1]):
        out[b] = fpg_exp(1.0 * x[t, b])


def vtrace_c(rewards, values, next_values, log_rhos, gamma, lam, rho_clip, c_clip, pg_rho_clip,
             terminated, truncated, vs_out, pg_out, acc):
    """V-trace targets vs and policy-gradient advantages pg, (T, B) each;
    acc (1 + CH, B) float64 scratch, CH >= 1: row 0 the carry, rows 1..CH
    the ratios of a block of up to CH steps (computed before the block is
    scanned; more than one row lets a narrow batch compute them as one
    vector loop)."""
    T = rewards.shape[0]
    B = rewards.shape[1]
    gs = 1 if gamma.shape[0] > 1 else 0
    ls = 1 if lam.shape[0] > 1 else 0
    has_te = terminated.shape[0] > 0
    has_tr = truncated.shape[0] > 0
    tes = 1 if terminated.shape[0] > 1 else 0  # numba passes absent flags as one zero row
    trs = 1 if truncated.shape[0] > 1 else 0
    full = next_values.shape[0] == T
    CH = acc.shape[0] - 1  # steps per block of ratios
    for b in range(B):
        acc[0, b] = 0.0
    e = T
    while e > 0:
        s = e - CH if e > CH else 0
        if CH > 1:
            _exp_rows(log_rhos, s, e, acc, 1)
        else:
            _exp_row(log_rhos, s, acc[1])
        for t_ in range(e - 1, s - 1, -1):
            t = row_index(t_)  # t; to numba an opaque value (fastpg/_numba/_rows.py)
            j = t - s + 1  # this step's row of ratios in acc
            last = t == T - 1
            tn = t if last else t + 1  # a row that exists; what it gives at T - 1 is never taken
            from_values = not full and not last  # shorthand: the next step's V(x_{t+1})
            nr = t if full else 0
            for b in range(B):
                # Every candidate is loaded and computed, then one is selected: a
                # loop of selects vectorises where branches kept it scalar, and a
                # NaN in a value not taken still never reaches the result
                ratio = acc[j, b]
                g = 1.0 * gamma[t * gs, b]
                te = has_te and terminated[t * tes, b] != 0
                done = te or last or (has_tr and truncated[t * trs, b] != 0)
                nv_v = 1.0 * values[tn, b]
                nv_n = 1.0 * next_values[nr, b]
                nv = nv_v if from_values else nv_n
                vs_n = 1.0 * vs_out[tn, b]
                v = 1.0 * values[t, b]
                # the one-step TD error, and the return the PG advantage uses
                td0 = 1.0 * rewards[t, b] - v
                gnv = g * nv
                gvs = g * vs_n
                td1 = td0 + gnv
                q1 = td0 + (gnv if done else gvs)
                td = td0 if te else td1
                q = td0 if te else q1
                a0 = min(rho_clip, ratio) * td
                k = g * lam[t * ls, b] * min(c_clip, ratio)
                a1 = a0 + k * acc[0, b]
                # a zero trace cuts: 0 * NaN must not reach step t
                a = a0 if done or k == 0 else a1
                acc[0, b] = a
                vs_out[t, b] = v + a
                p = min(pg_rho_clip, ratio)
                pg_out[t, b] = p * q if p != 0 else 0.0
        e = s
    return -1


def retrace_c(rewards, q_values, next_values, log_rhos, gamma, lam, c_clip, terminated,
              truncated, out, ratio):
    """Retrace(λ) Q targets, (T, B); ratio (CH, B) float64 scratch, CH >= 1:
    the ratios of the next steps of a block of up to CH steps."""
    T = rewards.shape[0]
    B = rewards.shape[1]
    gs = 1 if gamma.shape[0] > 1 else 0
    ls = 1 if lam.shape[0] > 1 else 0
    has_te = terminated.shape[0] > 0
    has_tr = truncated.shape[0] > 0
    tes = 1 if terminated.shape[0] > 1 else 0
    trs = 1 if truncated.shape[0] > 1 else 0
    CH = ratio.shape[0]
    e = T
    while e > 0:
        s = e - CH if e > CH else 0
        # row i: the ratio of step s + 1 + i, for the steps t + 1 < T
        if CH > 1:
            _exp_rows(log_rhos, s + 1, e + 1 if e < T else T, ratio, 0)
        elif e < T:
            _exp_row(log_rhos, e, ratio[0])
        for t_ in range(e - 1, s - 1, -1):
            t = row_index(t_)  # t; to numba an opaque value (fastpg/_numba/_rows.py)
            j = t - s
            for b in range(B):
                y = 1.0 * rewards[t, b]
                te = has_te and terminated[t * tes, b] != 0
                if not te:
                    boot = 1.0 * next_values[t, b]
                    if t + 1 < T and not (has_tr and truncated[t * trs, b] != 0):
                        # the trace into step t + 1, of the action taken there
                        c = lam[(t + 1) * ls, b] * min(c_clip, ratio[j, b])
                        if c != 0:
                            boot += c * (1.0 * out[t + 1, b] - 1.0 * q_values[t + 1, b])
                    y += gamma[t * gs, b] * boot
                out[t, b] = y
        e = s
    return -1


# ---- the Cython backend's registry kernels: the *_c functions without the GIL
# (numba's are jitted wrappers of the same *_c bodies, fastpg._numba.offpolicy)

#: ratios computed per block of steps: RATIO_BLOCK // B steps (at least 1)
RATIO_BLOCK = 256


def ratio_steps(B):
    """Steps per block of ratios for a batch of B: blocks of about
    RATIO_BLOCK ratios, so that a narrow batch (a flat stream is B = 1)
    computes them as vector loops and pays the block's overhead rarely."""
    return max(1, RATIO_BLOCK // max(1, B))


def vtrace(rewards, values, next_values, log_rhos, gamma, lam, rho_clip, c_clip, pg_rho_clip,
           terminated, truncated, vs_out, pg_out):
    B = rewards.shape[1]
    acc = np.empty((1 + ratio_steps(B), max(1, B)))
    with cython.nogil:
        vtrace_c(rewards, values, next_values, log_rhos, gamma, lam, rho_clip, c_clip,
                 pg_rho_clip, terminated, truncated, vs_out, pg_out, acc)
    return vs_out.base, pg_out.base


def retrace(rewards, q_values, next_values, log_rhos, gamma, lam, c_clip, terminated, truncated,
            out):
    B = rewards.shape[1]
    ratio = np.empty((ratio_steps(B), max(1, B)))
    with cython.nogil:
        retrace_c(rewards, q_values, next_values, log_rhos, gamma, lam, c_clip, terminated,
                  truncated, out, ratio)
    return out.base
