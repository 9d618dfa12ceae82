"""The env kernels' banks of reset draws at their ends: a caller that did
not refill gets a status before anything changes (no kernel reads outside
a bank, on any backend), and a fused rollout whose pending resets use a
bank's last record stops before it steps (the caller refills, the next
call goes on)."""
import copy

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from fastpg import _backend
from fastpg.bench.specs import BY_NAME
from fastpg.envs import CartPoleVectorEnv

#: kernel: (its family, where its bank is in its arguments (the cursor
#: follows), the records one call may draw, the used-up-bank status)
BANKED = {"cartpole_step": ("envs", 2, 1, -3), "cartpole_step_parallel": ("envs", 2, 1, -3),
          "cartpole_rollout": ("envs", 3, 1, -1), "cartpole_rollout_parallel": ("envs", 3, 1, -1),
          "mountaincar_step": ("envs", 2, 1, -3),
          "acrobot_step": ("envs", 2, 1, -3), "mdp_step": ("tabular_envs", 10, 2, -3)}


def _call(backend, name, args):
    if name.endswith("_parallel"):
        if backend == "numpy":
            pytest.skip("the reference has no multi-threaded variant")
        return getattr(_backend._load(backend, "envs"), name)(*args)
    return _backend.kernel(BANKED[name][0], name, backend)(*args)


@pytest.mark.parametrize("name", list(BANKED))
@pytest.mark.parametrize("cursor", ["at the end", "past the end", "negative"])
def test_a_used_up_bank_is_refused_before_any_change(backend, name, cursor):
    family, at, need, status = BANKED[name]
    args, _ = BY_NAME[name.replace("_parallel", "")].args("small", np.float64)
    bank, cur = args[at], args[at + 1]
    K = bank.shape[1]
    cur[7] = {"at the end": K - need + 1, "past the end": K + 5, "negative": -1}[cursor]
    before = copy.deepcopy(args)
    assert _call(backend, name, args) == status
    for i, (a, b) in enumerate(zip(args, before)):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b), f"argument {i} changed"


@pytest.mark.parametrize("name", [n for n in BANKED if not n.startswith("cartpole_rollout")])
def test_an_invalid_action_is_named_first(backend, name):
    """Both faults: the step kernels report the action (which the env names
    in its error), still before any change."""
    family, at, need, status = BANKED[name]
    args, _ = BY_NAME[name.replace("_parallel", "")].args("small", np.float64)
    args[at + 1][3] = -1
    actions = args[9] if family == "tabular_envs" else args[1]
    actions[5] = 99
    before = copy.deepcopy(args)
    assert _call(backend, name, args) == 5
    assert all(np.array_equal(a, b) for a, b in zip(args, before) if isinstance(a, np.ndarray))


@pytest.mark.parametrize("max_episode_steps", [1, 2])
def test_a_rollout_after_a_pending_reset_with_one_record_left(backend, max_episode_steps):
    """Episodes of one or two steps: an env with a pending reset and one
    record left in its bank starts the rollout with that reset (the
    observation step() would give) and then ends its episodes on schedule;
    every backend gives the reference's rollout."""
    def scenario(be):
        env = CartPoleVectorEnv(3, max_episode_steps=max_episode_steps, backend=be)
        twin = CartPoleVectorEnv(3, max_episode_steps=max_episode_steps, backend=be)
        for e in (env, twin):
            e.reset(seed=4)
        a = np.zeros(3, np.int64)
        for _ in range(10 * env.BANK):  # until env 0 waits to reset on its last record
            for e in (env, twin):
                e.step(a)
            if env._reset[0] and env._cursor[0] == env.BANK - 1:
                break
        else:
            pytest.fail("the scenario was not reached")
        roll = env.rollout(np.zeros((5, 2)), 3 * env.BANK, rng=1)
        return roll, twin.step(a)[0]

    roll, first = scenario(backend)
    assert np.array_equal(roll.observations[0], first)
    steps = np.arange(1, len(roll.truncated) + 1)  # env 0's, from its pending reset
    assert np.array_equal(roll.truncated[:, 0], steps % max_episode_steps == 0)
    want, _ = scenario("numpy")
    for g, w in zip(roll, want):
        assert g.dtype == w.dtype and np.array_equal(g, w)


def test_the_env_refuses_a_bank_it_did_not_refill():
    """Were a bank ever used up (it is refilled after every call that needs
    it), step() and rollout() raise instead of returning a stale state."""
    env = CartPoleVectorEnv(2, autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset(seed=0)
    env._cursor[1] = env.BANK
    state = env._state.copy()
    with pytest.raises(RuntimeError, match="used up before the step"):
        env.step(np.array([0, 1]))
    with pytest.raises(RuntimeError, match="used up before the rollout"):
        env.rollout(np.zeros((5, 2)), 4)
    assert np.array_equal(state, env._state)
