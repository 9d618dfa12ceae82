"""Stable-Baselines3 training end to end with SB3's buffers and with fastpg's
(workloads: fastpg.bench.e2e; the full comparison is `fastpg bench --e2e`).

Short runs by default (each once in CI, under --benchmark-disable, with their
results checked); FASTPG_BENCH_FULL=1 runs the sizes of the comparison (PPO
100k steps, DQN 50k steps). The times inside the buffers are in extra_info.
"""
import math
import os

import numpy as np
import pytest

from tests.conftest import need

FULL = os.environ.get("FASTPG_BENCH_FULL") == "1"
PPO_STEPS = 100_000 if FULL else 2_048
DQN_STEPS = 50_000 if FULL else 2_000


@pytest.mark.parametrize("config,rollout", [("PPO", 32 * 8), ("PPO-2048", 2048 * 8)])
@pytest.mark.parametrize("buffer", ["sb3", "fastpg"])
def test_ppo_cartpole(benchmark, buffer, config, rollout):
    need("stable_baselines3")
    from fastpg.bench import e2e as _e2e
    benchmark.group = f"e2e|{config} CartPole-v1 {PPO_STEPS}"
    res = benchmark.pedantic(_e2e.ppo_run, args=(buffer, PPO_STEPS, 0),
                             kwargs={"config": config}, rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in res.items() if k != "curve"})
    assert res["returns_calls"] == math.ceil(PPO_STEPS / rollout)  # one per rollout
    assert 0 < res["returns_s"] < res["wall_s"]
    assert res["curve"] and np.isfinite(res["final_return"]) and res["final_return"] >= 8


@pytest.mark.parametrize("variant", ["sb3", "fastpg", "fastpg-per"])
def test_dqn_cartpole(benchmark, variant):
    need("stable_baselines3")
    from fastpg.bench import e2e as _e2e
    benchmark.group = f"e2e|DQN CartPole-v1 {DQN_STEPS}"
    res = benchmark.pedantic(_e2e.dqn_run, args=(variant, DQN_STEPS, 0), rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in res.items() if k != "curve"})
    zoo = _e2e.dqn_zoo()
    # collection runs in chunks of train_freq steps, then gradient_steps samples
    chunks = math.ceil(DQN_STEPS / zoo["train_freq"])
    assert res["add_calls"] == chunks * zoo["train_freq"]
    trained = sum(1 for k in range(1, chunks + 1) if k * zoo["train_freq"] > zoo["learning_starts"])
    assert res["sample_calls"] == trained * zoo["gradient_steps"]
    if variant == "fastpg-per":
        assert res["update_priorities_calls"] == res["sample_calls"]
    assert 0 < res["buffer_s"] < res["wall_s"]
    assert res["curve"] and np.isfinite(res["final_return"])


def test_dqn_buffers_side_by_side(benchmark):
    """Both buffers get the same calls in one training run; training follows
    SB3's buffer, so the run learns as the sb3 variant does (same seed)."""
    need("stable_baselines3")
    from fastpg.bench import e2e as _e2e
    benchmark.group = f"e2e|DQN CartPole-v1 {DQN_STEPS}"
    res = benchmark.pedantic(_e2e.dqn_side_by_side, args=(DQN_STEPS, 0), rounds=1,
                             iterations=1)
    benchmark.extra_info.update({k: v for k, v in res.items() if k != "curve"})
    plain = _e2e.dqn_run("sb3", DQN_STEPS, 0)
    assert res["curve"] == plain["curve"]  # fastpg's buffer beside it changed nothing
    assert res["add_calls"] == plain["add_calls"] and res["sample_calls"] == plain["sample_calls"]
    for who in ("sb3", "fastpg"):
        assert 0 < res[f"{who}_add_s"] and 0 < res[f"{who}_sample_s"]
        assert res[f"{who}_buffer_s"] < res["wall_s"]
