# The linear softmax policies' kernels (cimport API): logits x^T W of state
# features (linear_policy_probs, linear_policy_grad) and theta^T phi_sa of
# action features (compatible_features, action_feature_grad). Included by
# policy.pyx, after the softmax helpers they use.


cdef inline bint _finite(double x) noexcept nogil:
    return x - x == 0  # false for NaN and +-inf


cdef inline Py_ssize_t _linear_logits(const floating[:, ::1] X, const floating[:, ::1] W,
                                      Py_ssize_t i, double* z, double* m) noexcept nogil:
    """z <- x_iᵀ W, m <- max z; returns the arg-max, or -1 if a logit is not finite."""
    cdef Py_ssize_t d = X.shape[1], A = W.shape[1], a, k, am = 0
    cdef double s, xk
    if A >= 8:
        # many actions: the action index innermost, contiguous rows of W,
        # a loop the compiler vectorises over A
        for a in range(A):
            z[a] = 0
        for k in range(d):
            xk = X[i, k]
            for a in range(A):
                z[a] += xk * W[k, a]
    else:
        # few actions: one register accumulator per action (short loops
        # over A do not vectorise, and z[a] += would go through memory)
        for a in range(A):
            s = 0
            for k in range(d):
                s += <double>X[i, k] * W[k, a]
            z[a] = s
    m[0] = -INFINITY
    for a in range(A):
        s = z[a]
        if not _finite(s):
            return -1
        if s > m[0]:
            m[0] = s
            am = a
    return am


