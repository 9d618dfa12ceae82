"""CartPole-v1 on fastpg's kernel against gymnasium's own CartPole: one step
from arbitrary states (hypothesis), 10,000-step vector rollouts in both
autoreset modes, seeding, the gymnasium API, and bad input."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv as GymCartPole
from gymnasium.vector import AutoresetMode
from hypothesis import given
from hypothesis import strategies as st

import fastpg.envs  # noqa: F401  (registers fastpg/CartPole-v1)
from fastpg import _backend
from fastpg.envs import AcrobotEnv, AcrobotVectorEnv, CartPoleEnv, CartPoleVectorEnv, \
    MountainCarEnv
from fastpg.reference import envs as ref

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]


def _kernel(backend, name="cartpole_step"):
    return getattr(ref, name) if backend == "numpy" else _backend.kernel("envs", name, backend)


def _one_step(backend, state, action, steps=0, max_steps=500):
    """One kernel step of one env from ``state``: (obs, reward, term, trunc, state)."""
    s = np.array([state], np.float64)
    obs, fo = np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32)
    rew, te, tr = np.zeros(1), np.zeros(1, np.uint8), np.zeros(1, np.uint8)
    rc = _kernel(backend)(s, np.array([action]), np.zeros((1, 2, 4)), np.zeros(1, np.int64),
                          np.array([steps]), np.zeros(1, np.uint8), max_steps, 0, obs, rew,
                          te, tr, fo)
    assert rc == -1
    return obs[0], rew[0], bool(te[0]), bool(tr[0]), s[0]


_coord = st.floats(-3.0, 3.0, allow_nan=False, width=64)


@given(x=_coord, x_dot=_coord, theta=st.floats(-0.3, 0.3, width=64), theta_dot=_coord,
       action=st.integers(0, 1))
def test_one_step_is_gymnasiums(backend, x, x_dot, theta, theta_dot, action):
    """From the same float64 state and action: the same next state, float32
    observation, reward and termination as gymnasium's CartPoleEnv, bit for bit."""
    env = GymCartPole()
    env.reset(seed=0)
    env.state = np.array([x, x_dot, theta, theta_dot])
    want_obs, want_r, want_te, want_tr, _ = env.step(action)
    obs, r, te, tr, state = _one_step(backend, [x, x_dot, theta, theta_dot], action)
    assert obs.dtype == want_obs.dtype and np.array_equal(obs, want_obs)
    assert np.array_equal(state, env.state)
    assert (r, te, tr) == (want_r, want_te, want_tr)


@given(position=st.floats(-1.2, 0.6, width=64), velocity=st.floats(-0.07, 0.07, width=64),
       action=st.integers(0, 2))
def test_mountaincar_one_step_is_gymnasiums(backend, position, velocity, action):
    from gymnasium.envs.classic_control.mountain_car import MountainCarEnv as GymMountainCar
    env = GymMountainCar()
    env.reset(seed=0)
    env.state = (position, velocity)
    want = env.step(action)
    state = np.array([[position, velocity]])
    obs, fo = np.zeros((1, 2), np.float32), np.zeros((1, 2), np.float32)
    rew, te, tr = np.zeros(1), np.zeros(1, np.uint8), np.zeros(1, np.uint8)
    rc = _kernel(backend, "mountaincar_step")(
        state, np.array([action]), np.zeros((1, 2, 1)), np.zeros(1, np.int64),
        np.zeros(1, np.int64), np.zeros(1, np.uint8), 200, 0, obs, rew, te, tr, fo)
    assert rc == -1 and np.array_equal(obs[0], want[0])
    assert np.array_equal(state[0], np.array(env.state, dtype=np.float64))
    assert (rew[0], bool(te[0]), bool(tr[0])) == want[1:4]


@given(angles=st.lists(st.floats(-3.2, 3.2, width=64), min_size=2, max_size=2),
       w1=st.floats(-12.6, 12.6, width=64), w2=st.floats(-28.3, 28.3, width=64),
       action=st.integers(0, 2))
def test_acrobot_one_step_is_gymnasiums(backend, angles, w1, w2, action):
    """One RK4 step from any state (float64, as after a step): the state,
    observation, reward and termination of gymnasium's AcrobotEnv."""
    from gymnasium.envs.classic_control.acrobot import AcrobotEnv as GymAcrobot
    env = GymAcrobot()
    env.reset(seed=0)
    env.state = np.array([*angles, w1, w2])
    want = env.step(action)
    state = np.array([[*angles, w1, w2]])
    obs, fo = np.zeros((1, 6), np.float32), np.zeros((1, 6), np.float32)
    rew, te, tr = np.zeros(1), np.zeros(1, np.uint8), np.zeros(1, np.uint8)
    rc = _kernel(backend, "acrobot_step")(
        state, np.array([action]), AcrobotVectorEnv.bank_records(np.zeros((1, 2, 4))),
        np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.uint8), 500, 0, obs, rew,
        te, tr, fo)
    assert rc == -1 and np.array_equal(obs[0], want[0])
    assert np.array_equal(state[0], env.state)
    assert (rew[0], bool(te[0]), bool(tr[0])) == want[1:4]


