"""The seed environments compiled (GridWorld, the three-state MDP, the HOML MDP,
any TabularMDP) against their Python envs under gymnasium's SyncVectorEnv,
the kernel against its reference, seeding, spaces and bad input."""
from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import fastpg.envs  # noqa: F401  (registers the ids)
from fastpg import _backend
from fastpg.bench.specs import TABULAR_ENV_DIMS, _tabular_env
from fastpg.envs import (GridWorld, GridWorldVectorEnv, TabularMDPVectorEnv,
                         ThreeStateMDPVectorEnv, homl_mdp_vector)
from fastpg.envs.gridworld import MOVES
from fastpg.reference import tabular_envs as ref

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]


def _to_goal(layout):
    """The GridWorld's shortest-path action from each cell (breadth-first
    search back from the goal): a policy that reaches the goal."""
    g = GridWorld(layout)
    best = np.zeros(g.n_states, np.int64)
    seen = {g.goal}
    q = deque([g.goal])
    while q:
        p = q.popleft()
        for a, (dr, dc) in enumerate(MOVES):
            prev = (p[0] - dr, p[1] - dc)
            if not g.walls[prev] and prev not in seen:
                seen.add(prev)
                best[g.index(prev)] = a
                q.append(prev)
    return best


def _policy(env_id, sync, rng):
    """Actions for the Python envs' current states: possible ones (HOML),
    mostly towards the goal (GridWorld), else uniform."""
    envs = [e.unwrapped for e in sync.envs]
    if "HOML" in env_id:
        return np.array([rng.choice(np.flatnonzero(e.action_mask[e.state])) for e in envs])
    if "GridWorld" in env_id:
        best = _to_goal(envs[0].layout_name)
        greedy = np.array([best[e.index(e.pos)] for e in envs])
        return np.where(rng.random(len(envs)) < 0.7, greedy, rng.integers(0, 4, len(envs)))
    return rng.integers(0, 3, len(envs))


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("env_id, kwargs", [
    ("fastpg/ThreeStateMDP-v0", {}),
    ("fastpg/HOMLMDP-v0", {"max_steps": 7}),
    ("fastpg/GridWorld-v0", {"max_episode_length": 40}),
    ("fastpg/GridWorldObstacle-v0", {"observation_type": "grid", "max_episode_length": 40}),
    ("fastpg/GridWorld-v0", {"observation_type": "agent_goal_pos"}),
    ("fastpg/GridWorldObstacle-v0", {"observation_type": "agent_onehot"}),
], ids=lambda v: str(v))
def test_rollouts_equal_the_python_envs(backend, mode, env_id, kwargs):
    """8 envs, the same seed and actions: every observation, reward, flag and
    final observation equals gymnasium's SyncVectorEnv of the Python env,
    across thousands of episode ends and bank refills, and after a reset
    without a seed half way (each env's generator goes on)."""
    n, steps = 8, (600 if backend == "numpy" else 3000)
    fast = gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, backend=backend, **kwargs)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": mode}, **kwargs)
    assert type(fast).__module__ == "fastpg.envs.tabular_vector"
    assert fast.single_observation_space == sync.single_observation_space
    assert fast.single_action_space == sync.single_action_space
    rng = np.random.default_rng(5)
    ends = goals = 0
    for t in range(steps):
        if t in (0, steps // 2):
            seed = 11 if t == 0 else None
            a, b = fast.reset(seed=seed)[0], sync.reset(seed=seed)[0]
            assert a.dtype == b.dtype and np.array_equal(a, b)
        actions = _policy(env_id, sync, rng)
        got, want = fast.step(actions), sync.step(actions)
        for k in range(4):
            assert np.asarray(got[k]).dtype == np.asarray(want[k]).dtype
            assert np.array_equal(got[k], want[k]), (t, k)
        if "_final_obs" in want[4]:
            assert np.array_equal(got[4]["_final_obs"], want[4]["_final_obs"])
            for i in np.flatnonzero(want[4]["_final_obs"]):
                assert np.array_equal(got[4]["final_obs"][i], want[4]["final_obs"][i])
        if "action_mask" in want[4]:
            assert np.array_equal(got[4]["action_mask"], want[4]["action_mask"])
        ends += int((got[2] | got[3]).sum())
        goals += int((got[2] & (got[1] > 0)).sum())
    assert ends > n * 10
    if "GridWorld" in env_id:
        assert goals > n  # the goal was reached, not only the time limit


@pytest.mark.parity
@pytest.mark.parametrize("same_step", [0, 1])
@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(2, 5))
def test_kernel_equals_the_reference(backend, same_step, seed, K):
    """Random MDPs (deterministic and random transitions, terminal states,
    horizons, random and fixed starts) stepped 30 times with tiny banks,
    refilled between calls as the vector env does: every array equal."""
    rng = np.random.default_rng(seed)
    args = list(_tabular_env(dict(TABULAR_ENV_DIMS["small"], N=13, K=K), np.float64, rng)[0])
    args[15] = same_step
    kern = _backend.kernel("tabular_envs", "mdp_step", backend)
    mine = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    for _ in range(30):
        rc_ref, rc = ref.mdp_step(*args), kern(*mine)
        assert rc == rc_ref
        for x, y in zip(args, mine):
            if isinstance(x, np.ndarray):
                assert np.array_equal(x, y)
        mask = args[3]
        if rc >= 0:  # an impossible action: nothing changed; pick possible ones
            break
        for a in (args, mine):
            a[9] = np.array([rng.choice(np.flatnonzero(mask[s])) for s in a[8]])
            full = a[11] > K - 2
            a[10][full] = rng.random((int(full.sum()), K))
            a[11][full] = 0
        mine[9] = args[9].copy()
        mine[10] = args[10].copy()