cdef Py_ssize_t linear_policy_probs_c(const floating[:, ::1] X, const floating[:, ::1] W,
                                      floating[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = X.shape[0], d = X.shape[1], A = W.shape[1], i, a, k
    cdef double m, s, tot
    cdef double* z = <double*>malloc((A + 1) * sizeof(double))
    if z == NULL:
        return -2
    for i in range(N):
        if _linear_logits(X, W, i, z, &m) < 0:
            free(z)
            return i
        tot = 0
        for a in range(A):
            z[a] = exp(z[a] - m)
            tot += z[a]
        for a in range(A):
            out[i, a] = z[a] / tot
    free(z)
    return -1


cdef Py_ssize_t _lpg_rows2(const floating[:, ::1] X, const int64_t[::1] actions,
                           const floating[::1] weights, const floating[:, ::1] W,
                           Py_ssize_t i0, Py_ssize_t i1, double* acc) noexcept nogil:
    """_lpg_rows for two actions (the common case, e.g. CartPole): both logits
    in one loop over the features, π_1 = 1 / (1 + exp(z_0 - z_1)) (one exp),
    and the rank-one update in one loop; loops of length A = 2 cost more in
    control than in arithmetic."""
    cdef Py_ssize_t d = X.shape[1], i, k
    cdef double s0, s1, xk, p1, w, g0, g1
    for i in range(i0, i1):
        s0 = 0
        s1 = 0
        for k in range(d):
            xk = X[i, k]
            s0 += xk * W[k, 0]
            s1 += xk * W[k, 1]
        if not (_finite(s0) and _finite(s1)):
            return i
        # π_1 = σ(z_1 - z_0), written so that the exponent is <= 0 (no overflow)
        if s1 >= s0:
            p1 = 1 / (1 + exp(s0 - s1))
        else:
            p1 = exp(s1 - s0)
            p1 = p1 / (1 + p1)
        w = weights[i]
        # w (e_a - π) with π = (1 - π_1, π_1)
        if actions[i] == 0:
            g0 = w * p1
            g1 = -w * p1
        else:
            g0 = -w * (1 - p1)
            g1 = w * (1 - p1)
        for k in range(d):
            xk = X[i, k]
            acc[2 * k] += xk * g0
            acc[2 * k + 1] += xk * g1
    return -1


cdef Py_ssize_t _lpg_rows(const floating[:, ::1] X, const int64_t[::1] actions,
                          const floating[::1] weights, const floating[:, ::1] W,
                          Py_ssize_t i0, Py_ssize_t i1, double* acc, double* z) noexcept nogil:
    """acc (d*A) += Σ_{i in [i0, i1)} w_i x_i ⊗ (e_{a_i} - π_i); -1 or a bad row."""
    cdef Py_ssize_t d = X.shape[1], A = W.shape[1], i, a, k, am
    cdef double m, s, tot, w, scale, xk
    if A == 2:
        return _lpg_rows2(X, actions, weights, W, i0, i1, acc)
    for i in range(i0, i1):
        am = _linear_logits(X, W, i, z, &m)
        if am < 0:
            return i
        tot = 0
        for a in range(A):
            if a != am:  # exp(0) = 1 for the arg-max: one exp fewer per row
                if floating is float:  # float32 inputs: expf is ~2x cheaper, ample precision
                    z[a] = expf(<float>(z[a] - m))
                else:
                    z[a] = exp(z[a] - m)
                tot += z[a]
        z[am] = 1
        tot += 1
        w = weights[i]
        scale = -w / tot
        for a in range(A):
            z[a] = z[a] * scale
        z[actions[i]] += w
        for k in range(d):
            xk = X[i, k]
            for a in range(A):
                acc[k * A + a] += xk * z[a]
    return -1


cdef Py_ssize_t linear_policy_grad_c(const floating[:, ::1] X, const int64_t[::1] actions,
                                     const floating[::1] weights, const floating[:, ::1] W,
                                     floating[:, ::1] out, bint parallel) noexcept nogil:
    cdef Py_ssize_t N = X.shape[0], d = X.shape[1], A = W.shape[1], c, k, a, bad = -1
    cdef Py_ssize_t nchunk = NCHUNK if parallel else 1
    cdef double s
    cdef double* acc = <double*>calloc(nchunk * d * A + 1, sizeof(double))
    cdef double* z = <double*>malloc((nchunk * A + 1) * sizeof(double))
    cdef Py_ssize_t* bads = <Py_ssize_t*>malloc(nchunk * sizeof(Py_ssize_t))
    if acc == NULL or z == NULL or bads == NULL:
        free(acc)
        free(z)
        free(bads)
        return -2
    if parallel:
        for c in prange(nchunk, schedule='static'):
            bads[c] = _lpg_rows(X, actions, weights, W, c * N // nchunk, (c + 1) * N // nchunk,
                                acc + c * d * A, z + c * A)
    else:
        bads[0] = _lpg_rows(X, actions, weights, W, 0, N, acc, z)
    for c in range(nchunk):
        if bads[c] >= 0:
            bad = bads[c]
            break
    if bad < 0:
        for k in range(d):
            for a in range(A):
                s = 0
                for c in range(nchunk):
                    s += acc[c * d * A + k * A + a]
                out[k, a] = s
    free(acc)
    free(z)
    free(bads)
    return bad


cdef bint _feature_probs(const floating[:, :, ::1] phi, const floating[::1] theta,
                         Py_ssize_t i, double* p) noexcept nogil:
    cdef Py_ssize_t A = phi.shape[1], d = phi.shape[2], a, k
    cdef double m = -INFINITY, s, tot = 0
    if A == 0:
        return False
    for a in range(A):
        s = 0
        for k in range(d):
            s += <double>phi[i, a, k] * theta[k]
        if not _finite(s):
            return False
        p[a] = s
        if s > m:
            m = s
    for a in range(A):
        p[a] = exp(p[a] - m)
        tot += p[a]
    for a in range(A):
        p[a] /= tot
    return True


cdef Py_ssize_t compatible_features_c(const floating[:, :, ::1] phi, const floating[::1] theta,
                                      floating[:, :, ::1] out) noexcept nogil:
    cdef Py_ssize_t N = phi.shape[0], A = phi.shape[1], d = phi.shape[2], i, a, k
    cdef double* p = <double*>malloc((A + d + 1) * sizeof(double))
    cdef double* mean
    if p == NULL:
        return -2
    mean = p + A
    for i in range(N):
        if not _feature_probs(phi, theta, i, p):
            free(p)
            return i
        for k in range(d):
            mean[k] = 0
        for a in range(A):
            for k in range(d):
                mean[k] += p[a] * phi[i, a, k]
        for a in range(A):
            for k in range(d):
                out[i, a, k] = phi[i, a, k] - mean[k]
    free(p)
    return -1


cdef Py_ssize_t action_feature_grad_c(const floating[:, :, ::1] phi, const int64_t[::1] actions,
                                      const floating[::1] weights, const floating[::1] theta,
                                      floating[::1] out) noexcept nogil:
    cdef Py_ssize_t N = phi.shape[0], A = phi.shape[1], d = phi.shape[2], i, a, k, ai
    cdef double w, mk
    cdef double* p = <double*>malloc((A + d + 1) * sizeof(double))
    cdef double* acc
    if p == NULL:
        return -2
    acc = p + A
    for k in range(d):
        acc[k] = 0
    for i in range(N):
        if not _feature_probs(phi, theta, i, p):
            free(p)
            return i
        w = weights[i]
        ai = actions[i]
        for k in range(d):
            mk = 0
            for a in range(A):
                mk += p[a] * phi[i, a, k]
            acc[k] += w * (phi[i, ai, k] - mk)
    for k in range(d):
        out[k] = acc[k]
    free(p)
    return -1
