"""NumPy reference for the environment kernels: the executable specification.

``cartpole_step`` advances N CartPole-v1 environments by one step each, the
dynamics, termination, truncation and rewards of gymnasium's
``CartPoleEnv`` (Barto, Sutton & Anderson 1983; Euler integration, tau 0.02 s)
under gymnasium's ``TimeLimit`` and vector autoreset rules, so that a
compiled backend can be checked line by line against this loop and this loop
against gymnasium itself (tests/test_envs.py).

Arguments (every backend takes exactly these; :mod:`fastpg.envs.cartpole`
validates and owns them):

* ``state`` (N, 4) float64, in/out: x, x_dot, theta, theta_dot of each env.
  The state is float64, as gymnasium's; observations are its float32 copy.
* ``actions`` (N,) int64: 0 pushes the cart left, 1 right. Any other value
  makes the kernel return that env's index before it changes anything.
* ``bank`` (N, K, 4) float64 and ``cursor`` (N,) int64, in/out: each env's
  next K uniform doubles of its own generator, drawn ahead by the caller,
  and the next unused one. An env that resets starts its episode from
  ``-0.05 + (0.05 - -0.05) * bank[i, cursor[i]]`` (gymnasium's
  ``np_random.uniform(-0.05, 0.05, 4)``) and advances its cursor. When a
  cursor reaches K the kernel returns -2: the caller refills those banks
  (and resets their cursors) before the next call. A call that finds a
  cursor outside 0..K-1 returns -3 before it changes anything (a caller
  that did not refill: the kernel never reads outside the bank).
* ``steps`` (N,) int64, in/out: steps taken in the current episode.
* ``reset`` (N,) uint8, in/out. Next-step autoreset (``same_step`` 0,
  gymnasium's default): on input the envs whose episode ended at the
  previous call; such an env is reset instead of stepped (observation of
  the reset state, reward 0, neither flag) and its reset_state row is used.
  On output, the envs whose episode ended in this call. Same-step autoreset
  (``same_step`` 1): ignored on input; on output the envs that ended in this
  call and were reset in it.
* ``max_steps`` int: an episode is truncated when ``steps`` reaches it
  (CartPole-v1: 500); ``truncated`` and ``terminated`` can both be set.
* ``obs`` (N, 4) float32, ``rewards`` (N,) float64, ``terminated``,
  ``truncated`` (N,) uint8: out. The reward is 1 for every step, including
  the one that terminates. With same-step autoreset ``obs`` is the new
  episode's first observation and ``final_obs`` (N, 4) float32 the last
  observation of the one that ended (rows of other envs are not written).

Returns -1; -2 when a bank ran out (see ``bank``); -3 when a bank was used
up before the call; or the index of the first invalid action. With -3 or an
invalid action nothing changed (actions are checked first).

One step of env i (gymnasium's operation order, in float64)::

    F = 10 if a == 1 else -10
    temp = (F + m_p l * theta_dot^2 * sin(theta)) / (m_c + m_p)
    theta_acc = (g sin(theta) - cos(theta) temp)
                / (l (4/3 - m_p cos(theta)^2 / (m_c + m_p)))
    x_acc = temp - m_p l * theta_acc * cos(theta) / (m_c + m_p)
    x += tau x_dot; x_dot += tau x_acc; theta += tau theta_dot;
    theta_dot += tau theta_acc
    terminated = |x| > 2.4 or |theta| > 12 * 2 pi / 360

with g 9.8, m_c 1.0, m_p 0.1, l 0.5 (half the pole), tau 0.02.

``mountaincar_step`` is the same for MountainCar-v0 (Moore 1990; gymnasium's
``MountainCarEnv``, 200-step limit): state and observation (position,
velocity), actions 0, 1, 2 (push left, none, right), reward -1 per step, a
reset draws one double u per env (position -0.6 + (-0.4 - -0.6) u, velocity
0; ``bank`` (N, K, 1)). One step::

    velocity += (a - 1) 0.001 + cos(3 position) (-0.0025), clipped to ±0.07
    position += velocity, clipped to [-1.2, 0.6]; velocity = 0 if the car
    is at -1.2 moving left
    terminated = position >= 0.5 and velocity >= 0

``acrobot_step`` is the same for Acrobot-v1 (Sutton & Barto's two-link arm,
gymnasium's ``AcrobotEnv`` with the book's equations, 500-step limit): state
(theta1, theta2, dtheta1, dtheta2), observation (cos theta1, sin theta1,
cos theta2, sin theta2, dtheta1, dtheta2), actions 0, 1, 2 (torque -1, 0, +1),
one RK4 step of 0.2 s, angles wrapped into [-pi, pi], speeds bounded by 4 pi
and 9 pi; terminated when -cos theta1 - cos(theta2 + theta1) > 1, reward 0
then and -1 before. Its reset rounds the drawn state to float32 and computes
the first observation in float32, so the caller puts each reset's state and
observation in the bank ((N, K, 10)); the squares in its equations are C
``pow`` calls, which differ from x * x in about 0.1% of cases.

``cartpole_rollout(W, u, state, bank, cursor, steps, reset, max_steps,
obs_out, actions_out, rewards_out, terminated_out, truncated_out, logp_out)``
runs the linear softmax policy and the envs together for T steps (fused, no
Python per step), with same-step autoreset so that every recorded step is a
real transition. At step t, env i (first reset from its bank if ``reset[i]``
is set, as a pending next-step autoreset) records its observation x (the
float32 state) in ``obs_out[t, i]``, computes the logits
z_a = x_0 W[0, a] + ... + x_3 W[3, a] + W[4, a] (float64, summed in that
order; row 4 is the bias, the layout of ``fastpg.agents.Reinforce``) and
samples a_t by ``sample_categorical``'s rule with ``u[t, i]``: with
e_a = exp(z_a - max z) and S = e_0 + e_1, the first a with
e_0 + ... + e_a > u S, else the last a with e_a > 0. It records a_t,
log π(a_t | x) = (z_a - max z) - log S, and the step's reward and flags;
an env whose episode ended resets at once from its bank. ``W`` (5, 2)
float64, ``u`` (T, N) float64 in [0, 1); outputs (T, N, 4) float32 and
(T, N) int64, float64, uint8, uint8, float64. Returns the number of steps
done: T, or fewer when a bank ran out in the last of them (the caller
refills it and continues from there); 0 when the pending resets used a
bank's last record (they are done: the next call steps); -1, before
anything changed, when a cursor is outside 0..K-1. ``reset`` is all 0
afterwards. Between two checks for a used-up bank each env draws at most
one record, so the kernel never reads outside the bank.
"""
from __future__ import annotations

