"""ThreeStateMDP, Reinforce and CompatibleActorCritic: env semantics, learning
with fixed seeds (small bars; the multi-seed CartPole run is bench/cartpole_seeds.py),
vector envs, and the `fastpg train` command."""
import itertools

import gymnasium as gym
import numpy as np
import pytest

import fastpg.envs  # noqa: F401  (registers fastpg/...)
from fastpg import cli
from fastpg.agents import CARTPOLE, CompatibleActorCritic, Reinforce
from fastpg.agents.actor_critic import notebook_features, outer_features
from fastpg.envs.three_state import HORIZON, P, R, ThreeStateMDP


# ---- the three-state MDP ---------------------------------------------------------

def test_three_state_tables_and_episode():
    env = gym.make("fastpg/ThreeStateMDP-v0")
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [1, 0, 0])
    assert info["state"] == 0
    np.testing.assert_allclose(P.sum(axis=2), 1.0)
    np.testing.assert_array_equal(R, [[-1, 1, 0], [0, -1, 1], [1, -1, 0]])
    state, total = 0, 0.0
    for t in range(HORIZON):
        obs, r, term, trunc, info = env.step(1)
        assert r == R[state, 1]
        total += r
        assert obs[info["state"]] == 1 and obs.sum() == 1  # the next state's observation
        state = info["state"]
        assert term == (t == HORIZON - 1) and not trunc
    with pytest.raises(ValueError, match="action must be 0, 1 or 2"):
        ThreeStateMDP().step(3)


def test_three_state_transition_frequencies():
    env = ThreeStateMDP(horizon=10**6)
    env.reset(seed=1)
    counts = np.zeros((3, 3))
    s = 0
    for _ in range(30000):
        _, _, _, _, info = env.step(0)
        counts[s, info["state"]] += 1
        s = info["state"]
    freq = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(freq, P[:, 0], atol=0.02)


def _exact_return(policy):
    """Expected 5-step return of a stationary policy (S, A) by dynamic programming."""
    d = np.array([1.0, 0.0, 0.0])
    total = 0.0
    for _ in range(HORIZON):
        total += float(d @ (policy * R).sum(axis=1))
        d = np.einsum("s,sa,sat->t", d, policy, P)
    return total


def test_exhaustive_policy_search():
    best = max(_exact_return(np.eye(3)[list(c)]) for c in itertools.product(range(3), repeat=3))
    assert best == pytest.approx(5.0)
    assert _exact_return(np.full((3, 3), 1 / 3)) == pytest.approx(0.0)


# ---- compatible actor-critic ------------------------------------------------------

@pytest.mark.parametrize("estimator", ["all-actions", "sampled"])
def test_actor_critic_reaches_the_optimum(backend, estimator):
    best = max(_exact_return(np.eye(3)[list(c)]) for c in itertools.product(range(3), repeat=3))
    random_policy = _exact_return(np.full((3, 3), 1 / 3))
    env = gym.make("fastpg/ThreeStateMDP-v0")
    agent = CompatibleActorCritic(env, seed=0, backend=backend, estimator=estimator)
    hist = agent.train(env, episodes=400, seed=0, progress=False)
    assert len(hist.episode_returns) == 400 and hist.steps == 400 * HORIZON
    assert np.mean(hist.episode_returns[:20]) < random_policy + 2.0
    assert hist.mean_return(100) > best - 0.3  # near the optimum found by exhaustive search
    pi = agent.probs(np.eye(3, dtype=np.float32))
    assert _exact_return(pi) > best - 0.3
    np.testing.assert_array_equal(pi.argmax(axis=1), [1, 2, 0])


def test_actor_critic_on_the_compiled_three_state_mdp():
    """The same agent on 8 compiled three-state MDPs (make_vec): the optimum."""
    best = max(_exact_return(np.eye(3)[list(c)]) for c in itertools.product(range(3), repeat=3))
    env = gym.make_vec("fastpg/ThreeStateMDP-v0", num_envs=8)
    agent = CompatibleActorCritic(env, seed=0)
    hist = agent.train(env, episodes=400, seed=0, progress=False)
    assert hist.mean_return(100) > best - 0.3
    np.testing.assert_array_equal(agent.probs(np.eye(3)).argmax(axis=1), [1, 2, 0])


