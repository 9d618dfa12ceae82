r"""Softmax policy kernels: probabilities, log-probabilities, their gradients,
the linear and action-feature (compatible) policies, sampling, entropy and the
policy-gradient loss.

Conventions (docs/design.md, "policy"):

* Logits are ``(..., A)``: the last axis (or ``axis=``) indexes actions, the
  leading axes are a batch of rows. ``actions`` has the batch shape.
* Numerically stable for any finite logits: everything is computed after
  subtracting the row maximum (logits 1000 and 1 give log-probabilities 0
  and -999).
* ``-inf`` logits are masked actions: probability 0, log-probability
  ``-inf``, zero gradient, never sampled. A row with no finite logit, a NaN
  or a ``+inf`` logit, or whose chosen action is masked, raises
  ``ValueError`` naming the row.
* float32 in, float32 out; float64 in, float64 out; integer inputs are cast
  to float64. The compiled backends compute each row in float64 and
  accumulate sums in float64.
* The compiled backends stream over the rows once with O(A + d) scratch: no
  ``(N, A)`` temporaries (``linear_policy_grad`` and
  ``action_feature_grad`` are the REINFORCE / actor-critic hot loops).
"""
from __future__ import annotations

import math

import numpy as np

from . import _backend
from . import _checks as C
from ._interop import tensors_follow

__all__ = ["softmax", "log_softmax", "softmax_jacobian", "softmax_jvp", "log_prob_grad",
           "linear_policy_probs", "linear_policy_grad", "compatible_features",
           "action_feature_grad", "sample_categorical", "entropy", "policy_gradient_loss"]


def _kernel(name, backend, size=0, width=0):
    return _backend.kernel("policy", name, backend, size, width)


