"""TabularMDP, the HOML MDP, GridWorld, the fused Q-learning rollout, and the
tabular agents' learning results (fixed seeds)."""
import gymnasium as gym
import numpy as np
import pytest

import fastpg.envs  # noqa: F401  (registers fastpg/...)
import fastpg.tabular as T
from fastpg import cli
from fastpg.agents import DoubleQLearning, ExpectedSarsa, QLearning, Sarsa
from fastpg.envs import GridWorld, TabularMDP, homl_mdp
from fastpg.envs.tabular_mdp import HOML_P, HOML_POSSIBLE_ACTIONS, HOML_R


def _homl_mask():
    mask = np.zeros((3, 3), bool)
    for s, acts in enumerate(HOML_POSSIBLE_ACTIONS):
        mask[s, acts] = True
    return mask


Q_STAR = T.value_iteration(HOML_P, HOML_R, 0.9, action_mask=_homl_mask()).Q
OPTIMAL = np.array([0, 0, 1])


# ---- environments -------------------------------------------------------------------

def test_tabular_mdp_steps_and_raises_on_impossible_actions():
    env = homl_mdp()
    s, info = env.reset(seed=0)
    assert s == 0 and list(info["possible_actions"]) == [0, 1, 2]
    counts = np.zeros(3)
    for _ in range(4000):
        env.reset()
        s2, r, term, trunc, _ = env.step(0)
        counts[s2] += 1
        assert r == (10.0 if s2 == 0 else 0.0) and not term and not trunc
    np.testing.assert_allclose(counts / 4000, [0.7, 0.3, 0.0], atol=0.03)
    env.state = 1
    with pytest.raises(ValueError, match="action 1 is not possible in state 1"):
        env.step(1)
    with pytest.raises(ValueError, match="must sum to 1"):
        TabularMDP(np.ones((2, 1, 2)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="start_state"):
        TabularMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1)), start_state=5)


def test_tabular_mdp_terminal_and_time_limit():
    P = np.array([[[0.0, 1.0]], [[0.0, 1.0]]])
    env = TabularMDP(P, np.array([[1.0], [0.0]]), terminal_states=[1])
    env.reset(seed=0)
    assert env.step(0)[1:4] == (1.0, True, False)
    env = TabularMDP(np.array([[[1.0]]]), np.array([[1.0]]), max_steps=3)
    env.reset(seed=0)
    assert [env.step(0)[3] for _ in range(3)] == [False, False, True]


@pytest.mark.parametrize("layout, goal, walls", [
    ("simple", (7, 2), [(2, 4), (2, 5), (3, 4), (3, 5), (4, 4), (4, 5)]),
    ("obstacle", (2, 8), [(1, 6), (2, 4), (3, 4), (3, 5), (4, 4), (4, 5)]),
])
def test_gridworld_layouts(layout, goal, walls):
    env = GridWorld(layout)
    assert env.walls.shape == (9, 10) and env.start == (2, 2) and env.goal == goal
    inner = [tuple(p) for p in np.argwhere(env.walls[1:-1, 1:-1]) + 1]
    assert sorted(inner) == sorted(walls)
    assert env.walls[0].all() and env.walls[-1].all() and env.walls[:, 0].all()


