# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""Environment kernels, one source for both compilers (semantics, argument
layout and the dynamics: fastpg.reference.envs; how one source works:
fastpg/_kernels/tabular.py and docs/design.md). Cython compiles it as
``fastpg._cy.envs``, typed by src_cython/envs.pxd; numba jits the same
functions (fastpg._numba.envs).

Each env is one row: read its state, step or reset it, write its outputs.
The arithmetic is gymnasium's, operation for operation, in double, so that
the states (and the float32 observations rounded from them) are the same
bits as gymnasium's CartPole-v1, MountainCar-v0 and Acrobot-v1 where sin
and cos are the C library's, as NumPy's are for float64 on x86-64 without
AVX-512. The helpers without an env's name in theirs are CartPole's.
"""
import cython
import numpy as np
from cython.parallel import prange  # numba: numba.prange (fastpg._numba.envs)

#: env chunks of the parallel step (one per thread on the machines we target;
#: results do not depend on it)
ENV_CHUNKS = 2

if not cython.compiled:  # compiled, these are C names cimported by envs.pxd
    from ._py import cos, exp, fpg_sincos, int64_t, log, pow, sin


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t)
def _used_up(cursor: int64_t[::1], K: cython.Py_ssize_t) -> cython.bint:
    """Whether a cursor is outside its bank (0..K-1): a caller that did not
    refill after -2; checked before anything changes, so that no kernel reads
    outside a bank."""
    for i in range(cursor.shape[0]):
        if cursor[i] < 0 or cursor[i] >= K:
            return True
    return False


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _env_index(i: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """i, an env index that is never negative. numba's twin makes it unsigned
    (fastpg._numba.envs): a loop from an unsigned start has no negative-index
    wraparound in its accesses, which kept numba's per-chunk loops scalar
    (the rollout's ran 1.4x slower than from a literal 0)."""
    return i


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t)
def _entry(actions: cython.const[int64_t][::1], n_actions: int64_t, cursor: int64_t[::1],
           K: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """A step kernel's checks, before it changes anything: the first env
    whose action is outside 0..n_actions-1, else -3 for a used-up bank,
    else -1."""
    for i in range(actions.shape[0]):
        if actions[i] < 0 or actions[i] >= n_actions:
            return i
    return -3 if _used_up(cursor, K) else -1


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(c=int64_t, k=cython.Py_ssize_t)
def _reset_to(state: cython.double[:, ::1], bank: cython.const[cython.double][:, :, ::1],
              cursor: int64_t[::1], i: cython.Py_ssize_t) -> cython.bint:
    """state[i] <- env i's next reset state from its bank (gymnasium's
    uniform(-0.05, 0.05, 4)); whether that used the bank's last state."""
    c = cursor[i]
    for k in range(4):
        state[i, k] = -0.05 + (0.05 - -0.05) * bank[i, c, k]
    cursor[i] = c + 1
    return c + 1 >= bank.shape[1]


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(x=cython.double, x_dot=cython.double, theta=cython.double,
               theta_dot=cython.double, force=cython.double, costheta=cython.double,
               temp=cython.double, thetaacc=cython.double,
               xacc=cython.double, total_mass=cython.double, polemass_length=cython.double,
               theta_threshold=cython.double)
def _advance_sc(state: cython.double[:, ::1], i: cython.Py_ssize_t, action: int64_t,
                sintheta: cython.double, costheta: cython.double) -> cython.bint:
    """One CartPole-v1 step of env i's state (gymnasium's arithmetic, operation
    for operation), given the sine and cosine of its angle; whether the pole
    fell or the cart left the track."""
    # gymnasium's constants, computed as it computes them
    total_mass = 0.1 + 1.0
    polemass_length = 0.1 * 0.5
    theta_threshold = 12 * 2 * 3.141592653589793 / 360
    x = state[i, 0]
    x_dot = state[i, 1]
    theta = state[i, 2]
    theta_dot = state[i, 3]
    force = 10.0 if action == 1 else -10.0
    temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
    thetaacc = (9.8 * sintheta - costheta * temp) / (
        0.5 * (4.0 / 3.0 - 0.1 * (costheta * costheta) / total_mass))
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    x = x + 0.02 * x_dot
    x_dot = x_dot + 0.02 * xacc
    theta = theta + 0.02 * theta_dot
    theta_dot = theta_dot + 0.02 * thetaacc
    state[i, 0] = x
    state[i, 1] = x_dot
    state[i, 2] = theta
    state[i, 3] = theta_dot
    return x < -2.4 or x > 2.4 or theta < -theta_threshold or theta > theta_threshold


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(sintheta=cython.double, costheta=cython.double)
def _advance(state: cython.double[:, ::1], i: cython.Py_ssize_t,
             action: int64_t) -> cython.bint:
    """_advance_sc with the C library's sine and cosine of env i's angle."""
    sintheta, costheta = fpg_sincos(state[i, 2])
    return _advance_sc(state, i, action, sintheta, costheta)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _cleared(i: cython.Py_ssize_t, steps: int64_t[::1], rewards: cython.double[::1],
             terminated: cython.uchar[::1], truncated: cython.uchar[::1],
             reset: cython.uchar[::1]) -> cython.void:
    """Env i's outputs at a next-step autoreset: reward 0, no flags."""
    steps[i] = 0
    rewards[i] = 0.0
    terminated[i] = 0
    truncated[i] = 0
    reset[i] = 0


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(tr=cython.bint)
def _ended(i: cython.Py_ssize_t, te: cython.bint, reward: cython.double, steps: int64_t[::1],
           max_steps: int64_t, rewards: cython.double[::1], terminated: cython.uchar[::1],
           truncated: cython.uchar[::1], reset: cython.uchar[::1]) -> cython.bint:
    """Env i's reward and flags after a step (truncated at max_steps steps);
    whether its episode ended."""
    steps[i] += 1
    tr = steps[i] >= max_steps
    rewards[i] = reward
    terminated[i] = 1 if te else 0
    truncated[i] = 1 if tr else 0
    reset[i] = 1 if te or tr else 0
    return te or tr


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t, k=cython.Py_ssize_t, empty=cython.bint, te=cython.bint)
def _cartpole_rows(state: cython.double[:, ::1], actions: cython.const[int64_t][::1],
                   bank: cython.const[cython.double][:, :, ::1], cursor: int64_t[::1],
                   steps: int64_t[::1], reset: cython.uchar[::1], max_steps: int64_t,
                   same_step: cython.bint, obs: cython.float[:, ::1],
                   rewards: cython.double[::1], terminated: cython.uchar[::1],
                   truncated: cython.uchar[::1], final_obs: cython.float[:, ::1],
                   lo: cython.Py_ssize_t, hi: cython.Py_ssize_t) -> cython.bint:
    """Envs lo..hi-1 of cartpole_step_c (valid actions); whether a bank ran out."""
    empty = False
    for i in range(lo, hi):
        if not same_step and reset[i] != 0:
            empty |= _reset_to(state, bank, cursor, i)
            for k in range(4):
                obs[i, k] = state[i, k]
            _cleared(i, steps, rewards, terminated, truncated, reset)
            continue
        te = _advance(state, i, actions[i])
        for k in range(4):
            obs[i, k] = state[i, k]
        if _ended(i, te, 1.0, steps, max_steps, rewards, terminated, truncated, reset) \
                and same_step:
            for k in range(4):
                final_obs[i, k] = obs[i, k]
            empty |= _reset_to(state, bank, cursor, i)
            for k in range(4):
                obs[i, k] = state[i, k]
            steps[i] = 0
    return empty


