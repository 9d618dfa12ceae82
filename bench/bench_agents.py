"""End-to-end REINFORCE on CartPole-v1 with the gymnasium env: env steps per
second of a whole training run (acting and updates) for fastpg's Reinforce and
a straight NumPy implementation of the same agent; and the env alone.

Run: pytest bench/bench_agents.py --benchmark-only. extra_info holds steps/s.
Each run checks what it can about its result: CartPole-v1 pays 1 per step, so
the episode returns of a run sum to its steps.
"""
import time

import gymnasium as gym
import pytest

from fastpg.agents import Reinforce
from fastpg.bench.reinforce import numpy_reinforce

EPISODES = 300


def _episodes(benchmark):
    return 20 if benchmark.disabled else EPISODES


def _train(benchmark, train):
    """Times ``train(env, n) -> (episode returns, env steps)`` on a fresh
    CartPole-v1 and checks that every episode's steps were counted."""
    benchmark.group = "reinforce|CartPole-v1"
    n = _episodes(benchmark)
    res = {}

    def run():
        env = gym.make("CartPole-v1")
        t0 = time.perf_counter()
        res["returns"], res["steps"] = train(env, n)
        res["t"] = time.perf_counter() - t0

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)
    benchmark.extra_info["steps_per_s"] = res["steps"] / res["t"]
    assert len(res["returns"]) == n and sum(res["returns"]) == res["steps"] >= 8 * n


def _fastpg_reinforce(env, n):
    hist = Reinforce(env, seed=0).train(env, episodes=n, seed=0, progress=False)
    return hist.episode_returns, hist.steps


def test_fastpg_reinforce(benchmark):
    _train(benchmark, _fastpg_reinforce)


def test_numpy_reinforce(benchmark):
    _train(benchmark, lambda env, n: numpy_reinforce(env, n, 0))


@pytest.mark.parametrize("steps", [20_000])
def test_env_alone(benchmark, steps):
    benchmark.group = "reinforce|CartPole-v1"
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)

    def run():
        env.reset(seed=0)
        total = 0.0
        for _ in range(steps if not benchmark.disabled else 200):
            _, r, te, tr, _ = env.step(env.action_space.sample())
            total += r
            if te or tr:
                env.reset()
        return total

    total = benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)
    assert total == (steps if not benchmark.disabled else 200)
