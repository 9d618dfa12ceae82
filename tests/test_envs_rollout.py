"""CartPole-v1's fused rollout (the linear softmax policy and the envs in
one kernel call): the kernel against the reference bit for bit, the rollout
against the same policy stepping the env, ``out=``, bad input, and the agents
that train on it."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given
from hypothesis import strategies as st

import fastpg.envs  # noqa: F401  (registers fastpg/CartPole-v1)
from fastpg import _backend
from fastpg.envs import CartPoleVectorEnv
from fastpg.reference import envs as ref


def _rollout_outputs(T, N):
    return [np.zeros((T, N, 4), np.float32), np.zeros((T, N), np.int64), np.zeros((T, N)),
            np.zeros((T, N), np.uint8), np.zeros((T, N), np.uint8), np.zeros((T, N))]


@pytest.mark.parity
@pytest.mark.parametrize("variant", ["", "_parallel"])
@given(seed=st.integers(0, 2**32 - 1), K=st.sampled_from([1, 2, 3, 4, 100, 200]),
       max_steps=st.sampled_from([1, 2, 500]), N=st.sampled_from([1, 3, 8, 12, 17, 33]))
def test_rollout_kernel_equals_the_reference(backend, variant, seed, K, max_steps, N):
    """Fused rollouts with banks so small that the kernel stops and resumes
    every few steps (episodes of 1 and 2 steps too: pending resets that use
    a bank's last record), or large enough that the multi-threaded variant
    runs a whole call on its threads: every call's step count, every output
    and the envs' state equal the reference's bit for bit, for env counts
    around the vector widths of the kernel's per-step loops."""
    rng = np.random.default_rng(seed)
    T = 120
    W, u = rng.standard_normal((5, 2)) * 3, rng.random((T, N))
    base = [rng.uniform(-0.05, 0.05, (N, 4)), rng.random((N, K, 4)), rng.integers(0, K, N),
            rng.integers(0, max_steps, N), (rng.random(N) < 0.3).astype(np.uint8)]

    def run(fn):
        st8 = [a.copy() for a in base]
        outs, calls, done = _rollout_outputs(T, N), [], 0
        while done < T:
            calls.append(fn(W, u[done:], *st8, max_steps, *(o[done:] for o in outs)))
            done += calls[-1]
            st8[2][st8[2] >= K] = 0  # the caller's refill (here: the same bank again)
        return calls, st8, outs

    want = run(ref.cartpole_rollout)
    got = run(getattr(_backend._load(backend, "envs"), "cartpole_rollout" + variant))
    assert got[0] == want[0]
    for g, w in zip(got[1] + got[2], want[1] + want[2]):
        assert g.dtype == w.dtype and np.array_equal(g, w)


def test_rollout_is_the_policy_stepping_the_env(backend):
    """A fused rollout equals the same policy run through the public pieces:
    logits x W[:4] + W[4] (the kernel's order of summation), then
    fastpg.sample_categorical with the same Generator, then step() with
    same-step autoreset; and the envs carry on identically afterwards."""
    import fastpg
    N, T = 16, 700  # past 500 steps, a policy that balances some poles: both flags
    W = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 8.0], [0.0, 2.0], [0.1, -0.05]])
    fused = CartPoleVectorEnv(N, autoreset_mode=AutoresetMode.SAME_STEP, backend=backend)
    stepped = CartPoleVectorEnv(N, autoreset_mode=AutoresetMode.SAME_STEP, backend=backend)
    obs, _ = fused.reset(seed=2)
    stepped.reset(seed=2)
    roll = fused.rollout(W, T, rng=np.random.default_rng(9))
    g = np.random.default_rng(9)
    for t in range(T):
        x = obs.astype(np.float64)
        logits = x[:, :1] * W[0] + x[:, 1:2] * W[1] + x[:, 2:3] * W[2] + x[:, 3:] * W[3] + W[4]
        a = fastpg.sample_categorical(logits, g, backend="numpy")
        assert np.array_equal(roll.observations[t], obs) and np.array_equal(roll.actions[t], a)
        lp = fastpg.log_softmax(logits, backend="numpy")[np.arange(N), a]
        np.testing.assert_allclose(roll.log_probs[t], lp, rtol=1e-12, atol=1e-12)
        obs, r, te, tr, _ = stepped.step(a)
        assert np.array_equal(roll.rewards[t], r) and np.array_equal(roll.terminated[t], te)
        assert np.array_equal(roll.truncated[t], tr)
    assert roll.truncated.any() and roll.terminated.any()
    a = np.ones(N, np.int64)
    assert all(np.array_equal(x, y) for x, y in zip(fused.step(a)[:4], stepped.step(a)[:4]))


