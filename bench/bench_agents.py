"""End-to-end REINFORCE on CartPole-v1 with the gymnasium env: env steps per
second of a whole training run (acting and updates) for fastpg's Reinforce and
a straight NumPy implementation of the same agent; and the env alone.

Run: pytest bench/bench_agents.py --benchmark-only. extra_info holds steps/s.
"""
import time

import gymnasium as gym
import pytest

from fastpg.agents import Reinforce

from .workloads import numpy_reinforce

EPISODES = 300


def _episodes(benchmark):
    return 20 if benchmark.disabled else EPISODES


def test_fastpg_reinforce(benchmark):
    benchmark.group = "reinforce|CartPole-v1"
    n = _episodes(benchmark)
    res = {}

    def run():
        env = gym.make("CartPole-v1")
        hist = Reinforce(env, seed=0).train(env, episodes=n, seed=0, progress=False)
        res["steps"], res["t"] = hist.steps, hist.wall_time

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)
    benchmark.extra_info["steps_per_s"] = res["steps"] / res["t"]


def test_numpy_reinforce(benchmark):
    benchmark.group = "reinforce|CartPole-v1"
    n = _episodes(benchmark)
    res = {}

    def run():
        env = gym.make("CartPole-v1")
        t0 = time.perf_counter()
        _, steps = numpy_reinforce(env, n, 0)
        res["steps"], res["t"] = steps, time.perf_counter() - t0

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)
    benchmark.extra_info["steps_per_s"] = res["steps"] / res["t"]


@pytest.mark.parametrize("steps", [20_000])
def test_env_alone(benchmark, steps):
    benchmark.group = "reinforce|CartPole-v1"
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)

    def run():
        env.reset(seed=0)
        for _ in range(steps if not benchmark.disabled else 200):
            _, _, te, tr, _ = env.step(env.action_space.sample())
            if te or tr:
                env.reset()

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)
