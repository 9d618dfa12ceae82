# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""The linear softmax policies' kernels, one source for both compilers:
logits xᵀW of state features (``linear_policy_probs``,
``linear_policy_grad``) and θᵀφ_sa of action features
(``compatible_features``, ``action_feature_grad``). Part of the policy
family (fastpg/_kernels/policy.py holds the registry wrappers; semantics:
fastpg.reference.policy). Cython compiles it as ``fastpg._cy.policy_linear``
(typed by src_cython/policy_linear.pxd, whose ``*_c`` functions
``fastpg._cy.policy`` cimports and re-exports).

The scratch comes from the caller (float64 unless stated), so a kernel
neither allocates nor fails for want of memory. ``linear_policy_grad_c``
splits the rows into ``acc.shape[0]`` chunks, one accumulator each, added
in a fixed order afterwards (the result does not depend on thread timing);
more than one chunk run under ``prange``: OpenMP threads in Cython, numba's
``parallel=True`` jit of the same body.
"""
import cython
from cython.parallel import prange  # numba: numba.prange (fastpg._numba.policy)

if not cython.compiled:  # compiled, these are C names cimported by policy_linear.pxd
    from ._py import INF, exp, expf, fpg_exp, int64_t


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _exp_like(x: cython.double, like: cython.const[cython.floating][::1]) -> cython.double:
    """exp(x), in single precision (expf, about twice as fast) for float32
    inputs: ample for a probability that is rounded to float32 anyway.
    numba's jit uses its own twin (double exp): it cannot compile this test."""
    if cython.floating is cython.float:
        return expf(x)
    return exp(x)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(a=cython.Py_ssize_t, k=cython.Py_ssize_t, am=cython.Py_ssize_t,
               s=cython.double, xk=cython.double, m=cython.double)
def _linear_logits(X: cython.const[cython.floating][:, ::1],
                   W: cython.const[cython.floating][:, ::1], i: cython.Py_ssize_t,
                   z: cython.double[::1]) -> cython.Py_ssize_t:
    """z <- x_iᵀ W; returns the arg-max, or -1 if a logit is not finite."""
    d = X.shape[1]
    A = W.shape[1]
    if A >= 8:
        # many actions: the action index innermost (contiguous rows of W),
        # a loop both compilers vectorise over A
        for a in range(A):
            z[a] = 0.0
        for k in range(d):
            xk = 1.0 * X[i, k]
            for a in range(A):
                z[a] += xk * W[k, a]
    else:
        # few actions: one register accumulator per action (short loops over
        # A do not vectorise, and z[a] += would go through memory)
        for a in range(A):
            s = 0.0
            for k in range(d):
                s += (1.0 * X[i, k]) * W[k, a]
            z[a] = s
    m = -INF
    am = 0
    for a in range(A):
        s = z[a]
        if s - s != 0:  # NaN or +-inf
            return -1
        if s > m:
            m = s
            am = a
    return am


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(a=cython.Py_ssize_t, k=cython.Py_ssize_t, s=cython.double, m=cython.double,
               tot=cython.double)
def _feature_probs(phi: cython.const[cython.floating][:, :, ::1],
                   theta: cython.const[cython.floating][::1], i: cython.Py_ssize_t,
                   p: cython.double[::1]) -> cython.bint:
    """p <- softmax(θᵀ φ_i·); False if the row's logits are not all finite."""
    A = phi.shape[1]
    d = phi.shape[2]
    if A == 0:
        return False
    m = -INF
    for a in range(A):
        s = 0.0
        for k in range(d):
            s += (1.0 * phi[i, a, k]) * theta[k]
        if s - s != 0:
            return False
        p[a] = s
        if s > m:
            m = s
    tot = 0.0
    for a in range(A):
        p[a] = exp(p[a] - m)
        tot += p[a]
    for a in range(A):
        p[a] /= tot
    return True