def test_truncation_at_the_step_limit_and_both_flags(backend):
    state = [2.39, 1.0, 0.0, 0.0]  # leaves the track in this step
    _, _, te, tr, _ = _one_step(backend, state, 1, steps=499)
    assert te and tr
    _, _, te, tr, _ = _one_step(backend, [0.0, 0.0, 0.0, 0.0], 1, steps=498)
    assert not te and not tr


@pytest.mark.parity
@pytest.mark.parametrize("variant", ["", "_parallel"])
@pytest.mark.parametrize("same_step", [0, 1])
@given(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 45))
def test_kernel_equals_the_reference(backend, same_step, variant, seed, N):
    """Random mid-episode batches, pending resets, step limits and banks about
    to run out: every array and the status equal the reference's bit for bit,
    for the serial kernel and the multi-threaded one (envs in chunks)."""
    rng = np.random.default_rng(seed)
    K = 3
    state = rng.uniform(-1, 1, (N, 4)) * [2.6, 2.0, 0.23, 2.0]
    args = [state, rng.integers(0, 2, N), rng.random((N, K, 4)), rng.integers(0, K, N),
            rng.integers(495, 500, N), (rng.random(N) < 0.3).astype(np.uint8), 500, same_step,
            np.zeros((N, 4), np.float32), np.zeros(N), np.zeros(N, np.uint8),
            np.zeros(N, np.uint8), np.zeros((N, 4), np.float32)]
    mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    want = ref.cartpole_step(*args)
    got = getattr(_backend._load(backend, "envs"), "cartpole_step" + variant)(*mine)
    assert got == want
    for a, b in zip(mine, args):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_many_envs_step_on_threads_with_the_same_results(backend):
    """From 768 envs CartPole steps on the kernel's multi-threaded variant
    (compiled backends, more than one thread): the same results as the
    serial kernel, step for step, across many resets and bank refills."""
    if backend == "numpy":
        pytest.skip("the reference has no multi-threaded variant")
    many = CartPoleVectorEnv(1024, backend=backend)
    if _backend.threads() > 1:
        assert many._step.__name__ == "cartpole_step_parallel"
    one = CartPoleVectorEnv(1024, backend=backend)
    one._step = _backend.kernel("envs", "cartpole_step", backend)
    assert one._step.__name__ == "cartpole_step"
    many.reset(seed=3)
    one.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(400):
        a = rng.integers(0, 2, 1024)
        for x, y in zip(many.step(a)[:4], one.step(a)[:4]):
            assert np.array_equal(x, y)


def _pump(obs, t, rng):
    """MountainCar's actions: random, or (half the time) pushing along the
    velocity, which reaches the goal, so that both flags occur."""
    return rng.integers(0, 3, len(obs)) if t % 400 < 200 else np.where(obs[:, 1] >= 0, 2, 0)


def _swing(obs, t, rng):
    """Acrobot's actions: random, or (two thirds of the time) torque along the
    second link's speed, which swings the arm up: both flags occur."""
    return rng.integers(0, 3, len(obs)) if t % 300 < 100 else np.where(obs[:, 5] >= 0, 2, 0)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("env_id, bounds, policy", [
    ("CartPole-v1", (-0.2, 0.1), lambda obs, t, rng: rng.integers(0, 2, len(obs))),
    ("MountainCar-v0", (-0.9, -0.1), _pump),
    ("Acrobot-v1", (-0.3, 0.2), _swing)])
