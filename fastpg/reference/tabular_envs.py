"""NumPy reference for the tabular environment kernel: the executable specification.

``mdp_step`` advances N environments of one finite MDP by one step each,
with gymnasium's vector autoreset rules. The MDP is given by tables, which
is how fastpg's seed environments compile (:mod:`fastpg.envs.tabular`): the
GridWorld (deterministic moves), the policy-gradient notebook's three-state
MDP (a fixed horizon) and the HOML MDP or any :class:`fastpg.envs.TabularMDP`
(impossible actions, terminal states, a time limit).

Arguments (every backend takes exactly these; the vector env validates and
owns them):

* ``nxt`` (S, A) int64: the next state of a deterministic transition, or -1
  where the next state is drawn from ``cdf``.
* ``cdf`` (S, A, S) float64: where ``nxt`` is -1, the next state is the
  number of entries of ``cdf[s, a]`` that are <= u, capped at S - 1, for
  the env's next uniform double u (NumPy's ``searchsorted(cdf[s, a], u,
  side="right")``: ``Generator.choice(S, p=p)`` with ``cdf`` its normalised
  cumulative sum, or ``TabularMDP``'s own rule with the plain cumulative
  sum). A deterministic transition draws nothing.
* ``R`` (S, A, S) float64: the reward of each transition.
* ``mask`` (S, A) uint8: the possible actions. An action outside 0..A-1, or
  impossible in an env's state (not checked for an env whose reset is
  pending: it ignores its action), makes the kernel return that env's index
  before it changes anything.
* ``terminal`` (S,) uint8: entering such a state terminates the episode.
* ``start_cdf`` (S,) float64 and ``start_state`` int: a reset starts in
  ``start_state`` when it is >= 0 (no draw), else in the state drawn from
  ``start_cdf`` with the env's next uniform (the rule of ``cdf``).
* ``horizon`` int: when > 0, an episode terminates after that many steps
  (the three-state MDP's 5).
* ``state`` (N,) int64, in/out: each env's state.
* ``actions`` (N,) int64.
* ``bank`` (N, K) float64 and ``cursor`` (N,) int64, in/out: each env's next
  K uniform doubles of its own generator, in the order the Python env would
  draw them (transitions and resets alike), and the next unused one. A call
  uses at most two per env; when fewer than two are left in any bank after
  it, the kernel returns -2 and the caller refills those banks, keeping
  their unused doubles first. A call that finds a cursor outside 0..K-2
  returns -3 before it changes anything (the kernel never reads outside
  the bank).
* ``steps`` (N,) int64, in/out: steps taken in the current episode.
* ``reset`` (N,) uint8, in/out: pending next-step autoresets on input (when
  ``same_step`` is 0), the envs whose episode ended in this call on output,
  as for :mod:`fastpg.reference.envs`.
* ``max_steps`` int: an episode that did not terminate is truncated when
  ``steps`` reaches it (the seed envs' own rule: never both flags).
* ``obs`` (N,) int64, ``rewards`` (N,) float64, ``terminated``,
  ``truncated`` (N,) uint8: out; ``obs`` is the state index (the vector env
  maps it to the observation type). With same-step autoreset ``obs`` is the
  new episode's first state and ``final_obs`` (N,) int64 the state the
  ending episode reached (rows of other envs are not written).

Returns -1; -2 when a bank is nearly used up (see ``bank``); -3 when it was
before the call; or the index of the first invalid action. With -3 or an
invalid action nothing changed (actions are checked first).

One step of env i in state s with action a::

    s' = nxt[s, a] if nxt[s, a] >= 0 else min(#{j : cdf[s, a, j] <= u}, S - 1)
    reward = R[s, a, s']
    terminated = terminal[s'] or (horizon > 0 and steps + 1 >= horizon)
    truncated = not terminated and steps + 1 >= max_steps
"""
from __future__ import annotations

import numpy as np


def _draw_index(cdf_row, u):
    return min(int(np.searchsorted(cdf_row, u, side="right")), len(cdf_row) - 1)


def mdp_step(nxt, cdf, R, mask, terminal, start_cdf, start_state, horizon, state, actions,
             bank, cursor, steps, reset, max_steps, same_step, obs, rewards, terminated,
             truncated, final_obs):
    S, A = nxt.shape
    for i in range(len(actions)):
        a = actions[i]
        if not 0 <= a < A or (not (reset[i] and not same_step) and not mask[state[i], a]):
            return i
    if ((cursor < 0) | (cursor > bank.shape[1] - 2)).any():
        return -3

    def draw(i):
        u = bank[i, cursor[i]]
        cursor[i] += 1
        return u

    def restart(i):
        state[i] = start_state if start_state >= 0 else _draw_index(start_cdf, draw(i))
        steps[i] = 0
        return state[i]

    for i in range(len(actions)):
        if not same_step and reset[i]:
            obs[i] = restart(i)
            rewards[i] = 0.0
            terminated[i] = truncated[i] = reset[i] = 0
            continue
        s, a = state[i], actions[i]
        s2 = nxt[s, a] if nxt[s, a] >= 0 else _draw_index(cdf[s, a], draw(i))
        state[i] = obs[i] = s2
        rewards[i] = R[s, a, s2]
        steps[i] += 1
        te = bool(terminal[s2]) or (horizon > 0 and steps[i] >= horizon)
        tr = not te and steps[i] >= max_steps
        terminated[i], truncated[i], reset[i] = te, tr, te or tr
        if same_step and (te or tr):
            final_obs[i] = s2
            obs[i] = restart(i)
    return -2 if (cursor > bank.shape[1] - 2).any() else -1