def linear_policy_probs_c(X, W, out, z):
    """out_i = softmax(x_iᵀ W); z: (A,) float64 scratch."""
    for i in range(X.shape[0]):
        am = _linear_logits(X, W, i, z)
        if am < 0:
            return i
        m = z[am]
        tot = 0.0
        for a in range(W.shape[1]):
            z[a] = exp(z[a] - m)
            tot += z[a]
        for a in range(W.shape[1]):
            out[i, a] = z[a] / tot
    return -1


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(e=cython.double, p1=cython.double, y=cython.double)
def _g2(s0: cython.double, s1: cython.double, a: int64_t, w: cython.double) -> cython.double:
    """w (1[a = 1] - π_1), π_1 = σ(s1 - s0), without a branch: which logit is
    larger and which action was taken are as often one as the other."""
    # e = exp(-|s1 - s0|) <= 1 (no overflow); π_1 = 1 / (1 + e) when s1 is
    # the larger logit, else e / (1 + e)
    e = fpg_exp(s0 - s1 if s1 >= s0 else s1 - s0)
    p1 = (1.0 if s1 >= s0 else e) / (1.0 + e)
    y = 1.0 if a != 0 else 0.0
    return w * (y - p1)


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t, j=cython.Py_ssize_t, k=cython.Py_ssize_t,
               n=cython.Py_ssize_t, blk=cython.Py_ssize_t, s0=cython.double, s1=cython.double,
               xk=cython.double, g1=cython.double)
def _lpg_rows2(X: cython.const[cython.floating][:, ::1], actions: cython.const[int64_t][::1],
               weights: cython.const[cython.floating][::1],
               W: cython.const[cython.floating][:, ::1], i0: cython.Py_ssize_t,
               i1: cython.Py_ssize_t, acc: cython.double[:, ::1],
               z: cython.double[::1]) -> cython.Py_ssize_t:
    """_lpg_rows for two actions (the common case, e.g. CartPole), in blocks
    of z.shape[0] // 3 rows.

    The row's term is g_i x_i ⊗ (-1, 1) (_g2), so only v = Σ_i g_i x_i is
    accumulated and the action-0 column is -v (the same bits as adding
    -g_i x_i). A block writes both logits of each row to z, then each row's
    g (one fastpg exp each: a loop both compilers vectorise), then adds its
    rows to v in order. Rows are independent until that last loop; a row at
    a time, each exp waited on the previous row's update. A scratch row
    shorter than 3 (a caller's (C, 2) z) takes the rows one at a time.
    """
    d = X.shape[1]
    blk = z.shape[0] // 3
    i = i0
    while i < i1:
        n = min(blk, i1 - i) if blk > 0 else 1
        for j in range(n):
            s0 = 0.0
            s1 = 0.0
            for k in range(d):
                xk = 1.0 * X[i + j, k]
                s0 += xk * W[k, 0]
                s1 += xk * W[k, 1]
            if s0 - s0 != 0 or s1 - s1 != 0:
                return i + j
            if blk == 0:
                g1 = _g2(s0, s1, actions[i], 1.0 * weights[i])
                for k in range(d):
                    acc[k, 1] += (1.0 * X[i, k]) * g1
            else:
                z[j] = s0
                z[blk + j] = s1
        if blk > 0:
            for j in range(n):
                z[2 * blk + j] = _g2(z[j], z[blk + j], actions[i + j], 1.0 * weights[i + j])
            for j in range(n):
                g1 = z[2 * blk + j]
                for k in range(d):
                    acc[k, 1] += (1.0 * X[i + j, k]) * g1
        i += n
    for k in range(d):
        acc[k, 0] = -acc[k, 1]
    return -1


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t, a=cython.Py_ssize_t, k=cython.Py_ssize_t,
               am=cython.Py_ssize_t, m=cython.double, tot=cython.double, w=cython.double,
               scale=cython.double, xk=cython.double)
