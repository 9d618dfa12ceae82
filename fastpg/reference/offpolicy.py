r"""NumPy reference for the off-policy return kernels (V-trace, Retrace): the
executable specification.

Argument layout as in :mod:`fastpg.reference.returns`: float32 or float64
C-contiguous ``(T, B)`` arrays of one dtype (time-major; a flat stream is
``(T, 1)``); ``gamma`` and ``lam`` ``(1, B)`` or ``(T, B)``; ``terminated``
and ``truncated`` uint8 ``(T, B)`` or ``(0, B)``; ``log_rhos[t]`` =
:math:`\log \pi(a_t|x_t) - \log \mu(a_t|x_t)`, the log importance ratio of
the action taken at step t (target policy π, behaviour policy μ), never NaN
or +inf; the clipping thresholds are floats (``inf``: no clipping).

Each value is widened to float64 when read and the result rounded once to
the output's dtype when written; a kernel that reads its own output row
t + 1 reads the rounded value, as every backend does. Episode ends and zero
traces cut the recursions by selection (and a zero ratio gives a zero
advantage), so a NaN or inf never leaks past them.
"""
from __future__ import annotations

import numpy as np

from .returns import _coef, _ends

__all__ = ["vtrace", "retrace"]


def vtrace(rewards, values, next_values, log_rhos, gamma, lam, rho_clip, c_clip, pg_rho_clip,
           terminated, truncated, vs_out, pg_out):
    r"""V-trace (Espeholt et al., 2018), with :math:`\rho_t = \min(\bar\rho, e^{l_t})`,
    :math:`c_t = \lambda_t \min(\bar c, e^{l_t})`:

    .. math::
        \delta_t = \rho_t \big(r_t + \gamma_t (1 - \mathrm{term}_t) V'_t - V_t\big), \qquad
        v_t - V_t = \delta_t + \gamma_t c_t (1 - \mathrm{done}_t) (v_{t+1} - V_{t+1})

        \mathrm{pg}_t = \min(\bar\rho_\mathrm{pg}, e^{l_t})
            \big(r_t + \gamma_t (1 - \mathrm{term}_t) \hat v_{t+1} - V_t\big),
        \quad \hat v_{t+1} = v_{t+1} \text{ inside an episode, } V'_t \text{ at its end}

    where :math:`V_t` = ``values[t]``, :math:`V'_t` = ``next_values[t]`` (or
    ``values[t + 1]`` with the ``(1, B)`` shorthand, whose row is the value
    after the last step) and done = terminated, truncated or the last step.
    """
    T, B = rewards.shape
    term, done = _ends(terminated, truncated, T, B)
    if next_values.shape[0] == T:
        nv = next_values.astype(np.float64)
    else:
        nv = np.concatenate([values[1:], next_values]).astype(np.float64)
    r = rewards.astype(np.float64)
    v = values.astype(np.float64)
    g = _coef(gamma, T)
    lm = _coef(lam, T)
    ratio = np.exp(log_rhos.astype(np.float64))
    acc = np.zeros(B)
    for t in range(T - 1, -1, -1):
        boot = np.where(term[t], 0.0, g[t] * nv[t])
        td = r[t] - v[t] + boot
        a = np.minimum(rho_clip, ratio[t]) * td
        trace = g[t] * lm[t] * np.minimum(c_clip, ratio[t])
        live = ~done[t] & (trace != 0)  # a zero trace cuts, as an episode end does
        acc = np.where(live, a + trace * np.where(live, acc, 0.0), a)
        vs_out[t] = v[t] + acc
        if t + 1 < T:
            later = np.where(term[t], 0.0, g[t] * vs_out[t + 1].astype(np.float64))
            boot = np.where(done[t], boot, later)
        p = np.minimum(pg_rho_clip, ratio[t])
        pg_out[t] = np.where(p != 0, p * (r[t] - v[t] + boot), 0.0)
    return vs_out, pg_out


def retrace(rewards, q_values, next_values, log_rhos, gamma, lam, c_clip, terminated, truncated,
            out):
    r"""Retrace(λ) Q targets (Munos et al., 2016), with the trace of the next
    action :math:`c_{t+1} = \lambda_{t+1} \min(\bar c, e^{l_{t+1}})`:

    .. math::
        G_t = r_t + \gamma_t (1 - \mathrm{term}_t) \Big(V'_t + (1 - \mathrm{done}_t)\,
            c_{t+1} \big(G_{t+1} - Q_{t+1}\big)\Big)

    where :math:`Q_t` = ``q_values[t]`` = Q(x_t, a_t) of the action taken,
    :math:`V'_t` = ``next_values[t]`` = :math:`\mathbb{E}_{a \sim \pi} Q(x_{t+1}, a)`
    (of the final observation at a truncation) and done = terminated,
    truncated or the last step. A zero trace cuts the dependence on
    :math:`G_{t+1}`.
    """
    T, B = rewards.shape
    term, done = _ends(terminated, truncated, T, B)
    r = rewards.astype(np.float64)
    g = _coef(gamma, T)
    lm = _coef(lam, T)
    for t in range(T - 1, -1, -1):
        boot = next_values[t].astype(np.float64)
        if t + 1 < T:
            c = lm[t + 1] * np.minimum(c_clip, np.exp(log_rhos[t + 1].astype(np.float64)))
            corr = out[t + 1].astype(np.float64) - q_values[t + 1].astype(np.float64)
            live = ~done[t] & (c != 0)
            boot = boot + np.where(live, c * np.where(live, corr, 0.0), 0.0)
        out[t] = r[t] + np.where(term[t], 0.0, g[t] * boot)
    return out
