"""fastpg.integrations.sb3 against Stable-Baselines3's own classes on the same
data: rollout advantages and returns, sampled replay batches field by field,
n-step, timeouts, n_envs 1 and 4, prioritized DQN's loss and priorities, and
short learn() runs with each buffer."""
import copy

import numpy as np
import pytest

from .conftest import need

sb3 = need("stable_baselines3")
th = need("torch")
gym = need("gymnasium")

from gymnasium import spaces  # noqa: E402
from stable_baselines3.common import buffers as sb3_buffers  # noqa: E402

from fastpg.integrations import sb3 as F  # noqa: E402

OBS = spaces.Box(-5, 5, (3,), np.float32)
ACT = spaces.Discrete(4)


# ---- rollout buffer ---------------------------------------------------------------------

def _fill_rollout(bufs, T, E, rng, values_dtype=np.float32):
    for t in range(T):
        obs = rng.normal(size=(E, 3)).astype(np.float32)
        act = rng.integers(0, 4, E)
        rew = rng.normal(size=E).astype(np.float32)
        start = rng.random(E) < 0.15
        val = th.as_tensor(rng.normal(size=(E, 1)).astype(values_dtype))
        logp = th.as_tensor(rng.normal(size=E).astype(np.float32))
        for b in bufs:
            b.add(obs, act, rew, start, val, logp)


@pytest.mark.parametrize("E", [1, 4])
@pytest.mark.parametrize("lam", [0.95, 1.0, 0.0])
def test_rollout_buffer_equals_sb3(backend, E, lam):
    rng = np.random.default_rng(E)
    T = 64
    ours = F.RolloutBuffer(T, OBS, ACT, gae_lambda=lam, gamma=0.99, n_envs=E, backend=backend)
    theirs = sb3_buffers.RolloutBuffer(T, OBS, ACT, gae_lambda=lam, gamma=0.99, n_envs=E)
    _fill_rollout([ours, theirs], T, E, rng)
    last = th.as_tensor(rng.normal(size=(E, 1)).astype(np.float32))
    dones = rng.random(E) < 0.5
    ours.compute_returns_and_advantage(last, dones)
    theirs.compute_returns_and_advantage(last, dones)
    assert ours.advantages.dtype == np.float32 and ours.returns.dtype == np.float32
    np.testing.assert_allclose(ours.advantages, theirs.advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.returns, theirs.returns, rtol=1e-5, atol=1e-5)
    # SB3's get() runs unchanged on top: same minibatches for the same seed
    np.random.seed(0)
    a = list(ours.get(16))
    np.random.seed(0)
    b = list(theirs.get(16))
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-5, atol=1e-5)


def test_exact_truncation_keeps_env_rewards_and_matches_the_fold():
    """PPO on CartPole with a 12-step time limit: with exact_truncation the
    buffer holds the env's rewards (all 1) and explicit time limits, and its
    advantages equal SB3's reward-folding ones on the same rollout."""
    env = gym.make("CartPole-v1", max_episode_steps=12)
    model = sb3.PPO("MlpPolicy", env, n_steps=128, seed=1, rollout_buffer_class=F.RolloutBuffer,
                    rollout_buffer_kwargs={"exact_truncation": True})
    seen = {}

    class Grab(sb3.common.callbacks.BaseCallback):
        def _on_rollout_end(self):
            buf = self.model.rollout_buffer
            seen.update(adv=buf.advantages.copy(), rewards=buf.rewards.copy(),
                        truncated=buf.truncated.copy(), final=buf.final_values.copy(),
                        values=buf.values.copy(), starts=buf.episode_starts.copy(),
                        last_values=self.locals["values"].clone(),
                        dones=self.locals["dones"].copy())

        def _on_step(self):
            return True

    model.learn(128, callback=[F.ExactTruncation(), Grab()])
    assert (seen["rewards"] == 1.0).all()
    assert seen["truncated"].sum() >= 3  # episodes hit the limit in 128 steps
    # SB3's formulation on the same data: fold γ·V(final) into the reward
    folded = seen["rewards"] + 0.99 * seen["final"] * seen["truncated"]
    ref = sb3_buffers.RolloutBuffer(128, env.observation_space, env.action_space, gamma=0.99,
                                    gae_lambda=0.95)
    ref.rewards, ref.values, ref.episode_starts = folded, seen["values"], seen["starts"]
    ref.compute_returns_and_advantage(seen["last_values"], seen["dones"])
    np.testing.assert_allclose(seen["adv"], ref.advantages, rtol=1e-4, atol=1e-4)