def test_outer_features_policy_weights_give_the_same_logits():
    rng = np.random.default_rng(0)
    for bias in (False, True):
        f = outer_features(3, bias=bias)
        obs = rng.standard_normal((7, 4))
        theta = rng.standard_normal(3 * (4 + bias))
        W = f.policy_weights(theta)
        assert W.shape == (5, 3)
        np.testing.assert_allclose(obs @ W[:-1] + W[-1], f(obs) @ theta, rtol=1e-12, atol=1e-12)


def test_actor_critic_learns_cartpole_on_fused_rollouts(monkeypatch):
    """On fastpg/CartPole-v1 the policy runs in the env's fused rollouts
    (never through step), and the returns grow several-fold (the plain
    gradient does not solve CartPole: REINFORCE's normalised returns and Adam
    do, tests/test_envs.py)."""
    from fastpg import _backend
    from fastpg.envs import CartPoleVectorEnv
    monkeypatch.setattr(CartPoleVectorEnv, "step", None)
    compiled = _backend.resolve("cartpole_rollout") != "numpy"
    for seed in range(3 if compiled else 1):
        env = gym.make_vec("fastpg/CartPole-v1", num_envs=8)
        agent = CompatibleActorCritic(env, features=outer_features(2, bias=True), alpha=1e-3,
                                      gamma=0.99, seed=seed)
        r = np.array(agent.train(env, episodes=1500, seed=seed, progress=False).episode_returns)
        assert r[-100:].mean() > 3 * r[:100].mean(), seed


def test_notebook_features_only_express_state_independent_policies():
    env = gym.make("fastpg/ThreeStateMDP-v0")
    agent = CompatibleActorCritic(env, seed=0, features=notebook_features(3))
    agent.train(env, episodes=200, seed=0, progress=False)
    pi = agent.probs(np.eye(3))
    np.testing.assert_allclose(pi[0], pi[1], atol=1e-12)
    np.testing.assert_allclose(pi[1], pi[2], atol=1e-12)


# ---- REINFORCE ------------------------------------------------------------------------

def test_reinforce_learns_cartpole_one_seed():
    """One seed with a smaller bar than bench/cartpole_seeds.py (475 within 1000 episodes)."""
    env = gym.make("CartPole-v1")
    agent = Reinforce(env, seed=0, **CARTPOLE)
    hist = agent.train(env, episodes=600, seed=0, progress=False, target=475)
    assert np.mean(hist.episode_returns[:20]) < 60
    assert hist.mean_return(100) > 400


