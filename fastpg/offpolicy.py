r"""Off-policy corrected returns: V-trace (IMPALA) and Retrace(λ).

Both learn about a target policy π from steps taken by a behaviour policy μ,
through the log importance ratio of each action taken,
``log_rhos[t]`` :math:`= l_t = \log \pi(a_t|x_t) - \log \mu(a_t|x_t)`
(``-inf`` where π cannot take the action; NaN and ``+inf`` are refused).
Clipping thresholds are numbers >= 0, ``float("inf")`` for none.

The array conventions are those of :mod:`fastpg.returns`: time-major
``(T, *batch)`` (``axis=`` names another time axis; a 1-D array is a flat
stream), gymnasium's ``terminated`` / ``truncated`` flags, ``gamma`` and
``lam`` a number in [0, 1] or an array broadcastable to ``rewards``,
float32 in / float32 out, ``out=``, ``backend=``. Internally each value is
widened to float64 and the result rounded once (float32 inputs too). The
kernels are written once for numba and Cython (``fastpg/_kernels``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _backend
from . import _checks as C
from ._interop import tensors_follow
from .returns import _coef, _finish, _is_last_value, _last_value_row, _out, _prepare, _rewards

__all__ = ["vtrace", "retrace", "VTraceResult"]


class VTraceResult(NamedTuple):
    vs: np.ndarray
    pg_advantages: np.ndarray


def _pair(out):
    if out is None:
        return (None, None)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError("out must be a pair (vs_out, pg_advantages_out)")
    return tuple(out)


@tensors_follow
def vtrace(rewards, values, next_values, log_rhos, gamma, lam=1.0, terminated=None,
           truncated=None, *, rho_clip=1.0, c_clip=1.0, pg_rho_clip=1.0, axis=0, out=None,
           backend=None):
    r"""V-trace targets and policy-gradient advantages (Espeholt et al., 2018).

    With :math:`\rho_t = \min(\bar\rho, e^{l_t})` and
    :math:`c_t = \lambda_t \min(\bar c, e^{l_t})`, :math:`V_t` = ``values[t]``
    and :math:`V'_t` = ``next_values[t]`` (the value of the observation after
    step t; of the final observation at a truncation):

    .. math::
        v_t = V_t + \delta_t + \gamma_t c_t (1 - \mathrm{done}_t)(v_{t+1} - V_{t+1}),
        \qquad \delta_t = \rho_t \big(r_t + \gamma_t (1 - \mathrm{term}_t) V'_t - V_t\big)

        \mathrm{pg}_t = \min(\bar\rho_\mathrm{pg}, e^{l_t})
            \big(r_t + \gamma_t (1 - \mathrm{term}_t)\, \hat v_{t+1} - V_t\big)

    where done = terminated, truncated or the last step of the array, and
    :math:`\hat v_{t+1}` is :math:`v_{t+1}` inside an episode and
    :math:`V'_t` at its end (the last step bootstraps from ``next_values``).
    A zero trace cuts the recursion as an episode end does (a NaN later in
    the episode does not reach step t) and a zero ratio gives a zero
    advantage. On-policy (:math:`l = 0`, thresholds >= 1) ``vs`` equals
    :func:`lambda_returns` and ``pg_advantages`` the one-step advantages
    towards them.

    ``next_values`` is the full array (rewards' shape) or, as in :func:`gae`,
    the ``(*batch)`` value after the last step (then ``next_values[t] =
    values[t + 1]``; a truncation before the last step needs the full array).

    rlax's ``vtrace_td_error_and_advantage`` bootstraps the advantage from
    :math:`\lambda v_{t+1} + (1 - \lambda) V_{t+1}` and fixes
    :math:`\bar c = 1`; the two agree at ``lam=1`` and ``c_clip=1``
    (``vs - values`` is rlax's ``errors``). rlax has no episode flags (a
    zero discount ends an episode there; ``terminated`` here does the same).

    Returns ``VTraceResult(vs, pg_advantages)``; ``out=`` takes a pair.
    """
    r, ax = _rewards(rewards, axis)
    v_arr = C.real_array(values, "values")
    lr_arr = C.real_array(log_rhos, "log_rhos", allow_bool=False)
    C.log_ratios(lr_arr, "log_rhos")  # indices in the caller's layout
    nv_arr = C.real_array(next_values, "next_values")
    shorthand = _is_last_value(nv_arr, r, ax)
    p, (v, lr) = _prepare(r, ax, terminated, truncated, [("values", v_arr), ("log_rhos", lr_arr)],
                          dtype_also=[nv_arr])
    nv = _last_value_row(nv_arr, p) if shorthand else C.to_tb(nv_arr, ax, p.dtype)
    g = _coef(gamma, "gamma", p)
    lm = _coef(lam, "lam", p)
    clips = [C.clip_threshold(x, n) for x, n in
             ((rho_clip, "rho_clip"), (c_clip, "c_clip"), (pg_rho_clip, "pg_rho_clip"))]
    outs = _pair(out)
    vs, vs_copy = _out(outs[0], "out[0]", p, [p.rewards, v, nv, lr, g, lm])
    pg, pg_copy = _out(outs[1], "out[1]", p, [p.rewards, v, nv, lr, g, lm, vs])
    fn = _backend.kernel("offpolicy", "vtrace", backend, width=p.B)
    fn(p.rewards, v, nv, lr, g, lm, *clips, p.terminated, p.truncated, vs, pg)
    return VTraceResult(_finish(vs, outs[0], p, vs_copy), _finish(pg, outs[1], p, pg_copy))


@tensors_follow
def retrace(rewards, q_values, next_values, log_rhos, gamma, lam=1.0, terminated=None,
            truncated=None, *, c_clip=1.0, axis=0, out=None, backend=None):
    r"""Retrace(λ) targets for Q(x_t, a_t) (Munos et al., 2016).

    With :math:`Q_t` = ``q_values[t]`` = Q(x_t, a_t) of the action taken,
    :math:`V'_t` = ``next_values[t]`` :math:`= \sum_a \pi(a|x_{t+1}) Q(x_{t+1}, a)`
    (of the final observation at a truncation) and the trace of the next
    action :math:`c_{t+1} = \lambda_{t+1} \min(\bar c, e^{l_{t+1}})`:

    .. math::
        G_t = r_t + \gamma_t (1 - \mathrm{term}_t) \Big(V'_t + (1 - \mathrm{done}_t)\,
            c_{t+1} \big(G_{t+1} - Q_{t+1}\big)\Big)

    where done = terminated, truncated or the last step of the array. A zero
    trace cuts the dependence on :math:`G_{t+1}`. ``lam=0`` gives one-step
    expected-SARSA targets :math:`r_t + \gamma_t V'_t`.

    This is rlax's ``retrace`` (``c_t = λ min(1, π/μ)``) with episode flags,
    per-step λ and a threshold :math:`\bar c` (rlax fixes it at 1).
    ``next_values`` must have rewards' shape: it is not derived from
    ``q_values``.
    """
    r, ax = _rewards(rewards, axis)
    lr_arr = C.real_array(log_rhos, "log_rhos", allow_bool=False)
    C.log_ratios(lr_arr, "log_rhos")
    p, (q, nv, lr) = _prepare(r, ax, terminated, truncated,
                              [("q_values", q_values), ("next_values", next_values),
                               ("log_rhos", lr_arr)])
    g = _coef(gamma, "gamma", p)
    lm = _coef(lam, "lam", p)
    cc = C.clip_threshold(c_clip, "c_clip")
    res, copy_back = _out(out, "out", p, [p.rewards, q, nv, lr, g, lm])
    fn = _backend.kernel("offpolicy", "retrace", backend, width=p.B)
    fn(p.rewards, q, nv, lr, g, lm, cc, p.terminated, p.truncated, res)
    return _finish(res, out, p, copy_back)
