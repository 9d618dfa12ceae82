"""The DQN-style example: ε-greedy collection, n-step prioritized replay,
priorities from TD errors, with a tabular / linear Q-function."""
import gymnasium as gym
import numpy as np
import pytest

import fastpg.envs  # noqa: F401  (registers the envs)
from fastpg.agents import ReplayQ


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_q_learns_the_gridworld_shortest_path(seed):
    env = gym.make("fastpg/GridWorld-v0")
    agent = ReplayQ(env, seed=seed)
    hist = agent.train(env, episodes=300, seed=seed, progress=False)
    assert len(hist.episode_returns) == 300 and hist.updates > 0
    ret, n = agent.run_greedy(env)
    assert ret == 10.0 and n == env.unwrapped.shortest_path_length()


def test_learn_is_the_importance_weighted_nstep_td_update(backend):
    env = gym.make("fastpg/GridWorld-v0")
    agent = ReplayQ(env, seed=0, learning_starts=10**9, backend=backend)  # collect only
    agent.train(env, steps=500, seed=0)
    agent.W = np.random.default_rng(1).normal(size=agent.W.shape)
    agent.W_target = np.random.default_rng(2).normal(size=agent.W.shape)
    W0 = agent.W.copy()
    state = agent.rng.bit_generator.state
    b = agent.buffer.sample(agent.batch_size, agent.rng, n_step=3, gamma=0.9)
    agent.rng.bit_generator.state = state  # learn() draws the same batch
    delta = agent.learn()
    y = b.reward + b.discount * agent.W_target[b.next_obs].max(axis=1)
    np.testing.assert_allclose(delta, y - W0[b.obs, b.action], rtol=1e-6)
    expect = W0.copy()
    np.add.at(expect, (b.obs, b.action), agent.lr * b.weights * delta / len(y))
    np.testing.assert_allclose(agent.W, expect, rtol=1e-6)
    # priorities: (|delta| + eps) ** alpha for the sampled slots (the last duplicate wins)
    buf = agent.buffer
    slots = b.indices % buf.capacity
    last = {s: d for s, d in zip(slots, delta)}
    got = buf.priorities[list(last)]
    np.testing.assert_allclose(got, (np.abs(list(last.values())) + buf.eps) ** buf.alpha,
                               rtol=1e-6)


def test_linear_features_on_a_box_env():
    env = gym.make("CartPole-v1")
    agent = ReplayQ(env, lr=0.01, gamma=0.99, seed=0, learning_starts=64)
    hist = agent.train(env, steps=600, seed=0)
    assert agent.W.shape == (5, 2) and hist.updates == 600 - 63
    assert np.isfinite(agent.W).all() and np.abs(agent.W).sum() > 0
    with pytest.raises(TypeError, match="Discrete actions"):
        ReplayQ(gym.make("Pendulum-v1"))