def test_exact_truncation_without_the_callback_says_what_to_do():
    model = sb3.PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=32, batch_size=32,
                    rollout_buffer_class=F.RolloutBuffer,
                    rollout_buffer_kwargs={"exact_truncation": True})
    with pytest.raises(RuntimeError, match="ExactTruncation callback"):
        model.learn(32)
    with pytest.raises(TypeError, match="exact_truncation"):
        sb3.PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=32, batch_size=32).learn(
            32, callback=F.ExactTruncation())


# ---- replay buffers ---------------------------------------------------------------------

def _transitions(n, E, rng, p_done=0.15, p_timeout=0.5):
    """n vector steps: (obs, next_obs, action, reward, done, infos) as SB3 adds them."""
    steps = []
    obs = rng.normal(size=(E, 3)).astype(np.float32)
    for _ in range(n):
        nxt = rng.normal(size=(E, 3)).astype(np.float32)
        done = rng.random(E) < p_done
        infos = [{"TimeLimit.truncated": bool(d and rng.random() < p_timeout)} for d in done]
        steps.append((obs, nxt, rng.integers(0, 4, E), rng.normal(size=E).astype(np.float32),
                      done, infos))
        obs = np.where(done[:, None], rng.normal(size=(E, 3)).astype(np.float32), nxt)
    return steps


def _pair(cls_ours, cls_sb3, size, E, **kw):
    return (cls_ours(size, OBS, ACT, n_envs=E, **kw), cls_sb3(size, OBS, ACT, n_envs=E, **kw))


def _assert_same_samples(ours, theirs, batch_inds, tol=0.0):
    np.random.seed(7)
    a = ours._get_samples(batch_inds)
    np.random.seed(7)
    b = theirs._get_samples(batch_inds)
    for name in b._fields:
        x, y = getattr(a, name), getattr(b, name)
        if y is None:
            assert x is None, name
            continue
        assert x.shape == y.shape and x.dtype == y.dtype, (name, x.shape, y.shape, x.dtype, y.dtype)
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("E", [1, 4])
@pytest.mark.parametrize("timeouts", [True, False])
def test_replay_buffer_equals_sb3_field_by_field(backend, E, timeouts):
    rng = np.random.default_rng(E + 10 * timeouts)
    ours, theirs = _pair(F.ReplayBuffer, sb3_buffers.ReplayBuffer, 40 * E, E,
                         handle_timeout_termination=timeouts)
    ours.buffer.backend = backend
    for step in _transitions(100, E, rng):  # wraps: 40 rows
        ours.add(*step)
        theirs.add(*step)
    assert (ours.pos, ours.full, ours.size()) == (theirs.pos, theirs.full, theirs.size())
    _assert_same_samples(ours, theirs, rng.integers(0, 40, 64))
    np.testing.assert_array_equal(ours.observations, theirs.observations)
    np.testing.assert_array_equal(ours.dones, theirs.dones)
    np.testing.assert_array_equal(ours.timeouts, theirs.timeouts if timeouts else 0)


@pytest.mark.parametrize("E", [1, 4])
@pytest.mark.parametrize("timeouts", [True, False])
def test_nstep_replay_buffer_equals_sb3(backend, E, timeouts):
    rng = np.random.default_rng(3 + E + 10 * timeouts)
    kw = dict(handle_timeout_termination=timeouts, n_steps=3, gamma=0.9)
    ours, theirs = _pair(F.NStepReplayBuffer, sb3_buffers.NStepReplayBuffer, 30 * E, E, **kw)
    ours.buffer.backend = backend
    for step in _transitions(75, E, rng):
        ours.add(*step)
        theirs.add(*step)
    rows = rng.integers(0, 30, 64)
    _assert_same_samples(ours, theirs, rows, tol=1e-6)
    # also before the ring is full (the write head stops the n-step sums)
    ours, theirs = _pair(F.NStepReplayBuffer, sb3_buffers.NStepReplayBuffer, 30 * E, E, **kw)
    for step in _transitions(12, E, rng):
        ours.add(*step)
        theirs.add(*step)
    _assert_same_samples(ours, theirs, rng.integers(0, 12, 64), tol=1e-6)


def test_optimize_memory_usage_keeps_the_final_observations():
    """SB3's memory-saving variant loses each episode's final observation (the
    next row holds the reset observation); fastpg's keeps it. Elsewhere the
    batches are the same."""
    rng = np.random.default_rng(5)
    kw = dict(optimize_memory_usage=True, handle_timeout_termination=False)
    ours, theirs = _pair(F.ReplayBuffer, sb3_buffers.ReplayBuffer, 50, 1, **kw)
    steps = _transitions(80, 1, rng)
    for step in steps:
        ours.add(*step)
        theirs.add(*step)
    rows = np.array([r for r in range(50) if r != theirs.pos])  # SB3 never samples pos
    np.random.seed(1)
    a = ours._get_samples(rows)
    np.random.seed(1)
    b = theirs._get_samples(rows)
    last = {(80 - 1 - k) % 50: steps[80 - 1 - k] for k in range(50)}  # row -> its step
    done = np.array([last[r][4][0] for r in rows])
    assert done.any()
    np.testing.assert_array_equal(a.next_observations.numpy()[~done],
                                  b.next_observations.numpy()[~done])
    want = np.array([last[r][1][0] for r in rows])
    np.testing.assert_array_equal(a.next_observations.numpy(), want)
    assert not np.array_equal(b.next_observations.numpy(), want)
    for name in ("observations", "actions", "rewards", "dones"):
        np.testing.assert_array_equal(getattr(a, name).numpy(), getattr(b, name).numpy())
    assert ours.buffer.column("obs").nbytes == 50 * 3 * 4  # observations stored once
    with pytest.raises(ValueError, match="store_next_obs=False"):
        ours.next_observations