def test_hand_computed_three_state_steps():
    """The three-state MDP from state 0, action 1 (reward 1), with the
    uniform 0.05 (below 0.1: state 0) then 0.5 (between 0.1 and 0.8: state 1)."""
    env = ThreeStateMDPVectorEnv(1)
    env.reset(seed=0)
    env._raw[0, :2, 0] = (0.05, 0.5)
    env._cursor[0] = 0
    obs, r, te, tr, _ = env.step(np.array([1]))
    assert np.array_equal(obs, [[1, 0, 0]]) and r[0] == 1.0 and not te[0] and not tr[0]
    obs, r, *_ = env.step(np.array([0]))
    assert np.array_equal(obs, [[0, 1, 0]]) and r[0] == -1.0


def test_horizon_terminates_after_five_steps(backend):
    env = ThreeStateMDPVectorEnv(3, backend=backend)
    env.reset(seed=1)
    for t in range(5):
        _, _, te, tr, _ = env.step(np.zeros(3, np.int64))
        assert te.all() == (t == 4) and not tr.any()
    obs, r, te, tr, _ = env.step(np.zeros(3, np.int64))  # next-step autoreset
    assert np.array_equal(obs, np.tile([1, 0, 0], (3, 1))) and not r.any() and not te.any()


def test_gridworld_bump_goal_and_truncation(backend):
    env = GridWorldVectorEnv(2, max_episode_length=3, backend=backend)
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [22, 22]  # row 2, column 2
    obs, r, te, tr, _ = env.step(np.array([0, 3]))  # up: free; right: free
    assert obs.tolist() == [12, 23] and r.tolist() == [0, 0]
    obs, r, te, tr, _ = env.step(np.array([0, 3]))  # walls both ways: stay, -5
    assert obs.tolist() == [12, 23] and r.tolist() == [-5, -5]
    obs, r, te, tr, _ = env.step(np.array([1, 1]))
    assert tr.all() and not te.any()
    g = GridWorldVectorEnv(1, layout="simple", backend=backend)
    g.reset(seed=0)
    for a in [1] * 5:  # (2, 2) down to the goal at (7, 2)
        obs, r, te, tr, _ = g.step(np.array([a]))
    assert obs.tolist() == [72] and r.tolist() == [10.0] and te[0] and not tr[0]


def test_seeds_differ_and_repeat_across_backends():
    runs = {}
    for b in _backend.available_backends():
        env = ThreeStateMDPVectorEnv(4, backend=b)
        env.reset(seed=7)
        runs[b] = np.stack([env.step(np.ones(4, np.int64))[0].argmax(1) for _ in range(40)])
    first = next(iter(runs.values()))
    assert all(np.array_equal(first, r) for r in runs.values())
    assert len({tuple(first[:, i]) for i in range(4)}) > 1  # env i is seeded 7 + i


@pytest.mark.parametrize("actions, err, match", [
    ([0, 4, 0], ValueError, r"actions\[1\]"),
    ([0, 0], ValueError, "3"),
    ([0.0, 1.0, 0.0], TypeError, "integer"),
    ([0, 1, 1], ValueError, r"actions\[1\] = 1 is not possible in env 1's state 1 "
                            r"\(possible: \[0, 2\]\)"),
])
def test_bad_actions_raise_before_any_change(backend, actions, err, match):
    env = homl_mdp_vector(3, backend=backend)
    env.reset(seed=0)
    env._state[:] = 1  # s1: actions 0 and 2
    before = [env._state.copy(), env._cursor.copy(), env._steps.copy()]
    with pytest.raises(err, match=match):
        env.step(actions)
    assert all(np.array_equal(x, y) for x, y in
               zip(before, [env._state, env._cursor, env._steps]))


def test_a_pending_reset_ignores_its_action():
    """NEXT_STEP: the step after an episode's end resets the env whatever its
    action, so an action impossible in the old state is not an error."""
    env = TabularMDPVectorEnv(np.eye(2)[[1, 1]][:, None, :].repeat(2, 1), np.zeros((2, 2)),
                              0, [[0, 1], [0]], terminal_states=[1], num_envs=1)
    env.reset(seed=0)
    assert env.step(np.array([1]))[2][0]  # s0 -> s1, terminal
    obs, *_ = env.step(np.array([1]))  # action 1 is impossible in s1, but s1 is over
    assert obs.tolist() == [0]


def test_bad_construction_and_options():
    with pytest.raises(ValueError, match="layout"):
        GridWorldVectorEnv(2, layout="maze")
    with pytest.raises(ValueError, match="P must"):
        TabularMDPVectorEnv(np.ones((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="num_envs"):
        ThreeStateMDPVectorEnv(0)
    env = ThreeStateMDPVectorEnv(2)
    with pytest.raises(ValueError, match="no reset options"):
        env.reset(options={"low": 0})
    with pytest.raises(RuntimeError, match="reset"):
        ThreeStateMDPVectorEnv(2).step([0, 0])