def test_rollouts_equal_gymnasiums_sync_vector_env(backend, mode, env_id, bounds, policy):
    """10,000 steps of 8 envs (2,000 for the reference) with a fixed action
    sequence from the same seed (CartPole: each env resets ~450 times, so its
    bank refills ~7 times), a
    reset without a seed and with other bounds half way: observations,
    rewards, flags and final observations equal gymnasium's SyncVectorEnv's."""
    N, T = 8, 10_000 if backend != "numpy" else 2_000  # the reference: a Python loop
    ours = gym.make_vec("fastpg/" + env_id, num_envs=N, autoreset_mode=mode, backend=backend)
    theirs = gym.make_vec(env_id, num_envs=N, vectorization_mode="sync",
                          vector_kwargs={"autoreset_mode": mode})
    o1, _ = ours.reset(seed=11)
    o2, _ = theirs.reset(seed=11)
    assert np.array_equal(o1, o2)
    rng = np.random.default_rng(5)
    ends = 0
    for t in range(T):
        if t == T // 2:
            o1, _ = ours.reset(options={"low": bounds[0], "high": bounds[1]})
            o2, _ = theirs.reset(options={"low": bounds[0], "high": bounds[1]})
            assert np.array_equal(o1, o2)
        a = policy(o2, t, rng)
        got, want = ours.step(a), theirs.step(a)
        o2 = want[0]
        for g, w in zip(got[:4], want[:4]):
            assert g.dtype == w.dtype and np.array_equal(g, w), t
        ends += int((want[2] | want[3]).sum())
        if mode is AutoresetMode.SAME_STEP:
            assert set(got[4]) == set(want[4]), t
            if "_final_obs" in want[4]:
                assert np.array_equal(got[4]["_final_obs"], want[4]["_final_obs"])
                for i in np.flatnonzero(want[4]["_final_obs"]):
                    assert np.array_equal(got[4]["final_obs"][i], want[4]["final_obs"][i])
    if T == 10_000:
        assert ends > 2 * type(ours).BANK * N  # the banks were refilled


@pytest.mark.filterwarnings("ignore:.*already returned terminated:UserWarning")
@pytest.mark.parametrize("env_id", ["CartPole-v1", "MountainCar-v0", "Acrobot-v1"])
def test_single_env_is_gymnasiums(env_id):
    """gym.make of the compiled env against gymnasium's, resets by hand, and
    steps past the end of an episode (gymnasium's behaviour there too)."""
    env, theirs = gym.make("fastpg/" + env_id), gym.make(env_id)
    assert env.spec.max_episode_steps == theirs.spec.max_episode_steps
    assert env.observation_space == theirs.observation_space
    assert env.action_space == theirs.action_space
    o1, _ = env.reset(seed=4)
    o2, _ = theirs.reset(seed=4)
    assert np.array_equal(o1, o2)
    rng = np.random.default_rng(0)
    for t in range(3000):
        a = int(rng.integers(0, env.action_space.n))
        got, want = env.unwrapped.step(a), theirs.unwrapped.step(a)  # no TimeLimit: past ends
        assert all(np.array_equal(g, w) for g, w in zip(got[:4], want[:4])), t
        if t % 700 == 699:
            o1, _ = env.reset()
            o2, _ = theirs.reset()
            assert np.array_equal(o1, o2)


def test_make_and_make_vec():
    vec = gym.make_vec("fastpg/CartPole-v1", num_envs=3)
    assert isinstance(vec, CartPoleVectorEnv) and vec.num_envs == 3
    assert vec.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert vec.single_observation_space == gym.make("CartPole-v1").observation_space
    assert vec.action_space.shape == (3,) and vec.observation_space.shape == (3, 4)
    env = gym.make("fastpg/CartPole-v1")
    assert isinstance(env.unwrapped, CartPoleEnv) and env.spec.max_episode_steps == 500
    theirs = gym.make("CartPole-v1")
    o1, _ = env.reset(seed=4)
    o2, _ = theirs.reset(seed=4)
    assert np.array_equal(o1, o2)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        a = int(rng.integers(0, 2))
        got, want = env.step(a), theirs.step(a)
        assert all(np.array_equal(g, w) for g, w in zip(got[:4], want[:4]))
        if got[2] or got[3]:
            o1, _ = env.reset()
            o2, _ = theirs.reset()
            assert np.array_equal(o1, o2)


@pytest.mark.filterwarnings("ignore:.*Box observation space:UserWarning")
@pytest.mark.parametrize("env_cls", [CartPoleEnv, MountainCarEnv, AcrobotEnv])
def test_single_env_passes_gymnasiums_checker(env_cls):
    from gymnasium.utils.env_checker import check_env
    check_env(env_cls(), skip_render_check=True)


def test_seed_list_and_unseeded_reset_differ():
    a, _ = CartPoleVectorEnv(2).reset(seed=[7, 9])
    b, _ = CartPoleVectorEnv(2).reset(seed=7)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[1], b[1])
    c, _ = CartPoleVectorEnv(2).reset()
    d, _ = CartPoleVectorEnv(2).reset()
    assert not np.array_equal(c, d)


def test_observations_are_copies_unless_asked():
    env = CartPoleVectorEnv(2)
    obs, _ = env.reset(seed=0)
    nxt = env.step(np.array([0, 1]))[0]
    assert not np.shares_memory(obs, nxt)
    raw = CartPoleVectorEnv(2, copy=False)
    first, _ = raw.reset(seed=0)
    assert np.shares_memory(first, raw.step(np.array([0, 1]))[0])