def _lpg_rows(X: cython.const[cython.floating][:, ::1], actions: cython.const[int64_t][::1],
              weights: cython.const[cython.floating][::1],
              W: cython.const[cython.floating][:, ::1], i0: cython.Py_ssize_t,
              i1: cython.Py_ssize_t, acc: cython.double[:, ::1],
              z: cython.double[::1]) -> cython.Py_ssize_t:
    """acc (d, A) <- Σ_{i in [i0, i1)} w_i x_i ⊗ (e_{a_i} - π_i); -1 or a bad row."""
    A = W.shape[1]
    for k in range(X.shape[1]):
        for a in range(A):
            acc[k, a] = 0.0
    if A == 2:
        return _lpg_rows2(X, actions, weights, W, i0, i1, acc, z)
    for i in range(i0, i1):
        am = _linear_logits(X, W, i, z)
        if am < 0:
            return i
        m = z[am]
        tot = 1.0
        for a in range(A):
            if a != am:  # exp(0) = 1 for the arg-max: one exp fewer per row
                z[a] = _exp_like(z[a] - m, weights)
                tot += z[a]
        z[am] = 1.0
        w = 1.0 * weights[i]
        scale = -w / tot
        for a in range(A):
            z[a] = z[a] * scale  # -w π_a
        z[actions[i]] += w
        for k in range(X.shape[1]):
            xk = 1.0 * X[i, k]
            for a in range(A):
                acc[k, a] += xk * z[a]
    return -1


def linear_policy_grad_c(X, actions, weights, W, out, acc, z, bads):
    """out = Σ_i w_i x_i ⊗ (e_{a_i} - softmax(x_iᵀ W)), (d, A).

    Scratch, float64 but ``bads`` int64: acc (C, d, A), z (C, A) or, for
    two actions, (C, 3 m) to take the rows in blocks of m (LPG_BLOCK rows:
    fastpg._tuning), bads (C,) for C row chunks; C > 1 runs the chunks in
    parallel. ``out`` is written only when every row is valid.
    """
    N = X.shape[0]
    nchunk = acc.shape[0]
    if nchunk == 1:
        bads[0] = _lpg_rows(X, actions, weights, W, 0, N, acc[0], z[0])
    else:
        for c in prange(nchunk):
            bads[c] = _lpg_rows(X, actions, weights, W, c * N // nchunk, (c + 1) * N // nchunk,
                                acc[c], z[c])
    for c in range(nchunk):
        if bads[c] >= 0:
            return bads[c]
    for k in range(X.shape[1]):
        for a in range(W.shape[1]):
            s = 0.0
            for c in range(nchunk):
                s += acc[c, k, a]
            out[k, a] = s
    return -1


def compatible_features_c(phi, theta, out, p, mean):
    """out_ia = φ_ia - Σ_b π_ib φ_ib, π_i = softmax(θᵀ φ_i); p (A,), mean (d,) scratch."""
    for i in range(phi.shape[0]):
        if not _feature_probs(phi, theta, i, p):
            return i
        for k in range(phi.shape[2]):
            mean[k] = 0.0
        for a in range(phi.shape[1]):
            for k in range(phi.shape[2]):
                mean[k] += p[a] * phi[i, a, k]
        for a in range(phi.shape[1]):
            for k in range(phi.shape[2]):
                out[i, a, k] = phi[i, a, k] - mean[k]
    return -1


def action_feature_grad_c(phi, actions, weights, theta, out, p, acc):
    """out = Σ_i w_i (φ_{i a_i} - Σ_b π_ib φ_ib); p (A,), acc (d,) scratch."""
    for k in range(phi.shape[2]):
        acc[k] = 0.0
    for i in range(phi.shape[0]):
        if not _feature_probs(phi, theta, i, p):
            return i
        w = 1.0 * weights[i]
        ai = actions[i]
        for k in range(phi.shape[2]):
            mk = 0.0
            for a in range(phi.shape[1]):
                mk += p[a] * phi[i, a, k]
            acc[k] += w * (phi[i, ai, k] - mk)
    for k in range(phi.shape[2]):
        out[k] = acc[k]
    return -1