import math

import numpy as np

GRAVITY, MASSCART, MASSPOLE, LENGTH = 9.8, 1.0, 0.1, 0.5
FORCE_MAG, TAU, X_THRESHOLD = 10.0, 0.02, 2.4
TOTAL_MASS = MASSPOLE + MASSCART
POLEMASS_LENGTH = MASSPOLE * LENGTH
THETA_THRESHOLD = 12 * 2 * math.pi / 360


def _cartpole_dynamics(s, action):
    """The state after one step from s (a float64 row), gymnasium's order."""
    x, x_dot, theta, theta_dot = (float(v) for v in s)
    force = FORCE_MAG if action == 1 else -FORCE_MAG
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    return (x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc)


def _reset_state(bank, cursor, i):
    """Env i's next reset state from its bank, gymnasium's uniform(-0.05, 0.05)."""
    u = bank[i, cursor[i]]
    cursor[i] += 1
    return -0.05 + (0.05 - -0.05) * u


def _used_up(bank, cursor):
    """Whether a cursor is outside its bank (0..K-1): nothing left to draw."""
    return bool(((cursor < 0) | (cursor >= bank.shape[1])).any())


def _autoreset(advance, restart, n_actions, actions, bank, cursor, steps, reset, max_steps,
               same_step, obs, rewards, terminated, truncated, final_obs):
    """What every env kernel does around its dynamics: check the actions,
    reset the envs with a pending next-step autoreset, step the others
    (``advance(i, a) -> (observation, reward, terminated)``), flag the time
    limit and, with same-step autoreset, restart the envs that ended
    (``restart(i) -> observation``, from env i's bank)."""
    for i in range(len(actions)):
        if not 0 <= actions[i] < n_actions:
            return i
    if _used_up(bank, cursor):
        return -3
    for i in range(len(actions)):
        if not same_step and reset[i]:
            obs[i] = restart(i)
            steps[i] = 0
            rewards[i] = 0.0
            terminated[i] = truncated[i] = reset[i] = 0
            continue
        obs[i], rewards[i], te = advance(i, int(actions[i]))
        steps[i] += 1
        tr = steps[i] >= max_steps
        terminated[i], truncated[i], reset[i] = te, tr, te or tr
        if same_step and (te or tr):
            final_obs[i] = obs[i]
            obs[i] = restart(i)
            steps[i] = 0
    return -2 if (cursor >= bank.shape[1]).any() else -1


def cartpole_step(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                  obs, rewards, terminated, truncated, final_obs):
    def advance(i, a):
        state[i] = _cartpole_dynamics(state[i], a)
        x, theta = state[i, 0], state[i, 2]
        te = x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD \
            or theta > THETA_THRESHOLD
        return state[i].astype(np.float32), 1.0, te

    def restart(i):
        state[i] = _reset_state(bank, cursor, i)
        return state[i].astype(np.float32)

    return _autoreset(advance, restart, 2, actions, bank, cursor, steps, reset, max_steps,
                      same_step, obs, rewards, terminated, truncated, final_obs)


