"""Return discounting: discounted returns, GAE, TD(lambda) and n-step returns.

Conventions (all four functions):

* ``rewards`` is time-major, ``(T, *batch)``; ``axis=`` names another time
  axis. A 1-D array is one flat stream of many episodes, delimited by flags.
* Episode flags follow gymnasium. ``terminated[t]``: the MDP ended after step
  t, nothing is bootstrapped. ``truncated[t]``: the episode was cut (time
  limit) after step t; the return bootstraps from ``next_values[t]``, the
  value of the final observation. A step that is both is terminal. Flags may
  be bool, integer or float; nonzero means true (NaN is rejected).
* ``next_values[t]`` = V(s_{t+1}), the value of the observation reached after
  step t (for a truncated step, of the final observation). The last step of
  the array is treated like a truncation: it bootstraps from
  ``next_values[T-1]``.
* ``gamma`` (and ``lam``) is a number in [0, 1] or an array broadcastable to
  ``rewards`` (a per-step discount, as in rlax).
* float32 in, float32 out; float64 in, float64 out; mixed inputs follow
  ``np.result_type`` (integers compute in float64). ``out=`` receives the
  result (exact shape and dtype).
* NaN or inf in rewards or values propagate to the returns of the steps that
  depend on them, and never past an episode end (a zero discount cuts the
  dependence, so ``0 * inf`` is never formed). They are not an error: users
  mask or assert on their side, as with NumPy.
* ``backend=`` picks 'numpy', 'numba', 'cython' or 'auto' for this call.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _backend
from . import _checks as C
from ._interop import tensors_follow
from ._tuning import NARROW_WORK_FACTOR, ROW_MIN_B

__all__ = ["discounted_returns", "gae", "lambda_returns", "nstep_returns", "GAEResult"]


class GAEResult(NamedTuple):
    advantages: np.ndarray
    returns: np.ndarray


class _Prepared(NamedTuple):
    shape: tuple
    axis: int
    dtype: np.dtype
    T: int
    B: int
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


def _rewards(rewards, axis):
    """rewards as a real array with at least one dimension, and the time axis."""
    r = C.real_array(rewards, "rewards")
    if r.ndim == 0:
        raise ValueError("rewards must have at least 1 dimension (time); got a scalar")
    return r, C.axis_index(axis, r.ndim)


def _prepare(r, ax, terminated, truncated, extra=(), dtype_also=()):
    """Validate flags and the same-shape arrays in extra; convert to (T, B).

    r, ax: from _rewards. dtype_also: further arrays that take part in the
    result dtype only.
    """
    named = [C.real_array(x, n) for n, x in extra]
    for (n, _), arr in zip(extra, named):
        C.same_shape(arr, n, r.shape)
    dtype = C.float_dtype(r, *named, *dtype_also)
    T = r.shape[ax]
    B = C.batch_size(r.shape, ax)
    prep = _Prepared(r.shape, ax, dtype, T, B, C.to_tb(r, ax, dtype),
                     C.flags(terminated, "terminated", r.shape, ax),
                     C.flags(truncated, "truncated", r.shape, ax))
    return prep, [C.to_tb(a, ax, dtype) for a in named]


def _is_last_value(nv, r, ax):
    """Whether next_values is the shorthand (the batch-shaped value after the
    last step) rather than the full array; any other shape is an error."""
    if nv.shape == r.shape:
        return False
    batch_shape = tuple(s for i, s in enumerate(r.shape) if i != ax)
    if nv.shape != batch_shape:
        raise ValueError(f"next_values must have the shape of rewards {r.shape} or, for the "
                         f"value after the last step, the batch shape {batch_shape}; "
                         f"got {nv.shape}")
    return True


def _last_value_row(nv, p):
    """The shorthand as the kernels' (1, B) row. It stands for the value after
    the last step only, so a truncation before the last step (which needs the
    value of that episode's final observation) is an error."""
    if p.truncated.shape[0] and p.T > 1 and p.truncated[:-1].any():
        raise ValueError("truncated has a truncation before the last step, which needs the "
                         "value of that episode's final observation: pass next_values "
                         "with the full shape of rewards")
    return np.ascontiguousarray(nv, dtype=p.dtype).reshape(1, p.B)


def _work(p):
    """Work size for the serial/parallel choice of the scan kernels (see
    fastpg._tuning.NARROW_WORK_FACTOR)."""
    return p.T * p.B * (NARROW_WORK_FACTOR if p.B < ROW_MIN_B else 1)


def _width(p):
    """``auto``'s size for the scans (fastpg._auto.AUTO_WIDE): T * B on the
    row path, 0 for narrow arrays (the blocked path)."""
    return p.T * p.B if p.B >= ROW_MIN_B else 0


def _rows(p):
    """Whether the scans take their row path (B >= ROW_MIN_B), so that the
    backend's row-path-only variant can serve (fastpg._backend.kernel)."""
    return p.B >= ROW_MIN_B


def _coef(x, name, p):
    if x is None:
        raise TypeError(f"{name} is required (a number in [0, 1] or an array)")
    return C.coef(x, name, p.shape, p.axis, p.dtype)


def _finish(res, out, p, copy_back):
    """(T, B) kernel result -> the caller's layout (or into out)."""
    if p.axis == 0:
        shaped = res.reshape(p.shape)
    else:
        batch = tuple(s for i, s in enumerate(p.shape) if i != p.axis)
        shaped = np.moveaxis(res.reshape((p.T,) + batch), 0, p.axis)
    if out is None:
        return shaped
    if copy_back:
        out[...] = shaped
    return out


def _out(out, name, p, inputs):
    if out is not None:
        C.out_array(out, name, p.shape, p.dtype)
    return C.kernel_out(out, p.axis, p.T, p.B, p.dtype, inputs)


@tensors_follow
def discounted_returns(rewards, gamma, terminated=None, truncated=None, next_values=None,
                       *, axis=0, out=None, backend=None):
    r"""Discounted returns, exact, over a flat stream or a ``(T, *batch)`` array.

    .. math::
        G_t = r_t + \gamma_t (1 - \mathrm{term}_t) B_t, \qquad
        B_t = \begin{cases} V(s_{t+1}) = \text{next\_values}[t] &
                \text{if truncated}_t \text{ or } t = T-1 \\
              G_{t+1} & \text{otherwise} \end{cases}

    with ``next_values`` taken as 0 when not given (then truncation and the
    end of the array simply stop the sum).

    ``next_values`` is the full array (rewards' shape) or, as in :func:`gae`,
    the ``(*batch)`` value of the observation after the last step (a rollout's
    ``last_values``: a scalar for a flat stream); the shorthand cannot give
    the value of a final observation at a truncation before the last step,
    so that case raises.

    Parameters
    ----------
    rewards : array_like, shape (T, *batch)
    gamma : float in [0, 1] or array broadcastable to rewards
    terminated, truncated : array_like of rewards' shape, optional
    next_values : array_like of rewards' shape or of the batch shape, optional
    axis : int, the time axis (default 0)
    out : ndarray, optional, rewards' shape and the result dtype
    backend : 'auto', 'numpy', 'numba' or 'cython', optional

    Returns
    -------
    ndarray of rewards' shape (float32 for float32 inputs).

    Examples
    --------
    >>> discounted_returns([10.0, 0.0, -50.0], 0.8)
    array([-22., -40., -50.])
    >>> discounted_returns([1.0, 1.0, 1.0, 1.0], 0.5, terminated=[0, 1, 0, 0])
    array([1.5 , 1.  , 1.75, 1.  ])
    """
    r, ax = _rewards(rewards, axis)
    nv_arr = None if next_values is None else C.real_array(next_values, "next_values")
    if nv_arr is not None and _is_last_value(nv_arr, r, ax):
        p, _ = _prepare(r, ax, terminated, truncated, dtype_also=[nv_arr])
        nv = _last_value_row(nv_arr, p)
    else:
        p, named = _prepare(r, ax, terminated, truncated,
                            [] if nv_arr is None else [("next_values", nv_arr)])
        nv = named[0] if named else np.zeros((0, p.B), p.dtype)
    g = _coef(gamma, "gamma", p)
    res, copy_back = _out(out, "out", p, [p.rewards, nv, g])
    fn = _backend.kernel("returns", "discounted_returns", backend, _work(p), _width(p),
                         _rows(p))
    fn(p.rewards, g, p.terminated, p.truncated, nv, res)
    return _finish(res, out, p, copy_back)


@tensors_follow
def gae(rewards, values, next_values, gamma, lam, terminated=None, truncated=None,
        *, axis=0, out=None, backend=None):
    r"""Generalised advantage estimation (Schulman et al., 2016), one pass.

    .. math::
        \delta_t = r_t + \gamma_t (1 - \mathrm{term}_t)\, \text{next\_values}[t] - V(s_t)

        A_t = \delta_t + \gamma_t \lambda_t (1 - \mathrm{done}_t) A_{t+1},
        \quad A_T = 0, \quad \mathrm{done} = \mathrm{term} \lor \mathrm{trunc}

    and ``returns = advantages + values``, written in the same pass.

    ``next_values`` is either the full array (rewards' shape) or, as a
    shorthand, the ``(*batch)`` value of the observation after the last step,
    meaning ``next_values[t] = values[t + 1]`` (the SB3 ``last_values``
    convention). The shorthand cannot express the value of a final
    observation at a truncation before the last step, so that case raises.

    Returns a ``GAEResult(advantages, returns)``; ``out=`` takes a pair.
    """
    r, ax = _rewards(rewards, axis)
    v_arr = C.real_array(values, "values")
    nv_arr = C.real_array(next_values, "next_values")
    shorthand = _is_last_value(nv_arr, r, ax)
    p, (v,) = _prepare(r, ax, terminated, truncated, [("values", v_arr)], dtype_also=[nv_arr])
    nv = _last_value_row(nv_arr, p) if shorthand else C.to_tb(nv_arr, ax, p.dtype)
    g = _coef(gamma, "gamma", p)
    lm = _coef(lam, "lam", p)
    if out is None:
        outs = (None, None)
    else:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError("out must be a pair (advantages_out, returns_out)")
        outs = tuple(out)
    adv, adv_copy = _out(outs[0], "out[0]", p, [p.rewards, v, nv, g, lm])
    ret, ret_copy = _out(outs[1], "out[1]", p, [p.rewards, v, nv, g, lm, adv])
    # auto's size rule for GAE is float64's (AUTO_WIDE): in float32 the two
    # compiled backends tie, so float32 stays on the first choice
    width = _width(p) if p.dtype == np.float64 else 0
    fn = _backend.kernel("returns", "gae", backend, _work(p), width, _rows(p))
    fn(p.rewards, v, nv, g, lm, p.terminated, p.truncated, adv, ret)
    return GAEResult(_finish(adv, outs[0], p, adv_copy), _finish(ret, outs[1], p, ret_copy))


@tensors_follow
def lambda_returns(rewards, next_values, gamma, lam, terminated=None, truncated=None,
                   *, axis=0, out=None, backend=None):
    r"""TD(lambda) targets (the lambda-return), exact.

    .. math::
        G^\lambda_t = r_t + \gamma_t (1 - \mathrm{term}_t)
            \big[(1 - \lambda_t) V_{t+1} + \lambda_t G^\lambda_{t+1}\big]

    inside an episode, with :math:`V_{t+1}` = ``next_values[t]``; at a
    terminated, truncated or last step,
    :math:`G_t = r_t + \gamma_t (1 - \mathrm{term}_t)\,\text{next\_values}[t]`.
    Equals ``gae(...).returns`` when ``values[t+1] == next_values[t]`` inside
    episodes. lam = 0 gives one-step TD targets, lam = 1 Monte-Carlo returns
    that bootstrap at truncations.
    """
    p, (nv,) = _prepare(*_rewards(rewards, axis), terminated, truncated,
                        [("next_values", next_values)])
    g = _coef(gamma, "gamma", p)
    lm = _coef(lam, "lam", p)
    res, copy_back = _out(out, "out", p, [p.rewards, nv, g, lm])
    fn = _backend.kernel("returns", "lambda_returns", backend, _work(p), _width(p), _rows(p))
    fn(p.rewards, nv, g, lm, p.terminated, p.truncated, res)
    return _finish(res, out, p, copy_back)


@tensors_follow
def nstep_returns(rewards, next_values, gamma, n, terminated=None, truncated=None,
                  *, axis=0, out=None, backend=None):
    r"""n-step bootstrapped returns.

    .. math::
        G^{(n)}_t = \sum_{k<m} \Big(\prod_{j<k}\gamma_{t+j}\Big) r_{t+k}
            + \Big(\prod_{j<m}\gamma_{t+j}\Big) (1 - \mathrm{term}_{t+m-1})\,
              \text{next\_values}[t+m-1]

    where m <= n counts the steps from t that stay inside the episode and the
    array (the window ends after the first terminated or truncated step). With
    a scalar gamma the products are gamma**k. Cost O(T * batch * n).
    """
    n = C.positive_int(n, "n")
    p, (nv,) = _prepare(*_rewards(rewards, axis), terminated, truncated,
                        [("next_values", next_values)])
    g = _coef(gamma, "gamma", p)
    res, copy_back = _out(out, "out", p, [p.rewards, nv, g])
    fn = _backend.kernel("returns", "nstep_returns", backend, p.T * p.B * min(n, max(p.T, 1)))
    fn(p.rewards, nv, g, n, p.terminated, p.truncated, res)
    return _finish(res, out, p, copy_back)