def test_gridworld_dynamics_and_observations():
    env = gym.make("fastpg/GridWorld-v0").unwrapped
    obs, _ = env.reset(seed=0)
    assert obs == 2 * 10 + 2
    # up twice: row 1, then the wall (-5, stays)
    assert env.step(0)[:2] == (12, 0.0)
    obs, r, term, trunc, info = env.step(0)
    assert (obs, r, term) == (12, -5.0, False) and info["position"] == (1, 2)
    env.reset()
    for _ in range(4):
        env.step(1)
    obs, r, term, trunc, _ = env.step(1)  # the fifth step down reaches the goal (7, 2)
    assert (r, term, trunc) == (10.0, True, False)
    for ot, shape in [("agent_onehot", (9, 10)), ("grid", (9, 10, 3)), ("agent_goal_pos", (4,))]:
        e = GridWorld("obstacle", observation_type=ot)
        o, _ = e.reset(seed=0)
        assert o.shape == shape and o.dtype == np.float32 and e.observation_space.contains(o)
    np.testing.assert_array_equal(GridWorld("obstacle", observation_type="agent_goal_pos")
                                  .reset()[0], [2, 2, 2, 8])
    g = GridWorld("simple", observation_type="grid").reset()[0]
    assert g[..., 0].sum() == GridWorld("simple").walls.sum() and g[2, 2, 1] == 1 and g[7, 2, 2] == 1
    e = GridWorld("simple", max_episode_length=3)
    e.reset()
    assert [e.step(2)[3] for _ in range(3)] == [False, False, True]


# ---- the fused rollout ------------------------------------------------------------------

def test_rollout_matches_across_backends(backend):
    mask = _homl_mask()
    Qs = []
    for be in ("numpy", backend):
        Q = np.where(mask, 0.0, -np.inf)
        res = T.q_learning_rollout(Q, HOML_P, HOML_R, 3000, action_mask=mask, epsilon=0.4,
                                   alpha=0.05, alpha_decay=0.005, gamma=0.9, rng=3, backend=be)
        Qs.append((Q, res.state, res.visits))
    np.testing.assert_allclose(Qs[0][0], Qs[1][0], rtol=1e-12)
    assert Qs[0][1] == Qs[1][1]
    np.testing.assert_array_equal(Qs[0][2], Qs[1][2])
    assert Qs[0][2].sum() == 3000 and (Qs[0][2][~mask] == 0).all()


def test_rollout_continues_where_it_stopped(backend):
    """Two calls (state=, step_offset=, one Generator) equal one call of both lengths."""
    mask = _homl_mask()
    kw = dict(action_mask=mask, epsilon=0.5, alpha_decay=0.005, backend=backend)
    Q1 = np.where(mask, 0.0, -np.inf)
    r1 = T.q_learning_rollout(Q1, HOML_P, HOML_R, 2000, rng=np.random.default_rng(0), state=0, **kw)
    Q2 = np.where(mask, 0.0, -np.inf)
    g = np.random.default_rng(0)
    r = T.q_learning_rollout(Q2, HOML_P, HOML_R, 1000, rng=g, state=0, **kw)
    r2 = T.q_learning_rollout(Q2, HOML_P, HOML_R, 1000, rng=g, state=r.state, step_offset=1000,
                              **kw)
    np.testing.assert_array_equal(Q1, Q2)
    assert r1.state == r2.state


@pytest.mark.parametrize("seed", range(5))
def test_homl_q_learning_experiment(seed):
    """HOML settings: uniformly random exploration over the possible actions,
    α_k = 0.05 / (1 + 0.005 k), γ = 0.9."""
    env = gym.make("fastpg/HOMLMDP-v0")
    agent = QLearning(env, alpha=0.05, alpha_decay=0.005, gamma=0.9, epsilon=1.0, seed=seed)
    agent.train(env, steps=10_000, seed=seed)
    np.testing.assert_array_equal(agent.greedy_policy(), OPTIMAL)
    agent.train(env, steps=2_000_000 - 10_000, seed=seed + 100)
    assert agent.updates == 2_000_000
    mask = _homl_mask()
    assert np.abs(agent.Q[mask] - Q_STAR[mask]).max() < 0.5
    assert np.all(agent.Q[~mask] == -np.inf)


# ---- agents on the gymnasium envs --------------------------------------------------------