def test_rollout_bad_input():
    env = CartPoleVectorEnv(3)
    with pytest.raises(RuntimeError, match="reset"):
        env.rollout(np.zeros((5, 2)), 10)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"W must have shape \(5, 2\)"):
        env.rollout(np.zeros((4, 2)), 10)
    with pytest.raises(ValueError, match="W"):
        env.rollout(np.full((5, 2), np.nan), 10)
    with pytest.raises(ValueError, match="steps"):
        env.rollout(np.zeros((5, 2)), 0)
    with pytest.raises(TypeError, match="rng"):
        env.rollout(np.zeros((5, 2)), 5, rng="seed")
    state = env._state.copy()
    assert np.array_equal(state, env._state)  # nothing ran


def test_many_envs_roll_out_on_threads_with_the_same_results(backend, monkeypatch):
    """From 512 envs the rollout runs the kernel's multi-threaded variant, in
    calls of half a bank's steps with every bank refilled ahead of each
    (compiled backends, more than one thread): the same results as the
    serial kernel's calls, and the envs carry on identically."""
    if backend == "numpy":
        pytest.skip("the reference has no multi-threaded variant")
    N, T = 512, 300
    # mostly pushing left: short episodes, so banks run low and refill often
    W = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.3], [0.0, 0.0], [1.0, 0.0]])
    if _backend.threads() > 1:
        assert _backend.parallel("cartpole_rollout", N * (CartPoleVectorEnv.BANK // 2))
    threads, serial = (CartPoleVectorEnv(N, backend=backend) for _ in range(2))
    for env in (threads, serial):
        env.reset(seed=6)
    for k in range(2):
        want = None
        with monkeypatch.context() as m:
            m.setitem(_backend.PARALLEL_MIN_BY_KERNEL, "cartpole_rollout", 2**62)
            want = serial.rollout(W, T, rng=k)
        got = threads.rollout(W, T, rng=k)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert want.terminated.sum() > 20 * N  # more resets per env than half a bank
    a = np.ones(N, np.int64)
    assert all(np.array_equal(x, y) for x, y in zip(threads.step(a)[:4], serial.step(a)[:4]))


def test_rollout_into_out(backend):
    """out=: the same results as fresh arrays, written into the caller's
    arrays (every element: they start as garbage) and returned."""
    W = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 8.0], [0.0, 2.0], [0.1, -0.05]])
    fresh, into = (CartPoleVectorEnv(5, backend=backend) for _ in range(2))
    fresh.reset(seed=4)
    into.reset(seed=4)
    fresh.rollout(W, 300, rng=1)
    out = into.rollout(W, 300, rng=1)
    for k in range(2, 4):
        for a in out:
            a.view(np.uint8)[...] = 0xAB
        want = fresh.rollout(W if k == 2 else W * 0.5, 300, rng=k)
        got = into.rollout(W if k == 2 else W * 0.5, 300, rng=k, out=out)
        assert got is out and all(g.dtype == w.dtype and np.array_equal(g, w)
                                  for g, w in zip(got, want))
    want = fresh.rollout(W, 300, rng=5)
    got = into.rollout(W, 300, rng=5, out=tuple(out))  # a plain tuple of the arrays
    assert all(np.array_equal(g, w) for g, w in zip(got, want))


