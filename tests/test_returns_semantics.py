"""Hand-computed cases, the traps, and the conventions users come from."""
import numpy as np
import pytest

import fastpg

from .conftest import tol


def test_seed_example(backend, dtype):
    got = fastpg.discounted_returns(np.array([10, 0, -50], dtype), 0.8, backend=backend)
    np.testing.assert_allclose(got, [-22, -40, -50], rtol=1e-6)
    assert got.dtype == dtype


def test_tutorial_bug_r_times_gamma_pow_r_is_not_computed(backend):
    r = np.array([1.0, 2.0, 3.0])
    buggy = [sum(r[k] * 0.9 ** r[k] for k in range(t, 3)) for t in range(3)]
    right = [1 + 0.9 * 2 + 0.81 * 3, 2 + 0.9 * 3, 3.0]
    got = fastpg.discounted_returns(r, 0.9, backend=backend)
    np.testing.assert_allclose(got, right)
    assert not np.allclose(got, buggy)


def test_flat_stream_equals_episodes_one_by_one(backend):
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 30, 50)
    eps = [rng.standard_normal(n) for n in lengths]
    term = np.concatenate([np.eye(1, n, n - 1)[0] for n in lengths]).astype(bool)
    flat = fastpg.discounted_returns(np.concatenate(eps), 0.95, term, backend=backend)
    each = np.concatenate([fastpg.discounted_returns(e, 0.95, backend=backend) for e in eps])
    np.testing.assert_allclose(flat, each, rtol=1e-12)


def test_truncation_bootstraps_termination_does_not(backend):
    r = np.ones(3)
    nv = np.array([0.0, 10.0, 0.0])
    trunc = fastpg.discounted_returns(r, 0.5, None, [0, 1, 0], nv, backend=backend)
    term = fastpg.discounted_returns(r, 0.5, [0, 1, 0], None, nv, backend=backend)
    both = fastpg.discounted_returns(r, 0.5, [0, 1, 0], [0, 1, 0], nv, backend=backend)
    np.testing.assert_allclose(trunc, [1 + 0.5 * 6, 1 + 0.5 * 10, 1])
    np.testing.assert_allclose(term, [1.5, 1, 1])
    np.testing.assert_allclose(both, term)


def test_gae_lambda_one_zero_values_is_discounted_returns(backend, dtype):
    rng = np.random.default_rng(0)
    r = rng.standard_normal((50, 3)).astype(dtype)
    term = rng.random((50, 3)) < 0.1
    z = np.zeros_like(r)
    res = fastpg.gae(r, z, z, 0.97, 1.0, term, backend=backend)
    np.testing.assert_allclose(res.advantages, fastpg.discounted_returns(r, 0.97, term, backend=backend),
                               **tol(dtype))


def test_lambda_returns_equal_gae_returns(backend):
    rng = np.random.default_rng(1)
    T = 64
    v_all = rng.standard_normal(T + 1)
    term = rng.random(T) < 0.1
    trunc = rng.random(T) < 0.1
    nv = v_all[1:].copy()
    nv[trunc] = rng.standard_normal(trunc.sum())  # final-observation values
    v = v_all[:-1].copy()
    r = rng.standard_normal(T)
    g = fastpg.gae(r, v, nv, 0.9, 0.8, term, trunc, backend=backend)
    lr = fastpg.lambda_returns(r, nv, 0.9, 0.8, term, trunc, backend=backend)
    np.testing.assert_allclose(lr, g.returns, rtol=1e-12, atol=1e-12)


def test_gae_shorthand_equals_full_next_values(backend):
    rng = np.random.default_rng(2)
    r, v = rng.standard_normal((2, 20, 4))
    last = rng.standard_normal(4)
    term = rng.random((20, 4)) < 0.2
    full = np.concatenate([v[1:], last[None]])
    a = fastpg.gae(r, v, last, 0.99, 0.95, term, backend=backend)
    b = fastpg.gae(r, v, full, 0.99, 0.95, term, backend=backend)
    np.testing.assert_allclose(a.advantages, b.advantages)
    with pytest.raises(ValueError, match="pass next_values"):
        fastpg.gae(r, v, last, 0.99, 0.95, term, truncated=np.eye(20, 4, dtype=bool), backend=backend)