def test_reinforce_is_reproducible_and_backend_independent(backend):
    runs = []
    for be in ("numpy", backend):
        env = gym.make("CartPole-v1")
        agent = Reinforce(env, seed=3, backend=be)
        hist = agent.train(env, episodes=30, seed=3, progress=False)
        runs.append((hist.episode_returns, agent.W.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("baseline", ["mean", "value"])
def test_reinforce_baselines_on_the_three_state_mdp(baseline):
    env = gym.make("fastpg/ThreeStateMDP-v0")
    agent = Reinforce(env, seed=0, baseline=baseline, normalize_returns=False, lr=0.1,
                      episodes_per_update=10)
    hist = agent.train(env, episodes=600, seed=0, progress=False)
    assert hist.mean_return(100) > 4.0


def test_reinforce_on_a_vector_env():
    env = gym.make_vec("fastpg/ThreeStateMDP-v0", num_envs=4, vectorization_mode="sync")
    agent = Reinforce(env, seed=0, lr=0.1, episodes_per_update=8)
    hist = agent.train(env, episodes=400, seed=0, progress=False)
    assert len(hist.episode_returns) >= 400
    assert set(hist.episode_lengths) == {HORIZON}  # the autoreset step is not an episode step
    assert hist.mean_return(100) > 4.0


def test_reinforce_update_matches_a_plain_numpy_gradient():
    """One update by hand: returns, normalisation and Σ w x ⊗ (e_a - π) / n_episodes."""
    from fastpg.agents._common import Episode
    rng = np.random.default_rng(0)
    agent = Reinforce(n_features=3, n_actions=2, gamma=0.9, optimizer="sgd", lr=1.0)
    agent.W[:] = rng.standard_normal((4, 2))
    W0 = agent.W.copy()
    eps = [Episode(rng.standard_normal((T, 3)), rng.integers(0, 2, T), rng.standard_normal(T),
                   True, np.zeros(3)) for T in (3, 5)]
    grad = np.zeros_like(W0)
    Gs = []
    for e in eps:
        G, acc = np.zeros(len(e)), 0.0
        for t in range(len(e) - 1, -1, -1):
            acc = e.rewards[t] + 0.9 * acc
            G[t] = acc
        Gs.append(G)
    G = np.concatenate(Gs)
    w = (G - G.mean()) / G.std()
    X = np.concatenate([np.hstack([e.obs, np.ones((len(e), 1))]) for e in eps])
    acts = np.concatenate([e.actions for e in eps])
    for x, a, wi in zip(X, acts, w):
        z = x @ W0
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        grad += wi * np.outer(x, np.eye(2)[a] - p)
    got = agent.update(eps)
    np.testing.assert_allclose(got, grad / 2, rtol=1e-10)
    np.testing.assert_allclose(agent.W, W0 + grad / 2, rtol=1e-10)


def test_agent_bad_arguments():
    env = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match="baseline"):
        Reinforce(env, baseline="median")
    with pytest.raises(ValueError, match="optimizer"):
        Reinforce(env, optimizer="rmsprop")
    with pytest.raises(ValueError, match="gamma"):
        Reinforce(env, gamma=1.5)
    with pytest.raises(TypeError, match="Discrete actions"):
        Reinforce(gym.make("Pendulum-v1"))
    with pytest.raises(TypeError, match="n_features and n_actions"):
        Reinforce()


# ---- the command line -------------------------------------------------------------------

def test_cli_train_actor_critic(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    assert cli.main(["train", "actor-critic", "--env", "fastpg/ThreeStateMDP-v0",
                     "--episodes", "300", "--quiet", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "actor-critic on fastpg/ThreeStateMDP-v0 (seed 0): 300 episodes" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_train_actor_critic_on_compiled_vector_envs(capsys, monkeypatch):
    """--num-envs with a fastpg/ id: the compiled vector env (CartPole's fused
    rollouts: its step is never called; the three-state MDP's kernel)."""
    from fastpg.envs import CartPoleVectorEnv, ThreeStateMDPVectorEnv
    made = []
    monkeypatch.setattr(CartPoleVectorEnv, "step", None)
    init = ThreeStateMDPVectorEnv.__init__
    monkeypatch.setattr(ThreeStateMDPVectorEnv, "__init__",
                        lambda self, *a, **k: (made.append(self), init(self, *a, **k))[1])
    assert cli.main(["train", "actor-critic", "--env", "fastpg/CartPole-v1", "--num-envs", "8",
                     "--lr", "0.001", "--episodes", "300", "--quiet"]) == 0
    assert cli.main(["train", "actor-critic", "--env", "fastpg/ThreeStateMDP-v0", "--num-envs",
                     "4", "--episodes", "300", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "actor-critic on fastpg/CartPole-v1 (seed 0): 30" in out
    assert "actor-critic on fastpg/ThreeStateMDP-v0 (seed 0): 30" in out and len(made) == 1


def test_cli_train_reinforce_with_progress(capsys):
    assert cli.main(["train", "reinforce", "--env", "CartPole-v1", "--episodes", "200",
                     "--num-envs", "2"]) == 0
    cap = capsys.readouterr()
    assert "episode 20/200" in cap.err and "mean return" in cap.out


def test_cli_train_unknown_env(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "reinforce", "--env", "NoSuchEnv-v9", "--episodes", "1"])
    assert exc.value.code == 2 and "cannot make env" in capsys.readouterr().err
