"""Compiled vector envs, steps per second through the gymnasium API. CartPole-v1:
fastpg/CartPole-v1 (each backend) against gymnasium's NumPy
``CartPoleVectorEnv`` and its ``SyncVectorEnv`` of CartPole-v1 (64 envs),
at 64 and 1024 envs, random actions drawn before timing.

Run: pytest bench/bench_envs.py --benchmark-only (extra_info holds steps/s;
compare within one run). Each run checks its result: every step pays 1 per
env except those that reset (next-step autoreset pays 0), and fastpg's
envs must have run the same episodes as gymnasium's SyncVectorEnv from the
same seed (equal final observations); EnvPool and gymnax at 1024 envs when
installed. MountainCar-v0, Acrobot-v1 and the
compiled seed envs (GridWorld, the three-state MDP) at 64 envs against
gymnasium's SyncVectorEnv (of gymnasium's env, or of fastpg's Python env),
which is all gymnasium has for them.
"""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv as GymVector

import fastpg.envs  # noqa: F401  (registers fastpg/CartPole-v1)
from fastpg import _backend

STEPS = 200
BACKENDS = [b for b in _backend.BACKENDS if _backend.available(b)]


def _run(benchmark, make, n_envs):
    benchmark.group = f"cartpole step|{n_envs} envs"
    steps = 10 if benchmark.disabled else STEPS
    actions = np.random.default_rng(0).integers(0, 2, (steps, n_envs))
    res = {}

    def setup():
        env = make()
        env.reset(seed=0)
        return (env,), {}

    def run(env):
        paid = 0.0
        for t in range(steps):
            obs, rew, term, trunc, _ = env.step(actions[t])
            paid += rew.sum()
        res.update(obs=obs, paid=paid)

    benchmark.pedantic(run, setup=setup, rounds=1 if benchmark.disabled else 5, iterations=1)
    if benchmark.stats is not None:
        benchmark.extra_info["steps_per_s"] = steps * n_envs / benchmark.stats.stats.median
    assert 0.9 * steps * n_envs <= res["paid"] <= steps * n_envs
    return res, actions


@pytest.mark.parametrize("n_envs", [64, 1024])
@pytest.mark.parametrize("backend", BACKENDS)
def test_fastpg_cartpole(benchmark, backend, n_envs):
    if backend == "numpy" and not benchmark.disabled and n_envs > 64:
        pytest.skip("the reference is a Python loop per env: timed at 64 envs only")
    res, actions = _run(benchmark, lambda: gym.make_vec("fastpg/CartPole-v1", num_envs=n_envs,
                                                        backend=backend), n_envs)
    sync = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="sync")
    sync.reset(seed=0)
    for a in actions:
        obs = sync.step(a)[0]
    assert np.array_equal(res["obs"], obs)  # the same episodes as gymnasium's


@pytest.mark.parametrize("n_envs", [64, 1024])
def test_gymnasium_numpy_vector_env(benchmark, n_envs):
    _run(benchmark, lambda: GymVector(num_envs=n_envs), n_envs)


#: (gymnasium's or fastpg's Python env for SyncVectorEnv, actions); fastpg's
#: compiled env is "fastpg/<name>" or, for the seed envs, make_vec of the same id
OTHER_ENVS = [("MountainCar-v0", 3), ("Acrobot-v1", 3), ("fastpg/GridWorld-v0", 4),
              ("fastpg/ThreeStateMDP-v0", 3)]


@pytest.mark.parametrize("env_id, n_actions", OTHER_ENVS)
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_other_compiled_envs_against_sync(benchmark, backend, env_id, n_actions):
    """fastpg's other compiled envs at 64 envs (gymnasium has no vector form
    of them beyond SyncVectorEnv, timed below); the final observations equal
    SyncVectorEnv's after the same actions."""
    benchmark.group = f"{env_id} step|64 envs"
    steps = 10 if benchmark.disabled else STEPS
    actions = np.random.default_rng(0).integers(0, n_actions, (steps, 64))
    ours = gym.make_vec(env_id if env_id.startswith("fastpg/") else "fastpg/" + env_id,
                        num_envs=64, backend=backend)
    res = {}

    def run():
        ours.reset(seed=0)
        for a in actions:
            res["obs"] = ours.step(a)[0]

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 5, iterations=1)
    if benchmark.stats is not None:
        benchmark.extra_info["steps_per_s"] = steps * 64 / benchmark.stats.stats.median
    sync = gym.make_vec(env_id, num_envs=64, vectorization_mode="sync")
    sync.reset(seed=0)
    for a in actions:
        obs = sync.step(a)[0]
    assert np.array_equal(res["obs"], obs)


@pytest.mark.parametrize("env_id, n_actions", OTHER_ENVS)
def test_gymnasium_sync_other_envs(benchmark, env_id, n_actions):
    benchmark.group = f"{env_id} step|64 envs"
    steps = 10 if benchmark.disabled else STEPS
    actions = np.random.default_rng(0).integers(0, n_actions, (steps, 64))
    env = gym.make_vec(env_id, num_envs=64, vectorization_mode="sync")

    def run():
        env.reset(seed=0)
        for a in actions:
            env.step(a)

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)


def test_gymnasium_sync_vector_env(benchmark):
    _run(benchmark, lambda: gym.make_vec("CartPole-v1", num_envs=64, vectorization_mode="sync"),
         64)


@pytest.mark.parametrize("peer", ["envpool", "gymnax"])
def test_peer_cartpole_1024(benchmark, peer):
    """EnvPool (C++ threads) and gymnax (jax.jit + vmap + scan, the whole run
    in one call) on CartPole-v1 at 1024 envs, when installed (fastpg.bench.peers;
    also in `fastpg bench --peers`)."""
    from fastpg.bench import peers_envs as E
    benchmark.group = "cartpole step|1024 envs"
    steps = 10 if benchmark.disabled else STEPS
    try:
        fn, n = E.env_peer(peer, E.env_actions(1024, steps))
    except E.Unavailable as exc:
        pytest.skip(str(exc))
    benchmark.pedantic(fn, rounds=1 if benchmark.disabled else 5, iterations=1)
    if benchmark.stats is not None:
        benchmark.extra_info["steps_per_s"] = n / benchmark.stats.stats.median