@pytest.mark.parametrize("shape", [(40,), (40, 3), (40, 2, 3)], ids=["flat", "TB", "TxBxC"])
def test_discounted_shorthand_equals_full_next_values(backend, dtype, shape):
    """next_values of the batch shape is the value after the last step: only
    the last step (and no truncation before it) bootstraps."""
    rng = np.random.default_rng(3)
    r = rng.standard_normal(shape).astype(dtype)
    term = rng.random(shape) < 0.1
    trunc = np.zeros(shape, bool)
    trunc[-1] = rng.random(shape[1:]) < 0.5  # a truncation at the last step is allowed
    last = rng.standard_normal(shape[1:]).astype(dtype)
    full = np.zeros(shape, dtype)
    full[-1] = last
    a = fastpg.discounted_returns(r, 0.9, term, trunc, next_values=last, backend=backend)
    b = fastpg.discounted_returns(r, 0.9, term, trunc, next_values=full, backend=backend)
    assert a.dtype == dtype and a.shape == shape
    np.testing.assert_allclose(a, b, **tol(dtype))
    # hand-computed on a flat stream: G = [1 + .5 * (1 + .5 * 8), 1 + .5 * 8] = [3.5, 5]
    np.testing.assert_allclose(fastpg.discounted_returns(np.ones(2, dtype), 0.5, next_values=8.0,
                                                         backend=backend), [3.5, 5.0])
    bad = np.zeros(shape, bool)
    bad[0] = True
    with pytest.raises(ValueError, match="pass next_values"):
        fastpg.discounted_returns(r, 0.9, truncated=bad, next_values=last, backend=backend)
    with pytest.raises(ValueError, match="batch shape"):
        fastpg.discounted_returns(r, 0.9, next_values=np.zeros(shape[:-1] + (7,)), backend=backend)


def test_sb3_rollout_buffer_loop(backend):
    """Stable-Baselines3 RolloutBuffer.compute_returns_and_advantage."""
    rng = np.random.default_rng(4)
    T, N, gamma, lam = 32, 4, 0.99, 0.95
    rewards, values = rng.standard_normal((2, T, N))
    episode_starts = rng.random((T, N)) < 0.1
    last_values = rng.standard_normal(N)
    dones = rng.random(N) < 0.3
    adv = np.zeros((T, N))
    last = 0
    for step in reversed(range(T)):
        if step == T - 1:
            nnt, nv = 1.0 - dones, last_values
        else:
            nnt, nv = 1.0 - episode_starts[step + 1], values[step + 1]
        delta = rewards[step] + gamma * nv * nnt - values[step]
        last = delta + gamma * lam * nnt * last
        adv[step] = last
    # SB3's done after step t is episode_starts[t + 1] (terminal, no bootstrap)
    term = np.concatenate([episode_starts[1:], dones[None]])
    res = fastpg.gae(rewards, values, last_values, gamma, lam, term, backend=backend)
    np.testing.assert_allclose(res.advantages, adv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.returns, adv + values, rtol=1e-12, atol=1e-12)


def test_tianshou_flat_end_flag_value_mask(backend):
    """Tianshou's flat form: v_s_ masked by (1 - terminated), end_flag = done."""
    rng = np.random.default_rng(5)
    T, gamma, lam = 40, 0.9, 0.7
    rew, v_s, v_s_ = rng.standard_normal((3, T))
    terminated = rng.random(T) < 0.1
    truncated = rng.random(T) < 0.1
    end_flag = terminated | truncated
    end_flag[-1] = True
    value_mask = ~terminated
    delta = rew + v_s_ * value_mask * gamma - v_s
    discount = (1.0 - end_flag) * gamma * lam
    gae, out = 0.0, np.zeros(T)
    for i in range(T - 1, -1, -1):
        gae = delta[i] + discount[i] * gae
        out[i] = gae
    res = fastpg.gae(rew, v_s, v_s_, gamma, lam, terminated, truncated, backend=backend)
    np.testing.assert_allclose(res.advantages, out, rtol=1e-12, atol=1e-12)