def test_rollout_out_bad_input():
    """A bad out= is refused before anything changes: no step, no draw."""
    from fastpg.envs.cartpole import Rollout
    env = CartPoleVectorEnv(3)
    env.reset(seed=0)
    W = np.zeros((5, 2))
    good = env.rollout(W, 4, rng=0)
    shared = np.zeros(60)
    bad = [
        ((good.observations,) * 2, TypeError, "tuple of 6 arrays"),
        (list(good), TypeError, "tuple of 6 arrays"),
        (good._replace(actions=good.actions.astype(np.int32)), TypeError, "out.actions"),
        (good._replace(rewards=np.zeros((5, 3))), ValueError, r"out.rewards must have shape"),
        (good._replace(terminated=good.terminated.view(np.uint8)), TypeError, "bool"),
        (good._replace(log_probs=np.zeros((3, 4)).T), ValueError, "C-contiguous"),
        (good._replace(log_probs=good.rewards), ValueError, "shares memory"),
        (good._replace(rewards=shared[:12].reshape(4, 3), log_probs=shared[6:18].reshape(4, 3)),
         ValueError, "shares memory"),
    ]
    ro = good.log_probs.copy()
    ro.flags.writeable = False
    bad.append((good._replace(log_probs=ro), ValueError, "read-only"))
    for out, err, match in bad:
        state, cursor, g = env._state.copy(), env._cursor.copy(), np.random.default_rng(7)
        with pytest.raises(err, match=match):
            env.rollout(W, 4, rng=g, out=out)
        assert np.array_equal(state, env._state) and np.array_equal(cursor, env._cursor)
        assert g.random() == np.random.default_rng(7).random()  # no draw was taken
    Wv = good.log_probs.reshape(-1)[:10].reshape(5, 2)  # W read while log_probs is written
    with pytest.raises(ValueError, match="W shares memory with out.log_probs"):
        env.rollout(Wv, 4, rng=0, out=good)
    assert isinstance(env.rollout(W, 4, rng=0, out=Rollout(*good)), Rollout)


@pytest.mark.parametrize("num_envs", [1, 8])
def test_reinforce_solves_cartpole_on_fused_rollouts(num_envs, monkeypatch):
    """Reinforce on fastpg/CartPole-v1 runs its policy in the env's fused
    rollouts (never through step) and reaches a mean of 475 over 100
    episodes for each of seeds 0-4 (CartPole-v1's threshold)."""
    from fastpg.agents import Reinforce
    monkeypatch.setattr(CartPoleVectorEnv, "step", None)  # the fused path only
    # on the reference (a Python loop per env step) two seeds suffice
    compiled = _backend.resolve("cartpole_rollout") != "numpy"
    for seed in range(5 if compiled else 2):
        env = gym.make_vec("fastpg/CartPole-v1", num_envs=num_envs)
        hist = Reinforce(env, seed=seed).train(env, episodes=3000, seed=seed, progress=False,
                                               target=475, stop_at_target=True)
        assert hist.solved_at is not None, seed
        assert hist.steps >= sum(hist.episode_lengths)  # plus unfinished episodes' steps


def test_reinforce_with_a_value_baseline_steps_the_env():
    """baseline="value" bootstraps from final observations, which fused
    rollouts do not keep: it goes through step() instead, and still learns."""
    from fastpg.agents import Reinforce
    env = gym.make_vec("fastpg/CartPole-v1", num_envs=4)
    hist = Reinforce(env, seed=0, baseline="value").train(env, episodes=200, seed=0,
                                                           progress=False)
    assert len(hist.episode_returns) >= 200 and hist.steps > 0


def test_cli_trains_reinforce_on_the_compiled_env(capsys):
    from fastpg.cli import main
    assert main(["train", "reinforce", "--env", "fastpg/CartPole-v1", "--num-envs", "8",
                 "--episodes", "1000", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "reinforce on fastpg/CartPole-v1" in out and "solved after" in out