@pytest.mark.parametrize("env_id", ["fastpg/GridWorld-v0", "fastpg/GridWorldObstacle-v0"])
def test_q_learning_gridworld_shortest_path(env_id):
    env = gym.make(env_id)
    agent = QLearning(env, alpha=0.5, gamma=0.9, epsilon=0.2, seed=0)
    hist = agent.train(env, episodes=500, seed=0, progress=False)
    assert len(hist.episode_returns) == 500
    ret, n = agent.run_greedy(env)
    assert n == env.unwrapped.shortest_path_length() and ret == 10.0


def test_cliffwalking_q_learning_optimal_and_sarsa_safe():
    env = gym.make("CliffWalking-v1")
    q = QLearning(env, alpha=0.5, gamma=1.0, epsilon=0.1, seed=0)
    q.train(env, episodes=500, seed=0, progress=False)
    assert q.run_greedy(env) == (-13.0, 13)  # the optimal path along the cliff edge
    s = Sarsa(env, alpha=0.5, gamma=1.0, epsilon=0.1, seed=0)
    s.train(env, episodes=500, seed=0, progress=False)
    ret, n = s.run_greedy(env)
    assert -25 <= ret < -13 and n > 13  # a longer path, away from the cliff


def _taxi_optimal_returns(env, starts):
    """Optimal undiscounted return from each start, by value iteration on env.P
    (terminal transitions go to an absorbing extra state)."""
    Pd = env.unwrapped.P
    S, A = len(Pd), len(Pd[0])
    P = np.zeros((S + 1, A, S + 1))
    R = np.zeros((S + 1, A))
    for s in range(S):
        for a in range(A):
            for p, s2, r, done in Pd[s][a]:
                P[s, a, S if done else s2] += p
                R[s, a] += p * r
    P[S, :, S] = 1.0
    V = T.value_iteration(P, R, 1.0, tol=1e-9, max_iter=10_000).V
    return V[starts]


def test_taxi_q_learning_reaches_the_optimal_greedy_returns():
    env = gym.make("Taxi-v4")
    agent = QLearning(env, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0)
    agent.train(env, episodes=4000, seed=0, progress=False)
    starts, got = [], []
    for seed in range(15):
        s, _ = env.reset(seed=seed)
        starts.append(s)
        got.append(agent.run_greedy(env, seed=seed)[0])
    np.testing.assert_allclose(got, _taxi_optimal_returns(env, starts))


@pytest.mark.parametrize("cls", [ExpectedSarsa, DoubleQLearning, Sarsa])
def test_other_agents_learn_gridworld(cls):
    env = gym.make("fastpg/GridWorld-v0")
    agent = cls(env, alpha=0.5, gamma=0.9, epsilon=0.1, epsilon_decay=0.99, seed=1)
    agent.train(env, episodes=400, seed=1, progress=False)
    assert agent.run_greedy(env) == (10.0, 5)


def test_agent_bad_arguments():
    env = gym.make("fastpg/GridWorld-v0")
    with pytest.raises(ValueError, match="alpha"):
        QLearning(env, alpha=0.0)
    with pytest.raises(TypeError, match="Discrete"):
        QLearning(gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match="episodes=... or steps=..."):
        QLearning(env).train(env)


def test_cli_train_q_learning(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "policy.png"
    assert cli.main(["train", "q-learning", "--env", "fastpg/GridWorld-v0", "--episodes", "300",
                     "--quiet", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "q-learning on fastpg/GridWorld-v0" in out and "greedy episode: return 10.0 in 5 steps" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_frozenlake_q_learning_reaches_the_goal():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = QLearning(env, alpha=0.5, gamma=0.95, epsilon=0.3, seed=0)
    agent.train(env, episodes=600, seed=0, progress=False)
    assert agent.run_greedy(env, seed=0) == (1.0, 6)  # the shortest path on the 4x4 map


def test_progress_on_long_step_runs(capsys):
    env = gym.make("fastpg/GridWorld-v0")
    QLearning(env, alpha=0.5, gamma=0.9, epsilon=0.2, seed=0).train(env, steps=100_000, seed=0)
    err = capsys.readouterr().err
    assert "episode 100 " in err and "mean return" in err