def test_rlax_per_step_discount_lambda_returns(backend):
    """rlax.lambda_returns(r_t, discount_t, v_t, lambda_): discount_t = gamma * (1 - term)."""
    rng = np.random.default_rng(6)
    T = 30
    r_t, v_t = rng.standard_normal((2, T))
    term = rng.random(T) < 0.15
    discount_t = 0.95 * (1 - term)
    lam = 0.8
    acc = v_t[-1]
    want = np.zeros(T)
    for i in reversed(range(T)):
        acc = r_t[i] + discount_t[i] * ((1 - lam) * v_t[i] + lam * acc)
        want[i] = acc
    # rlax bootstraps the last step from v_t[-1] with weight 1 (its acc init):
    got = fastpg.lambda_returns(r_t, v_t, discount_t, lam, backend=backend)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_nstep_hand_case(backend):
    r = np.array([1.0, 2.0, 3.0, 4.0])
    nv = np.array([10.0, 20.0, 30.0, 40.0])
    got = fastpg.nstep_returns(r, nv, 0.5, 2, terminated=[0, 0, 1, 0], backend=backend)
    np.testing.assert_allclose(got, [1 + 0.5 * 2 + 0.25 * 20, 2 + 0.5 * 3, 3, 4 + 0.5 * 40])


def test_nan_reward_stays_in_its_episode(backend):
    r = np.array([1.0, np.nan, 1.0, 1.0])
    got = fastpg.discounted_returns(r, 0.9, [0, 1, 0, 0], backend=backend)
    assert np.isnan(got[:2]).all() and np.isfinite(got[2:]).all()
    got = fastpg.discounted_returns(np.array([1.0, np.inf, 1.0]), 0.0, backend=backend)
    np.testing.assert_array_equal(got, [1.0, np.inf, 1.0])


def test_axis_and_out(backend):
    rng = np.random.default_rng(7)
    r = rng.standard_normal((3, 50)).astype(np.float32)
    want = fastpg.discounted_returns(r.T, 0.9, backend=backend).T
    out = np.empty_like(r)
    got = fastpg.discounted_returns(r, 0.9, axis=1, out=out, backend=backend)
    assert got is out
    np.testing.assert_allclose(out, want, rtol=1e-6)
    # in place on the input
    r2 = r.T.copy()
    fastpg.discounted_returns(r2, 0.9, out=r2, backend=backend)
    np.testing.assert_allclose(r2, want.T, rtol=1e-6)


def test_noncontiguous_and_readonly_inputs(backend):
    r = np.arange(40, dtype=np.float64).reshape(20, 2)[::2]
    r.flags.writeable = False
    got = fastpg.discounted_returns(r, 0.5, backend=backend)
    np.testing.assert_allclose(got, fastpg.discounted_returns(r.copy(), 0.5, backend="numpy"))


def test_empty_inputs(backend):
    assert fastpg.discounted_returns(np.zeros(0), 0.9, backend=backend).shape == (0,)
    assert fastpg.gae(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(3), 0.9, 0.9,
                      backend=backend).advantages.shape == (0, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(40_000,), (40_000, 3)], ids=["flat", "T40000xB3"])
def test_nan_and_inf_propagate_through_their_whole_episode(backend, bad, shape):
    """Long episodes whose discount product underflows (0.5^40000 = 0): a NaN or
    inf at the end still reaches every step of its episode, on the block path
    too, and stops at the episode end (the rule of the reference)."""
    r = np.zeros(shape)
    r[-1] = bad
    term = np.zeros(shape, bool)
    term[9_999] = True  # the first 10,000 steps are another episode
    v = np.zeros(shape)
    outs = {
        "discounted": fastpg.discounted_returns(r, 0.5, term, backend=backend),
        "gae": fastpg.gae(r, v, v, 0.5, 1.0, term, backend=backend).advantages,
        "lambda": fastpg.lambda_returns(r, v, 0.5, 0.9, term, backend=backend),
    }
    for name, out in outs.items():
        tail, head = out[10_000:], out[:10_000]
        if np.isnan(bad):
            assert np.isnan(tail).all(), name
        else:
            assert (tail == bad).all(), name  # an inf stays an inf, never 0 * inf = NaN
        assert (head == 0).all(), name


def test_nstep_sums_do_not_underflow_in_float32(backend):
    """gamma^k in float64 as the reference: 0.05^40 is 0 in float32, and 0 * inf
    would turn an inf reward into NaN."""
    r = np.zeros(50, np.float32)
    r[4] = r[40] = np.inf
    out = fastpg.nstep_returns(r, np.zeros(50, np.float32), 0.05, 61, backend=backend)
    want = fastpg.nstep_returns(r, np.zeros(50, np.float32), 0.05, 61, backend="numpy")
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(np.isinf(out), np.isinf(want))
    assert np.isinf(out[:41]).all() and (out[41:] == 0).all()
