# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: infer_types=True
"""The tabular environment kernel, one source for both compilers (semantics
and argument layout: fastpg.reference.tabular_envs; how one source works:
fastpg/_kernels/tabular.py and docs/design.md). Cython compiles it as
``fastpg._cy.tabular_envs``, typed by src_cython/tabular_envs.pxd; numba
jits the same function (fastpg._numba.tabular_envs).

Each env is one row: a state index, its action, a table lookup and, for a
random transition or reset, the env's next banked uniform.
"""
import cython

if not cython.compiled:  # compiled, these are C names cimported by tabular_envs.pxd
    from ._py import int64_t


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(j=cython.Py_ssize_t, n=cython.Py_ssize_t)
def _drawn(cdf: cython.const[cython.double][::1], u: cython.double) -> int64_t:
    """NumPy's searchsorted(cdf, u, side="right") capped at len(cdf) - 1,
    for a non-decreasing cdf: the first entry above u."""
    n = cdf.shape[0]
    j = 0
    while j < n - 1 and cdf[j] <= u:
        j += 1
    return j


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
@cython.locals(s=int64_t)
def _restart(start_cdf: cython.const[cython.double][::1], start_state: int64_t,
             state: int64_t[::1], bank: cython.const[cython.double][:, ::1],
             cursor: int64_t[::1], steps: int64_t[::1], i: cython.Py_ssize_t) -> int64_t:
    """Env i's new episode: its start state, drawn with its next uniform
    unless ``start_state`` is fixed."""
    if start_state >= 0:
        s = start_state
    else:
        s = _drawn(start_cdf, bank[i, cursor[i]])
        cursor[i] += 1
    state[i] = s
    steps[i] = 0
    return s


def mdp_step_c(nxt, cdf, R, mask, terminal, start_cdf, start_state, horizon, state, actions,
               bank, cursor, steps, reset, max_steps, same_step, obs, rewards, terminated,
               truncated, final_obs):
    """N steps of a finite MDP with autoreset: -1; -2 when a bank is nearly
    used up; and, before anything changed, the first invalid action's env,
    else -3 when a bank was nearly used up before the call (fewer than the
    two uniforms a call may draw: a caller that did not refill)."""
    N = state.shape[0]
    A = nxt.shape[1]
    K = bank.shape[1]
    for i in range(N):
        a = actions[i]
        if a < 0 or a >= A:
            return i
        if (same_step or reset[i] == 0) and mask[state[i], a] == 0:
            return i
    for i in range(N):
        if cursor[i] < 0 or cursor[i] > K - 2:
            return -3
    for i in range(N):
        if not same_step and reset[i] != 0:
            obs[i] = _restart(start_cdf, start_state, state, bank, cursor, steps, i)
            rewards[i] = 0.0
            terminated[i] = 0
            truncated[i] = 0
            reset[i] = 0
            continue
        s = state[i]
        a = actions[i]
        s2 = nxt[s, a]
        if s2 < 0:
            s2 = _drawn(cdf[s, a], bank[i, cursor[i]])
            cursor[i] += 1
        state[i] = s2
        obs[i] = s2
        rewards[i] = R[s, a, s2]
        steps[i] += 1
        te = terminal[s2] != 0 or (horizon > 0 and steps[i] >= horizon)
        tr = not te and steps[i] >= max_steps
        terminated[i] = 1 if te else 0
        truncated[i] = 1 if tr else 0
        reset[i] = 1 if te or tr else 0
        if same_step and (te or tr):
            final_obs[i] = s2
            obs[i] = _restart(start_cdf, start_state, state, bank, cursor, steps, i)
    for i in range(N):
        if cursor[i] > K - 2:
            return -2
    return -1


# ---- the Cython backend's registry kernel: mdp_step_c without the GIL (numba's
# is a jit of the same body, fastpg._numba.tabular_envs)

def mdp_step(nxt, cdf, R, mask, terminal, start_cdf, start_state, horizon, state, actions,
             bank, cursor, steps, reset, max_steps, same_step, obs, rewards, terminated,
             truncated, final_obs):
    with cython.nogil:
        rc = mdp_step_c(nxt, cdf, R, mask, terminal, start_cdf, start_state, horizon, state,
                        actions, bank, cursor, steps, reset, max_steps, same_step, obs, rewards,
                        terminated, truncated, final_obs)
    return rc