def test_sample_contract_matches_sb3():
    rng = np.random.default_rng(6)
    for cls_ours, cls_sb3, kw in [(F.ReplayBuffer, sb3_buffers.ReplayBuffer, {}),
                                  (F.NStepReplayBuffer, sb3_buffers.NStepReplayBuffer,
                                   {"n_steps": 3, "gamma": 0.99})]:
        ours, theirs = _pair(cls_ours, cls_sb3, 100, 2, **kw)
        for step in _transitions(30, 2, rng):
            ours.add(*step)
            theirs.add(*step)
        a, b = ours.sample(32), theirs.sample(32)
        for name in b._fields:
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None), name
            if y is not None:
                assert (x.shape, x.dtype, x.device) == (y.shape, y.dtype, y.device), name


@pytest.mark.parametrize("E", [1, 4])
@pytest.mark.parametrize("kw,one_block", [({}, True), ({"optimize_memory_usage": True}, False),
                                          ({"n_steps": 3}, False)])
def test_sample_one_block_path_equals_the_general_one(backend, E, kw, one_block):
    """sample() takes one gathered block for one-step batches with stored
    next observations; it must give the general path's batch, same draws."""
    rng = np.random.default_rng(E)
    ours = F.ReplayBuffer(40, OBS, ACT, n_envs=E, backend=backend, **kw)
    for step in _transitions(30, E, rng):
        ours.add(*step)
    assert ours._one_block == one_block
    state = copy.deepcopy(ours._rng.bit_generator.state)
    a = ours.sample(64)
    ours._rng.bit_generator.state = state
    b = ours._samples(ours.buffer.sample(64, ours._rng, views=True, **ours._nstep), None)
    assert a._fields == b._fields
    for name in b._fields:
        x, y = getattr(a, name), getattr(b, name)
        if y is None:
            assert x is None, name
            continue
        assert (x.shape, x.dtype) == (y.shape, y.dtype), name
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_prioritized_samples_and_priorities():
    rng = np.random.default_rng(7)
    buf = F.PrioritizedReplayBuffer(64, OBS, ACT, n_envs=2, alpha=1.0, beta=0.5, eps=0.0,
                                    n_steps=2, gamma=0.9)
    for step in _transitions(20, 2, rng):
        buf.add(*step)
    s = buf.sample(16)
    assert isinstance(s, F.PrioritizedReplayBufferSamples)
    assert s.weights.shape == (16, 1) and s.discounts.shape == (16, 1)
    assert buf.update_priorities(s.indices, th.arange(16, dtype=th.float32)) == 16
    np.testing.assert_allclose(buf.buffer.get_priorities(s.indices[-1:]), [15.0])
    grad = th.arange(16, dtype=th.float32).reshape(16, 1).requires_grad_() * 2  # a (16, 1) graph
    assert buf.update_priorities(s.indices, grad) == 16
    np.testing.assert_allclose(buf.buffer.get_priorities(s.indices[-1:]), [30.0])
    assert buf.update_priorities(s.indices, [1.0] * 16) == 16  # any array-like
    buf.beta = 0.9
    assert buf.buffer.beta == 0.9
    with pytest.raises(ValueError, match="finite and >= 0"):
        buf.update_priorities(s.indices, -th.ones(16))


def test_bad_construction():
    with pytest.raises(TypeError, match="DictReplayBuffer"):
        F.ReplayBuffer(10, spaces.Dict({"a": OBS}), ACT)
    with pytest.raises(TypeError, match="DictRolloutBuffer"):
        F.RolloutBuffer(10, spaces.Dict({"a": OBS}), ACT)
    with pytest.raises(ValueError, match="n_steps"):
        F.ReplayBuffer(10, OBS, ACT, n_steps=0)
    with pytest.raises(TypeError, match="PrioritizedReplayBuffer"):
        F.PrioritizedDQN("MlpPolicy", "CartPole-v1", replay_buffer_class=F.ReplayBuffer)