@pytest.mark.parametrize("actions, err, match", [
    (np.array([0, 2]), ValueError, r"actions\[1\] = 2"),
    (np.array([-1, 0]), ValueError, r"actions\[0\] = -1"),
    (np.array([0, 1, 1]), ValueError, r"shape \(2,\)"),
    (np.array([0.5, 1.0]), TypeError, "integers"),
    (np.array([True, False]), TypeError, "bool"),
])
def test_bad_actions_raise_before_any_change(backend, actions, err, match):
    env = CartPoleVectorEnv(2, backend=backend)
    env.reset(seed=0)
    before = (env._state.copy(), env._steps.copy(), env._cursor.copy())
    with pytest.raises(err, match=match):
        env.step(actions)
    assert all(np.array_equal(a, b) for a, b in zip(before, (env._state, env._steps,
                                                             env._cursor)))
    env.step(np.array([0, 1]))  # still usable


def test_read_only_and_strided_actions_step_as_a_plain_array(backend):
    """The step's fast path takes only writeable C-contiguous int64 actions (its
    kernel is called without the read-only check); others are copied first:
    same results, the caller's array untouched, no second numba compilation."""
    a = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    ro = a.copy()
    ro.flags.writeable = False
    strided = np.repeat(a, 2)[::2]
    envs = [CartPoleVectorEnv(8, backend=backend) for _ in range(3)]
    for env in envs:
        env.reset(seed=3)
    step = envs[0]._step
    sigs = lambda: len(getattr(step, "signatures", ()))  # numba's specialisations
    envs[0].step(a)  # compiled (or loaded) for plain actions
    n = sigs()
    for env, x in zip(envs[1:], (ro, strided)):
        env.step(x)
    for _ in range(40):
        outs = [env.step(x) for env, x in zip(envs, (a, ro, strided))]
        for o in outs[1:]:
            assert all(np.array_equal(p, q) for p, q in zip(o[:4], outs[0][:4]))
    assert sigs() == n
    assert not ro.flags.writeable and np.array_equal(ro, a)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(num_envs=0), ValueError, "num_envs"),
    (dict(num_envs=2.5), TypeError, "num_envs"),
    (dict(max_episode_steps=0), ValueError, "max_episode_steps"),
    (dict(autoreset_mode="Disabled"), ValueError, "autoreset_mode"),
    (dict(render_mode="human"), ValueError, "render_mode"),
    (dict(backend="fortran"), ValueError, "backend"),
])
def test_bad_construction(kwargs, err, match):
    with pytest.raises(err, match=match):
        CartPoleVectorEnv(**{"num_envs": 2, **kwargs})


def test_bad_reset_and_step_before_reset():
    env = CartPoleVectorEnv(2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0, 1]))
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"reset_mask": [True, False]})


def test_bench_lines_run():
    """The `fastpg bench --full` env lines' measurements, tiny."""
    from fastpg.bench import workloads as W
    backends = [b for b in ("numba", "cython") if _backend.available(b)]
    fused = W.cartpole_rollout_steps_per_second(4, backends, steps=3)
    assert set(fused) == set(backends) and all(v > 0 for v in fused.values())
    for env_id in W.COMPILED_ENVS:
        step = W.env_steps_per_second(env_id, 4, backends, steps=3)
        assert set(step) == set(backends) | {"gymnasium"} and all(v > 0 for v in step.values())


def test_users_njit_code_steps_the_kernel():
    """A user's own @njit loop calls numba's cartpole_step directly (the
    arguments of fastpg.reference.envs) and gets the vector env's results."""
    numba = pytest.importorskip("numba")
    if not _backend.available("numba"):
        pytest.skip("numba backend unavailable")
    from fastpg._numba.envs import cartpole_step

    @numba.njit
    def run(state, bank, cursor, steps, reset, obs, rew, te, tr, fo, T):
        a = np.ones(state.shape[0], np.int64)
        total = 0.0
        for _ in range(T):
            if cartpole_step(state, a, bank, cursor, steps, reset, 500, 0, obs, rew, te, tr,
                             fo) == -2:
                return -1.0  # a bank ran out: the caller refills
            total += rew.sum()
        return total

    env = CartPoleVectorEnv(4, backend="numba")
    env.reset(seed=1)
    args = [env._state.copy(), env._bank.copy(), env._cursor.copy(), env._steps.copy(),
            env._reset.copy(), np.zeros((4, 4), np.float32), np.zeros(4), np.zeros(4, np.uint8),
            np.zeros(4, np.uint8), np.zeros((4, 4), np.float32)]
    total = run(*args, 30)
    paid = 0.0
    for _ in range(30):
        obs, rew, *_ = env.step(np.ones(4, np.int64))
        paid += rew.sum()
    assert total == paid and np.array_equal(args[5], obs)