def cartpole_step_c(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                    obs, rewards, terminated, truncated, final_obs):
    """N CartPole-v1 steps with autoreset: -1; -2 when a bank ran out; and,
    before anything changed, the first invalid action's env, else -3 when a
    bank was used up before the call."""
    N = state.shape[0]
    rc = _entry(actions, 2, cursor, bank.shape[1])
    if rc != -1:
        return rc
    if _cartpole_rows(state, actions, bank, cursor, steps, reset, max_steps, same_step, obs,
                      rewards, terminated, truncated, final_obs, 0, N):
        return -2
    return -1


def cartpole_step_parallel_c(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                             obs, rewards, terminated, truncated, final_obs, flags):
    """cartpole_step_c with the envs in flags.shape[0] chunks run in parallel
    (every env's result is its own: the same as the serial kernel's);
    ``flags`` (C,) int64 scratch."""
    N = state.shape[0]
    rc = _entry(actions, 2, cursor, bank.shape[1])
    if rc != -1:
        return rc
    nchunk = flags.shape[0]
    for c in prange(nchunk):
        flags[c] = _cartpole_rows(state, actions, bank, cursor, steps, reset, max_steps,
                                  same_step, obs, rewards, terminated, truncated, final_obs,
                                  c * N // nchunk, (c + 1) * N // nchunk)
    for c in range(nchunk):
        if flags[c] != 0:
            return -2
    return -1


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(t=cython.Py_ssize_t, i=cython.Py_ssize_t, k=cython.Py_ssize_t, empty=cython.bint,
               te=cython.bint, tr=cython.bint, a=int64_t, am=int64_t, z0=cython.double,
               z1=cython.double, m=cython.double, e=cython.double, e0=cython.double,
               e1=cython.double, total=cython.double, thresh=cython.double)
def _rollout_rows(W: cython.const[cython.double][:, ::1], u: cython.const[cython.double][:, ::1],
                  state: cython.double[:, ::1], bank: cython.const[cython.double][:, :, ::1],
                  cursor: int64_t[::1], steps: int64_t[::1], max_steps: int64_t,
                  obs_out: cython.float[:, :, ::1], actions_out: int64_t[:, ::1],
                  rewards_out: cython.double[:, ::1], terminated_out: cython.uchar[:, ::1],
                  truncated_out: cython.uchar[:, ::1], logp_out: cython.double[:, ::1],
                  work: cython.double[:, ::1], lo: cython.Py_ssize_t, hi: cython.Py_ssize_t,
                  t0: cython.Py_ssize_t, t1: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """Steps t0..t1-1 of the rollout for envs lo..hi-1: the step after which
    a bank ran out (t + 1), else t1."""
    empty = False
    # Each step runs over the envs in phases, so that the C library's exp,
    # log and sincos are loops of calls and the rest are loops the compilers
    # vectorise; the outputs of step t hold the phases' intermediates.
    for t in range(t0, t1):
        for i in range(lo, hi):  # logits; the arg-max; exp's argument min - max
            for k in range(4):
                obs_out[t, i, k] = state[i, k]
            z0 = (1.0 * obs_out[t, i, 0] * W[0, 0] + 1.0 * obs_out[t, i, 1] * W[1, 0]
                  + 1.0 * obs_out[t, i, 2] * W[2, 0] + 1.0 * obs_out[t, i, 3] * W[3, 0]
                  + W[4, 0])
            z1 = (1.0 * obs_out[t, i, 0] * W[0, 1] + 1.0 * obs_out[t, i, 1] * W[1, 1]
                  + 1.0 * obs_out[t, i, 2] * W[2, 1] + 1.0 * obs_out[t, i, 3] * W[3, 1]
                  + W[4, 1])
            m = z0 if z0 >= z1 else z1
            logp_out[t, i] = (z1 if z0 >= z1 else z0) - m
            actions_out[t, i] = 0 if z0 >= z1 else 1
        for i in range(lo, hi):
            # exp(z_a - m) of the arg-max is exp(0) = 1 exactly: one exp per
            # step, not two (the same bits)
            rewards_out[t, i] = exp(logp_out[t, i])
        for i in range(lo, hi):  # the draw (sample_categorical's rule), as selects
            e = rewards_out[t, i]
            am = actions_out[t, i]
            e0 = 1.0 if am == 0 else e
            e1 = e if am == 0 else 1.0
            total = e0 + e1
            thresh = u[t, i] * total
            a = 0 if e0 > thresh else (1 if e0 + e1 > thresh or e1 > 0 else 0)
            actions_out[t, i] = a
            # z_a - m: 0 for the arg-max (m - m), else min - max
            logp_out[t, i] = 0.0 if a == am else logp_out[t, i]
            rewards_out[t, i] = total
        for i in range(lo, hi):
            logp_out[t, i] = logp_out[t, i] - log(rewards_out[t, i])
            work[0, i], work[1, i] = fpg_sincos(state[i, 2])
        for i in range(lo, hi):
            te = _advance_sc(state, i, actions_out[t, i], work[0, i], work[1, i])
            steps[i] += 1
            tr = steps[i] >= max_steps
            rewards_out[t, i] = 1.0
            terminated_out[t, i] = 1 if te else 0
            truncated_out[t, i] = 1 if tr else 0
        for i in range(lo, hi):
            if terminated_out[t, i] != 0 or truncated_out[t, i] != 0:
                empty |= _reset_to(state, bank, cursor, i)
                steps[i] = 0
        if empty:
            return t + 1
    return t1


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t, empty=cython.bint)
def _pending_resets(state: cython.double[:, ::1], bank: cython.const[cython.double][:, :, ::1],
                    cursor: int64_t[::1], steps: int64_t[::1],
                    reset: cython.uchar[::1]) -> cython.bint:
    """A rollout's start: the pending next-step autoresets; whether one used
    a bank's last record (a step could reset that env again: the caller
    refills first)."""
    empty = False
    for i in range(cursor.shape[0]):
        if reset[i] != 0:
            empty |= _reset_to(state, bank, cursor, i)
            steps[i] = 0
            reset[i] = 0
    return empty


def cartpole_rollout_c(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                       actions_out, rewards_out, terminated_out, truncated_out, logp_out,
                       work):
    """T steps of the linear softmax policy and N envs, same-step autoreset:
    the number of steps done (fewer than T when a bank ran out, 0 when the
    pending resets used one up); -1 for a bank used up before the call.
    ``work`` (2, N) float64 scratch."""
    if _used_up(cursor, bank.shape[1]):
        return -1
    if _pending_resets(state, bank, cursor, steps, reset):
        return 0
    return _rollout_rows(W, u, state, bank, cursor, steps, max_steps, obs_out, actions_out,
                         rewards_out, terminated_out, truncated_out, logp_out, work, 0,
                         u.shape[1], 0, u.shape[0])


def cartpole_rollout_parallel_c(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                                actions_out, rewards_out, terminated_out, truncated_out,
                                logp_out, work, flags):
    """cartpole_rollout_c with the envs in flags.shape[0] chunks run in
    parallel for as many steps as no bank can run out in (each env can make
    that many resets before its bank's last record: every env's result is
    its own, the same as the serial kernel's), the rest serially;
    ``flags`` (C,) int64 scratch."""
    T = u.shape[0]
    N = u.shape[1]
    K = bank.shape[1]
    if _used_up(cursor, K):
        return -1
    if _pending_resets(state, bank, cursor, steps, reset):
        return 0
    L = T
    for i in range(N):  # at most one reset a step
        L = min(L, K - 1 - cursor[i])
    nchunk = flags.shape[0]
    if L > 0:
        for c in prange(nchunk):
            flags[c] = _rollout_rows(W, u, state, bank, cursor, steps, max_steps, obs_out,
                                     actions_out, rewards_out, terminated_out, truncated_out,
                                     logp_out, work, _env_index(c * N // nchunk),
                                     _env_index((c + 1) * N // nchunk), 0, L)
    if L == T:
        return T
    return _rollout_rows(W, u, state, bank, cursor, steps, max_steps, obs_out, actions_out,
                         rewards_out, terminated_out, truncated_out, logp_out, work, 0, N, L, T)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(c=int64_t)
def _mc_reset_to(state: cython.double[:, ::1], bank: cython.const[cython.double][:, :, ::1],
                 cursor: int64_t[::1], i: cython.Py_ssize_t) -> cython.bint:
    """MountainCar-v0's reset of env i from its bank: position uniform in
    [-0.6, -0.4), velocity 0; whether that used the bank's last draw."""
    c = cursor[i]
    state[i, 0] = -0.6 + (-0.4 - -0.6) * bank[i, c, 0]
    state[i, 1] = 0.0
    cursor[i] = c + 1
    return c + 1 >= bank.shape[1]


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(c=int64_t, k=cython.Py_ssize_t)
def _acrobot_reset_to(state: cython.double[:, ::1], obs: cython.float[:, ::1],
                      bank: cython.const[cython.double][:, :, ::1], cursor: int64_t[::1],
                      i: cython.Py_ssize_t) -> cython.bint:
    """Acrobot-v1's reset of env i: its bank record's state and observation;
    whether that used the bank's last record."""
    c = cursor[i]
    for k in range(4):
        state[i, k] = bank[i, c, k]
    for k in range(6):
        obs[i, k] = bank[i, c, 4 + k]
    cursor[i] = c + 1
    return c + 1 >= bank.shape[1]


def mountaincar_step_c(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                       obs, rewards, terminated, truncated, final_obs):
    """N MountainCar-v0 steps with autoreset (arguments and statuses as
    cartpole_step_c's; actions 0, 1, 2 push left, not at all, right)."""
    N = state.shape[0]
    rc = _entry(actions, 3, cursor, bank.shape[1])
    if rc != -1:
        return rc
    empty = False
    for i in range(N):
        if not same_step and reset[i] != 0:
            empty |= _mc_reset_to(state, bank, cursor, i)
            obs[i, 0] = state[i, 0]
            obs[i, 1] = state[i, 1]
            _cleared(i, steps, rewards, terminated, truncated, reset)
            continue
        # gymnasium's arithmetic: velocity += (a - 1) force + cos(3 position) (-gravity)
        position = state[i, 0]
        velocity = state[i, 1] + ((actions[i] - 1) * 0.001 + cos(3 * position) * (-0.0025))
        velocity = -0.07 if velocity < -0.07 else (0.07 if velocity > 0.07 else velocity)
        position = position + velocity
        position = -1.2 if position < -1.2 else (0.6 if position > 0.6 else position)
        if position == -1.2 and velocity < 0:
            velocity = 0.0
        state[i, 0] = position
        state[i, 1] = velocity
        obs[i, 0] = position
        obs[i, 1] = velocity
        if _ended(i, position >= 0.5 and velocity >= 0, -1.0, steps, max_steps, rewards,
                  terminated, truncated, reset) and same_step:
            final_obs[i, 0] = obs[i, 0]
            final_obs[i, 1] = obs[i, 1]
            empty |= _mc_reset_to(state, bank, cursor, i)
            obs[i, 0] = state[i, 0]
            obs[i, 1] = state[i, 1]
            steps[i] = 0
    return -2 if empty else -1


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(d1=cython.double, d2=cython.double, phi1=cython.double, phi2=cython.double,
               dd2=cython.double, pi=cython.double)
def _acrobot_derivs(t1: cython.double, t2: cython.double, w1: cython.double,
                    w2: cython.double, a: cython.double, two: cython.double,
                    k: cython.double[:, ::1], row: cython.Py_ssize_t) -> cython.void:
    """k[row] <- d/dt (theta1, theta2, dtheta1, dtheta2) under torque a: the
    book's equations in gymnasium's AcrobotEnv._dsdt, operation for operation
    (its squares of variables are C pow calls, hence pow(x, two))."""
    pi = 3.141592653589793
    d1 = 1.0 * 0.5 ** 2 + 1.0 * (1.0 ** 2 + 0.5 ** 2 + 2 * 1.0 * 0.5 * cos(t2)) + 1.0 + 1.0
    d2 = 1.0 * (0.5 ** 2 + 1.0 * 0.5 * cos(t2)) + 1.0
    phi2 = 1.0 * 0.5 * 9.8 * cos(t1 + t2 - pi / 2.0)
    phi1 = (-1.0 * 1.0 * 0.5 * pow(w2, two) * sin(t2)
            - 2 * 1.0 * 1.0 * 0.5 * w2 * w1 * sin(t2)
            + (1.0 * 0.5 + 1.0 * 1.0) * 9.8 * cos(t1 - pi / 2)
            + phi2)
    dd2 = (a + d2 / d1 * phi1 - 1.0 * 1.0 * 0.5 * pow(w1, two) * sin(t2) - phi2) / (
        1.0 * 0.5 ** 2 + 1.0 - pow(d2, two) / d1)
    k[row, 0] = w1
    k[row, 1] = w2
    k[row, 2] = -(d2 * dd2 + phi1) / d1
    k[row, 3] = dd2


def acrobot_step_c(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                   obs, rewards, terminated, truncated, final_obs, work):
    """N Acrobot-v1 steps with autoreset (arguments and statuses as
    cartpole_step_c's; actions 0, 1, 2: torque -1, 0, +1; obs (N, 6)). bank
    (N, K, 10): each reset's state (4) and observation (6), computed by the
    caller as gymnasium computes them (its reset rounds the state to float32
    and takes float32 cos and sin). work (6, 4) float64 scratch with
    work[5, 0] = 2.0, the exponent of gymnasium's squares, read at run time
    so that no compiler turns pow(x, 2) into x * x (which rounds
    differently in about 0.1% of cases)."""
    N = state.shape[0]
    rc = _entry(actions, 3, cursor, bank.shape[1])
    if rc != -1:
        return rc
    two = work[5, 0]
    pi = 3.141592653589793
    dt = 0.2
    dt2 = dt / 2.0
    empty = False
    for i in range(N):
        if not same_step and reset[i] != 0:
            empty |= _acrobot_reset_to(state, obs, bank, cursor, i)
            _cleared(i, steps, rewards, terminated, truncated, reset)
            continue
        a = 1.0 * (actions[i] - 1)  # gymnasium's AVAIL_TORQUE[a]
        # rk4 over [0, dt], gymnasium's stages (row 4 of work holds a stage's y)
        _acrobot_derivs(state[i, 0], state[i, 1], state[i, 2], state[i, 3], a, two, work, 0)
        for j in range(3):
            h = dt if j == 2 else dt2
            for k in range(4):
                work[4, k] = state[i, k] + h * work[j, k]
            _acrobot_derivs(work[4, 0], work[4, 1], work[4, 2], work[4, 3], a, two, work,
                            j + 1)
        for k in range(4):
            work[4, k] = state[i, k] + dt / 6.0 * (
                work[0, k] + 2 * work[1, k] + 2 * work[2, k] + work[3, k])
        for k in range(2):  # wrap the angles into [-pi, pi]
            x = work[4, k]
            while x > pi:
                x = x - (pi - -pi)
            while x < -pi:
                x = x + (pi - -pi)
            state[i, k] = x
        state[i, 2] = min(max(work[4, 2], -4 * pi), 4 * pi)
        state[i, 3] = min(max(work[4, 3], -9 * pi), 9 * pi)
        te = -cos(state[i, 0]) - cos(state[i, 1] + state[i, 0]) > 1.0
        obs[i, 0] = cos(state[i, 0])
        obs[i, 1] = sin(state[i, 0])
        obs[i, 2] = cos(state[i, 1])
        obs[i, 3] = sin(state[i, 1])
        obs[i, 4] = state[i, 2]
        obs[i, 5] = state[i, 3]
        if _ended(i, te, 0.0 if te else -1.0, steps, max_steps, rewards, terminated, truncated,
                  reset) and same_step:
            for k in range(6):
                final_obs[i, k] = obs[i, k]
            empty |= _acrobot_reset_to(state, obs, bank, cursor, i)
            steps[i] = 0
    return -2 if empty else -1


# ---- the Cython backend's registry kernels: the *_c functions without the GIL
# (numba's are jits of the same *_c bodies, fastpg._numba.envs)

def cartpole_step(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                  obs, rewards, terminated, truncated, final_obs):
    with cython.nogil:
        rc = cartpole_step_c(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                             obs, rewards, terminated, truncated, final_obs)
    return rc


def cartpole_step_parallel(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                           obs, rewards, terminated, truncated, final_obs):
    flags = np.zeros(ENV_CHUNKS, np.int64)
    with cython.nogil:
        rc = cartpole_step_parallel_c(state, actions, bank, cursor, steps, reset, max_steps,
                                      same_step, obs, rewards, terminated, truncated, final_obs,
                                      flags)
    return rc


def cartpole_rollout(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                     actions_out, rewards_out, terminated_out, truncated_out, logp_out):
    work = np.empty((2, u.shape[1]))
    with cython.nogil:
        rc = cartpole_rollout_c(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                                actions_out, rewards_out, terminated_out, truncated_out,
                                logp_out, work)
    return rc


def cartpole_rollout_parallel(W, u, state, bank, cursor, steps, reset, max_steps, obs_out,
                              actions_out, rewards_out, terminated_out, truncated_out,
                              logp_out):
    work = np.empty((2, u.shape[1]))
    flags = np.zeros(ENV_CHUNKS, np.int64)
    with cython.nogil:
        rc = cartpole_rollout_parallel_c(W, u, state, bank, cursor, steps, reset, max_steps,
                                         obs_out, actions_out, rewards_out, terminated_out,
                                         truncated_out, logp_out, work, flags)
    return rc


def mountaincar_step(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                     obs, rewards, terminated, truncated, final_obs):
    with cython.nogil:
        rc = mountaincar_step_c(state, actions, bank, cursor, steps, reset, max_steps,
                                same_step, obs, rewards, terminated, truncated, final_obs)
    return rc


def acrobot_step(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                 obs, rewards, terminated, truncated, final_obs):
    work = np.zeros((6, 4))
    work[5, 0] = 2.0
    with cython.nogil:
        rc = acrobot_step_c(state, actions, bank, cursor, steps, reset, max_steps, same_step,
                            obs, rewards, terminated, truncated, final_obs, work)
    return rc