# ---- prioritized DQN --------------------------------------------------------------------

def test_prioritized_dqn_loss_and_priorities():
    """One gradient step: the loss is mean(w * huber(Q(s,a) - y)) and the
    priorities written back are (|y - Q(s,a)| + eps)^alpha, from the networks
    before the step."""
    model = F.PrioritizedDQN("MlpPolicy", "CartPole-v1", learning_starts=0, batch_size=32,
                             alpha=0.7, priority_eps=1e-3, n_steps=3, seed=0)
    model.learn(300)
    buf = model.replay_buffer
    batches = []
    sample = buf.sample
    buf.sample = lambda *a, **k: batches.append(sample(*a, **k)) or batches[-1]
    q, q_target = copy.deepcopy(model.q_net), copy.deepcopy(model.q_net_target)
    model.train(gradient_steps=1, batch_size=32)
    data = batches[0]
    with th.no_grad():
        obs, nxt = data.observations, data.next_observations
        y = (data.rewards.numpy()[:, 0] + (1 - data.dones.numpy()[:, 0]) *
             data.discounts.numpy()[:, 0] * q_target(nxt).numpy().max(1))
        qa = q(obs).numpy()[np.arange(32), data.actions.numpy()[:, 0]]
    delta = y - qa
    huber = np.where(np.abs(delta) < 1, 0.5 * delta ** 2, np.abs(delta) - 0.5)
    w = data.weights.numpy()[:, 0]
    assert (w > 0).all() and w.max() <= 1.0
    model.q_net.load_state_dict(q.state_dict())
    model.q_net_target.load_state_dict(q_target.state_dict())
    loss, td = model.td_loss(data)
    np.testing.assert_allclose(loss.item(), np.mean(w * huber), rtol=1e-5)
    np.testing.assert_allclose(td.numpy(), delta, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(buf.buffer.get_priorities(data.indices),
                               (np.abs(delta) + 1e-3) ** 0.7, rtol=1e-4)
    assert 0.4 < buf.beta <= 1.0


# ---- end to end ---------------------------------------------------------------------------

@pytest.mark.parametrize("algo", ["PPO", "A2C"])
def test_on_policy_learn_runs(algo):
    from stable_baselines3.common.env_util import make_vec_env
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    model = getattr(sb3, algo)("MlpPolicy", env, n_steps=32, seed=0,
                               rollout_buffer_class=F.RolloutBuffer)
    model.learn(512)
    assert isinstance(model.rollout_buffer, F.RolloutBuffer)


@pytest.mark.parametrize("buffer", ["ReplayBuffer", "NStepReplayBuffer"])
def test_dqn_learn_runs_with_vector_envs(buffer):
    from stable_baselines3.common.env_util import make_vec_env
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    model = sb3.DQN("MlpPolicy", env, learning_starts=64, seed=0, train_freq=4,
                    replay_buffer_class=getattr(F, buffer), buffer_size=400)
    model.learn(800)
    assert model.replay_buffer.full and model.replay_buffer.buffer.total_added == 800


def test_sac_and_td3_learn_run():
    for algo in ("SAC", "TD3"):
        model = getattr(sb3, algo)("MlpPolicy", "Pendulum-v1", learning_starts=50, seed=0,
                                   replay_buffer_class=F.PrioritizedReplayBuffer,
                                   policy_kwargs={"net_arch": [16]})
        model.learn(120)
        assert model.replay_buffer.buffer.total_added == 120


def test_save_and_load_replay_buffer(tmp_path):
    model = F.PrioritizedDQN("MlpPolicy", "CartPole-v1", learning_starts=50, seed=0)
    model.learn(200)
    model.save_replay_buffer(tmp_path / "rb.pkl")
    other = F.PrioritizedDQN("MlpPolicy", "CartPole-v1", seed=1)
    other.load_replay_buffer(tmp_path / "rb.pkl")
    a, b = model.replay_buffer.buffer, other.replay_buffer.buffer
    assert b.total_added == a.total_added == 200
    np.testing.assert_array_equal(b.column("obs"), a.column("obs"))
    np.testing.assert_array_equal(b.priorities, a.priorities)
    other.learn(100, reset_num_timesteps=False)


def test_unavailable_backend_fails_at_construction(monkeypatch):
    from fastpg import BackendUnavailable, _backend
    monkeypatch.setitem(_backend._unavailable, "cython", "not built (test)")
    monkeypatch.setattr(_backend, "_modules", {})
    monkeypatch.setattr(_backend, "_dispatch", {})
    with pytest.raises(BackendUnavailable, match="not built"):
        F.RolloutBuffer(8, OBS, ACT, backend="cython")
    with pytest.raises(ValueError, match="backend must be one of"):
        F.RolloutBuffer(8, OBS, ACT, backend="gpu")