def _rows(x, name, axis=-1, dtype=None):
    """(..., A) -> C-contiguous float (N, A) with actions last; and the batch shape."""
    if (type(x) is np.ndarray and 1 <= x.ndim <= 2 and axis == -1 and dtype is None
            and x.dtype.kind == "f" and x.dtype.itemsize in (4, 8) and x.shape[-1] > 0
            and x.flags.c_contiguous and x.dtype.isnative):
        # the common cases, without the general path's overhead (agents call
        # this once per environment step)
        if x.ndim == 2:
            return x, x.shape[:1], 1
        return x.reshape(1, x.shape[0]), (), 0
    arr = C.real_array(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least 1 dimension (actions); got a scalar")
    ax = C.axis_index(axis, arr.ndim, of=name)
    if ax != arr.ndim - 1:
        arr = np.moveaxis(arr, ax, -1)
    A = arr.shape[-1]
    if A == 0:
        raise ValueError(f"{name} must have at least one action (its action axis has length 0)")
    dt = dtype if dtype is not None else C.float_dtype(arr)
    batch = arr.shape[:-1]
    return np.ascontiguousarray(arr, dtype=dt).reshape(math.prod(batch), A), batch, ax


def _raise_bad(i, z, batch, name="logits", actions=None):
    """Say what is wrong with row i of z (N, A) (the kernels only report the row)."""
    row = z[i]
    at = "[" + ", ".join(map(str, np.unravel_index(i, batch))) + "]" if batch else ""
    if np.isnan(row).any():
        raise ValueError(f"{name}{at} contains NaN")
    if (row == np.inf).any():
        raise ValueError(f"{name}{at} contains +inf (use -inf to mask an action)")
    if not (row > -np.inf).any():
        raise ValueError(f"{name}{at} has no finite logit: every action is masked (-inf)")
    if actions is not None and row[actions[i]] == -np.inf:
        raise ValueError(f"actions{at} = {actions[i]} selects a masked action (logit -inf)")
    raise ValueError(f"{name}{at} is invalid")


def _raise_overflow(i, what, rows, params):
    """Row i's logits were not finite: name the input that is not (rows = (name,
    (N, ...) array, caller's ndim); params = (name, array)), else an overflow.
    Checked after the kernel, not before it: a non-finite input always makes
    its row's logits non-finite (inf * 0 is NaN), so the kernel finds it free."""
    pname, parr = params
    if not np.isfinite(parr).all():
        C.all_finite(parr, pname)
    rname, rarr, rndim = rows
    row = rarr[i]
    if not np.isfinite(row).all():
        k = np.unravel_index(int(np.flatnonzero(~np.isfinite(row.ravel()))[0]), row.shape)
        idx = ((i,) if rndim == row.ndim + 1 else ()) + tuple(int(j) for j in k)
        raise ValueError(f"{rname} must be finite; {rname}[{', '.join(map(str, idx))}] = "
                         f"{row[k].item()!r}")
    raise ValueError(f"the logits {what} of row {i} are not finite (overflow); "
                     "scale the inputs or parameters down")


def _out(out, name, shape, dtype, inputs):
    """(the array the kernel writes, the caller's out to copy it into or None)."""
    if out is None:
        return np.empty(shape, dtype=dtype), None
    C.out_array(out, name, shape, dtype)
    if out.flags.c_contiguous and not any(np.may_share_memory(out, a) for a in inputs):
        return out, None
    return np.empty(shape, dtype=dtype), out


def _done(res, dest, shape):
    res = res.reshape(shape)
    if dest is None:
        return res
    dest[...] = res
    return dest


def _softmax_like(name, logits, axis, out, backend):
    z, batch, ax = _rows(logits, "logits", axis)
    moved = batch + (z.shape[1],)
    view = None
    if out is not None:
        shape = list(moved)
        shape.insert(ax, shape.pop())  # the logits' own shape
        C.out_array(out, "out", tuple(shape), z.dtype)
        view = np.moveaxis(out, ax, -1)
    res, dest = _out(view, "out", moved, z.dtype, [z])
    bad = _kernel(name, backend)(z, res.reshape(z.shape))
    if bad >= 0:
        _raise_bad(bad, z, batch)
    if view is not None:
        _done(res, dest, moved)
        return out
    return np.moveaxis(res.reshape(moved), -1, ax)


@tensors_follow
def softmax(logits, axis=-1, *, out=None, backend=None):
    r"""Probabilities :math:`p_a = e^{z_a - m} / \sum_b e^{z_b - m}`, :math:`m = \max_b z_b`.

    ``logits``: ``(..., A)`` with actions along ``axis``; ``-inf`` masks an
    action (probability 0). Returns an array of the logits' shape.
    """
    return _softmax_like("softmax", logits, axis, out, backend)


@tensors_follow
def log_softmax(logits, axis=-1, *, out=None, backend=None):
    r"""Log-probabilities :math:`\log p_a = (z_a - m) - \log \sum_b e^{z_b - m}`.

    Finite for every finite logit (1000 and 1 give 0 and -999); ``-inf`` for
    masked actions.
    """
    return _softmax_like("log_softmax", logits, axis, out, backend)


@tensors_follow
def entropy(logits, axis=-1, *, out=None, backend=None):
    r""":math:`H = -\sum_a p_a \log p_a` per row (masked actions contribute 0).

    Returns the logits' shape without ``axis``.
    """
    z, batch, _ = _rows(logits, "logits", axis)
    res, dest = _out(out, "out", batch, z.dtype, [z])
    bad = _kernel("entropy", backend)(z, res.reshape(-1))
    if bad >= 0:
        _raise_bad(bad, z, batch)
    return _done(res, dest, batch)


def _probs(probs, name="probs", dtype=None):
    p, batch, _ = _rows(probs, name, -1, dtype)
    C.all_finite(p, name)
    if p.size and p.min() < 0:
        raise ValueError(f"{name} must be non-negative (probabilities); got {p.min()!r}")
    return p, batch


@tensors_follow
def softmax_jacobian(probs, *, out=None, backend=None):
    r"""Jacobian of the softmax, :math:`J = \mathrm{diag}(p) - p p^\top` per row.

    ``probs`` ``(..., A)`` -> ``(..., A, A)`` with
    :math:`J_{ab} = \partial p_a / \partial z_b = p_a(\delta_{ab} - p_b)`.
    Builds A x A per row: for large action sets use :func:`softmax_jvp`.
    """
    p, batch = _probs(probs)
    A = p.shape[1]
    res, dest = _out(out, "out", batch + (A, A), p.dtype, [p])
    _kernel("softmax_jacobian", backend)(p, res.reshape(-1, A, A))
    return _done(res, dest, batch + (A, A))


@tensors_follow
def softmax_jvp(probs, v, *, out=None, backend=None):
    r"""The softmax Jacobian applied to ``v`` without building it:
    :math:`J v = p \odot (v - \langle p, v \rangle)` per row (J is symmetric,
    so this is also the vector-Jacobian product)."""
    pa = C.real_array(probs, "probs")
    va = C.real_array(v, "v")
    dt = C.float_dtype(pa, va)
    p, batch = _probs(pa, dtype=dt)
    C.same_shape(va, "v", pa.shape, "probs")
    vv = np.ascontiguousarray(va, dtype=dt).reshape(p.shape)
    res, dest = _out(out, "out", pa.shape, dt, [p, vv])
    _kernel("softmax_jvp", backend)(p, vv, res.reshape(p.shape))
    return _done(res, dest, pa.shape)


@tensors_follow
def log_prob_grad(logits, actions, *, out=None, backend=None):
    r""":math:`\nabla_z \log \pi(a \mid z) = \mathrm{onehot}(a) - \mathrm{softmax}(z)` per row.

    ``logits`` ``(..., A)``, ``actions`` integers of the batch shape ``(...)``
    in ``[0, A)``. Masked actions get a zero gradient; choosing one raises.
    """
    z, batch, _ = _rows(logits, "logits")
    a = C.index_array(np.reshape(actions, -1) if np.ndim(actions) == len(batch) and
                      np.shape(actions) == batch else actions, "actions", z.shape[0],
                      z.shape[1], "the number of actions A")
    res, dest = _out(out, "out", batch + (z.shape[1],), z.dtype, [z])
    bad = _kernel("log_prob_grad", backend)(z, a, res.reshape(z.shape))
    if bad >= 0:
        _raise_bad(bad, z, batch, actions=a)
    return _done(res, dest, batch + (z.shape[1],))


def _linear_inputs(X, W):
    Xa = C.real_array(X, "X")
    Wa = C.real_array(W, "W")
    C.ndim_is(Xa, "X", (1, 2), "(N, d) features (or (d,) for one row)")
    C.ndim_is(Wa, "W", (2,), "a (d, A) weight matrix")
    d = Xa.shape[-1]
    if Wa.shape[0] != d:
        raise ValueError(f"W must have shape (d, A) with d = {d} (X's feature count); "
                         f"got {Wa.shape}")
    if Wa.shape[1] == 0:
        raise ValueError("W must have at least one action column (A >= 1)")
    dt = C.float_dtype(Xa, Wa)
    Xc = np.ascontiguousarray(Xa, dtype=dt).reshape(math.prod(Xa.shape[:-1]), d)
    Wc = np.ascontiguousarray(Wa, dtype=dt)
    return Xa, Xc, Wc, dt


@tensors_follow
def linear_policy_probs(X, W, *, out=None, backend=None):
    r"""The linear softmax policy :math:`\pi(\cdot \mid x_i) = \mathrm{softmax}(x_i^\top W)`.

    ``X`` ``(N, d)`` (or ``(d,)``), ``W`` ``(d, A)`` -> ``(N, A)`` (or ``(A,)``).
    Add a constant-1 feature to X for a bias.
    """
    Xa, Xc, Wc, dt = _linear_inputs(X, W)
    shape = Xa.shape[:-1] + (Wc.shape[1],)
    res, dest = _out(out, "out", shape, dt, [Xc, Wc])
    bad = _kernel("linear_policy_probs", backend)(Xc, Wc, res.reshape(Xc.shape[0], Wc.shape[1]))
    if bad != -1:
        _raise_overflow(bad, "x_i W", ("X", Xc, Xa.ndim), ("W", Wc))
    return _done(res, dest, shape)


def _weights(weights, N, dt, name="weights"):
    w = C.per_item_array(weights, name, N, dt, per="row")
    C.all_finite(w, name)
    return w


@tensors_follow
def linear_policy_grad(X, actions, weights, W, *, out=None, backend=None):
    r"""The REINFORCE gradient of a linear softmax policy, fused:

    .. math:: G = \sum_i w_i\, x_i \otimes (\mathrm{onehot}(a_i) - \mathrm{softmax}(x_i^\top W))

    i.e. :math:`\nabla_W \sum_i w_i \log \pi(a_i \mid x_i)`, shape ``(d, A)``.
    ``X`` ``(N, d)``, ``actions`` ``(N,)`` in ``[0, A)``, ``weights`` ``(N,)``
    or a scalar (returns, advantages), ``W`` ``(d, A)``. An empty batch
    (N = 0) gives zeros. The compiled backends build no (N, A) temporary.
    """
    Xa, Xc, Wc, dt = _linear_inputs(X, W)
    N, d = Xc.shape
    A = Wc.shape[1]
    a = C.index_array(np.reshape(actions, -1) if Xa.ndim == 1 else actions, "actions", N, A,
                      "W.shape[1]")
    w = _weights(weights, N, dt)
    res, dest = _out(out, "out", (d, A), dt, [Xc, Wc, w])
    bad = _kernel("linear_policy_grad", backend, N * d * A, d * A)(Xc, a, w, Wc, res)
    if bad != -1:
        _raise_overflow(bad, "x_i W", ("X", Xc, Xa.ndim), ("W", Wc))
    return _done(res, dest, (d, A))


def _feature_inputs(phi, theta):
    pa = C.real_array(phi, "phi")
    ta = C.real_array(theta, "theta")
    C.ndim_is(pa, "phi", (2, 3), "(N, A, d) action features (or (A, d) for one state)")
    C.ndim_is(ta, "theta", (1,), "a (d,) parameter vector")
    A, d = pa.shape[-2:]
    if ta.shape[0] != d:
        raise ValueError(f"theta must have shape ({d},) (phi's feature count); got {ta.shape}")
    if A == 0:
        raise ValueError("phi must have at least one action (A >= 1)")
    dt = C.float_dtype(pa, ta)
    pc = np.ascontiguousarray(pa, dtype=dt).reshape(math.prod(pa.shape[:-2]), A, d)
    tc = np.ascontiguousarray(ta, dtype=dt)
    return pa, pc, tc, dt


@tensors_follow
def compatible_features(phi, theta, *, out=None, backend=None):
    r"""Compatible features of Sutton et al. (2000) for
    :math:`\pi(a \mid s) \propto \exp(\theta^\top \phi_{sa})`:

    .. math:: \psi_{sa} = \phi_{sa} - \sum_b \pi(b \mid s)\, \phi_{sb} = \nabla_\theta \log \pi(a \mid s)

    ``phi`` ``(N, A, d)`` (or ``(A, d)``), ``theta`` ``(d,)`` -> phi's shape.
    The compatible critic is :math:`f_w(s, a) = w^\top \psi_{sa}`.
    """
    pa, pc, tc, dt = _feature_inputs(phi, theta)
    res, dest = _out(out, "out", pa.shape, dt, [pc, tc])
    bad = _kernel("compatible_features", backend)(pc, tc, res.reshape(pc.shape))
    if bad != -1:
        _raise_overflow(bad, "θᵀφ", ("phi", pc, pa.ndim), ("theta", tc))
    return _done(res, dest, pa.shape)


@tensors_follow
def action_feature_grad(phi, actions, weights, theta, *, out=None, backend=None):
    r""":math:`\sum_i w_i\, \psi_{s_i a_i}`, shape ``(d,)``: the policy gradient of
    :math:`\sum_i w_i \log \pi(a_i \mid s_i)` for the action-feature policy
    (with :math:`w_i = f_w(s_i, a_i)` it is the actor step of the compatible
    actor-critic). An empty batch gives zeros.
    """
    pa, pc, tc, dt = _feature_inputs(phi, theta)
    N, A, d = pc.shape
    a = C.index_array(np.reshape(actions, -1) if pa.ndim == 2 else actions, "actions", N, A,
                      "phi.shape[-2]")
    w = _weights(weights, N, dt)
    res, dest = _out(out, "out", (d,), dt, [pc, tc, w])
    bad = _kernel("action_feature_grad", backend)(pc, a, w, tc, res)
    if bad != -1:
        _raise_overflow(bad, "θᵀφ", ("phi", pc, pa.ndim), ("theta", tc))
    return _done(res, dest, (d,))


@tensors_follow
def sample_categorical(logits, rng=None, *, out=None, backend=None):
    r"""One action per row from :math:`\mathrm{softmax}(z)`, by inverse CDF.

    ``rng``: a ``numpy.random.Generator`` or a seed. The public function draws
    ``u = rng.random(N)`` (float64, one per row, in row order) and every
    backend returns the smallest ``a`` with :math:`\sum_{b \le a} e^{z_b - m} > u \sum_b e^{z_b - m}`
    (exponentials in float64), so the same seed gives the same actions on
    numpy, numba and cython. Masked actions are never drawn. Returns int64 of
    the batch shape.
    """
    z, batch, _ = _rows(logits, "logits")
    gen = C.generator(rng)
    u = gen.random(z.shape[0])
    res, dest = _out(out, "out", batch, np.dtype(np.int64), [z])
    bad = _kernel("sample_categorical", backend, width=z.size)(z, u, res.reshape(-1))
    if bad >= 0:
        _raise_bad(bad, z, batch)
    return _done(res, dest, batch)


@tensors_follow
def policy_gradient_loss(logits, actions, advantages, weights=None, *, out=None, backend=None):
    r"""The policy-gradient surrogate loss and its gradient, in one pass:

    .. math::
        L = \frac{1}{N} \sum_i -w_i \log \pi(a_i \mid z_i)\, A_i, \qquad
        \frac{\partial L}{\partial z_i} = -\frac{w_i A_i}{N}\,(\mathrm{onehot}(a_i) - \mathrm{softmax}(z_i))

    ``logits`` ``(N, A)`` (or ``(..., A)``), ``actions`` and ``advantages`` of
    the batch shape; ``weights`` (optional, a scalar or of the batch shape,
    default 1) are per-sample weights such as the importance weights of a
    prioritized replay batch. Returns ``(loss, dlogits)`` with ``loss`` a
    Python float; ``out=`` takes the dlogits array. An empty batch gives
    ``(0.0, empty)``.
    """
    la = C.real_array(logits, "logits")
    adv_a = C.real_array(advantages, "advantages")
    w_a = None if weights is None else C.real_array(weights, "weights")
    z, batch, _ = _rows(la, "logits", -1,
                        C.float_dtype(la, adv_a, *(() if w_a is None else (w_a,))))
    N = z.shape[0]
    a = C.index_array(np.reshape(actions, -1) if np.shape(actions) == batch else actions,
                      "actions", N, z.shape[1], "the number of actions A")
    adv = _weights(np.reshape(adv_a, -1) if adv_a.shape == batch else adv_a, N, z.dtype,
                   "advantages")
    if w_a is not None:  # w * A: an (N,) product, never written into the caller's arrays
        adv = adv * _weights(np.reshape(w_a, -1) if w_a.shape == batch else w_a, N, z.dtype)
    res, dest = _out(out, "out", batch + (z.shape[1],), z.dtype, [z, adv])
    loss = np.zeros(1, dtype=z.dtype)
    bad = _kernel("policy_gradient_loss", backend)(z, a, adv, res.reshape(z.shape), loss)
    if bad >= 0:
        _raise_bad(bad, z, batch, actions=a)
    return float(loss[0]), _done(res, dest, batch + (z.shape[1],))