def cartpole_rollout(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                     actions_out, rewards_out, terminated_out, truncated_out, logp_out):
    T, N = u.shape
    K = bank.shape[1]
    if _used_up(bank, cursor):
        return -1
    for i in range(N):
        if reset[i]:
            state[i] = _reset_state(bank, cursor, i)
            steps[i] = 0
            reset[i] = 0
    if (cursor >= K).any():
        return 0
    for t in range(T):
        for i in range(N):
            x = state[i].astype(np.float32)
            obs_out[t, i] = x
            z = [float(x[0]) * W[0, a] + float(x[1]) * W[1, a] + float(x[2]) * W[2, a]
                 + float(x[3]) * W[3, a] + W[4, a] for a in range(2)]
            m = max(z)
            e0, e1 = math.exp(z[0] - m), math.exp(z[1] - m)
            total = e0 + e1
            thresh = u[t, i] * total
            a = 0 if e0 > thresh else (1 if e0 + e1 > thresh or e1 > 0 else 0)
            actions_out[t, i] = a
            logp_out[t, i] = (z[a] - m) - math.log(total)
            x_, x_dot, theta, theta_dot = _cartpole_dynamics(state[i], a)
            state[i] = (x_, x_dot, theta, theta_dot)
            steps[i] += 1
            te = x_ < -X_THRESHOLD or x_ > X_THRESHOLD or theta < -THETA_THRESHOLD \
                or theta > THETA_THRESHOLD
            tr = steps[i] >= max_steps
            rewards_out[t, i] = 1.0
            terminated_out[t, i], truncated_out[t, i] = te, tr
            if te or tr:
                state[i] = _reset_state(bank, cursor, i)
                steps[i] = 0
        if (cursor >= K).any():
            return t + 1
    return T


def _mc_reset_state(bank, cursor, i):
    u = bank[i, cursor[i], 0]
    cursor[i] += 1
    return (-0.6 + (-0.4 - -0.6) * u, 0.0)


def mountaincar_step(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                     obs, rewards, terminated, truncated, final_obs):
    def advance(i, a):
        position, velocity = (float(v) for v in state[i])
        velocity += (a - 1) * 0.001 + math.cos(3 * position) * (-0.0025)
        velocity = min(max(velocity, -0.07), 0.07)
        position += velocity
        position = min(max(position, -1.2), 0.6)
        if position == -1.2 and velocity < 0:
            velocity = 0.0
        state[i] = (position, velocity)
        return state[i].astype(np.float32), -1.0, position >= 0.5 and velocity >= 0

    def restart(i):
        state[i] = _mc_reset_state(bank, cursor, i)
        return state[i].astype(np.float32)

    return _autoreset(advance, restart, 3, actions, bank, cursor, steps, reset, max_steps,
                      same_step, obs, rewards, terminated, truncated, final_obs)


def _acrobot_derivs(y, a):
    """gymnasium's AcrobotEnv._dsdt (the book's equations) at y under torque a."""
    m1 = m2 = l1 = I1 = I2 = 1.0
    lc1 = lc2 = 0.5
    g, pi = 9.8, math.pi
    t1, t2, w1, w2 = y
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * math.cos(t2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * math.cos(t2)) + I2
    phi2 = m2 * lc2 * g * math.cos(t1 + t2 - pi / 2.0)
    phi1 = (-m2 * l1 * lc2 * math.pow(w2, 2.0) * math.sin(t2)
            - 2 * m2 * l1 * lc2 * w2 * w1 * math.sin(t2)
            + (m1 * lc1 + m2 * l1) * g * math.cos(t1 - pi / 2) + phi2)
    dd2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * math.pow(w1, 2.0) * math.sin(t2) - phi2) / (
        m2 * lc2**2 + I2 - math.pow(d2, 2.0) / d1)
    return [w1, w2, -(d2 * dd2 + phi1) / d1, dd2]


def acrobot_step(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                 obs, rewards, terminated, truncated, final_obs):
    pi, dt = math.pi, 0.2

    def advance(i, a):
        torque = float(a - 1)
        y = [float(v) for v in state[i]]
        k1 = _acrobot_derivs(y, torque)
        k2 = _acrobot_derivs([y[j] + dt / 2.0 * k1[j] for j in range(4)], torque)
        k3 = _acrobot_derivs([y[j] + dt / 2.0 * k2[j] for j in range(4)], torque)
        k4 = _acrobot_derivs([y[j] + dt * k3[j] for j in range(4)], torque)
        ns = [y[j] + dt / 6.0 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]) for j in range(4)]
        for j in range(2):
            while ns[j] > pi:
                ns[j] = ns[j] - (pi - -pi)
            while ns[j] < -pi:
                ns[j] = ns[j] + (pi - -pi)
        ns[2] = min(max(ns[2], -4 * pi), 4 * pi)
        ns[3] = min(max(ns[3], -9 * pi), 9 * pi)
        state[i] = ns
        te = -math.cos(ns[0]) - math.cos(ns[1] + ns[0]) > 1.0
        ob = np.array([math.cos(ns[0]), math.sin(ns[0]), math.cos(ns[1]), math.sin(ns[1]),
                       ns[2], ns[3]], dtype=np.float32)
        return ob, 0.0 if te else -1.0, te

    def restart(i):
        rec = bank[i, cursor[i]]
        cursor[i] += 1
        state[i] = rec[:4]
        return rec[4:]

    return _autoreset(advance, restart, 3, actions, bank, cursor, steps, reset, max_steps,
                      same_step, obs, rewards, terminated, truncated, final_obs)
