"""pytest-benchmark suite for replay buffers.

Groups are ``workload|size``; ``extra_info["transitions_per_s"]`` is the rate
to compare. Workloads: (a)/(b) prioritized sample 256 + update 256
priorities on a filled buffer; (c) uniform sample 256; (d) add one transition
at a time and in chunks of 64. Baselines: the NumPy reference backend, and
cpprb, Stable-Baselines3 and Tianshou when installed (``pip install
fastpg[peers]``; skipped when absent). Under ``--benchmark-disable`` (CI) the
buffers are cut to 10,000 slots so that every workload runs once, fast.
"""
import numpy as np
import pytest

from fastpg import _backend

from .checks import assert_same, start
from .workloads import REPLAY_BATCH, REPLAY_SIZES, REPLAY_WORKLOADS, call_replay, make_replay

_DATA = {}


def _data(size, small):
    key = (size, small)
    if key not in _DATA:
        _DATA.clear()  # one buffer in memory at a time (the 84x84 one is 0.7 GB)
        _DATA[key] = make_replay(size, capacity=10_000 if small else None)
    return _DATA[key]


_CASES = [(w, s) for w, sizes in REPLAY_WORKLOADS.items() for s in sizes]


@pytest.mark.parametrize("backend", list(_backend.BACKENDS))
@pytest.mark.parametrize("workload,size", _CASES)
def test_replay(benchmark, workload, size, backend):
    start(benchmark, backend, f"{workload}|{size}")
    d = _data(size, benchmark.disabled)
    fn, n = call_replay(workload, d, backend, n_add=2_000 if benchmark.disabled else 20_000)
    fn()  # warm-up: JIT compile excluded
    benchmark.pedantic(fn, rounds=5 if backend == "numpy" else 30, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["transitions_per_s"] = n / benchmark.stats.stats.median
    _check(workload, d, fn, backend)


def _check(workload, d, fn, backend):
    """Once per benchmark: a sample equals the reference backend's on the same
    state and seed; an add workload stored exactly what it was given."""
    if workload in ("per_sample_update", "uniform_sample"):
        if backend == "numpy":
            return
        buf = d["buf"] if workload == "per_sample_update" else d["uniform"]
        got = buf.sample(REPLAY_BATCH, np.random.default_rng(1))
        buf.backend = "numpy"
        want = buf.sample(REPLAY_BATCH, np.random.default_rng(1))
        buf.backend = backend
        assert got.keys() == want.keys()
        for k in want:
            assert_same(got[k], want[k])
        return
    new = fn.buffer
    n = len(new)
    assert n == min(new.capacity, new.total_added) and n > 0
    np.testing.assert_array_equal(new.column("action")[:n], 1)
    np.testing.assert_array_equal(new.column("reward")[:n], np.float32(0.5))
    np.testing.assert_array_equal(new.column("obs")[:n], 0)
    assert not new.column("terminated")[:n].any()


# ------------------------------------------------------------------ peers
def _cpprb(workload, size, small):
    cpprb = pytest.importorskip("cpprb")
    cap, shape, dt, store = REPLAY_SIZES[size]
    cap = 10_000 if small else cap
    env = {"obs": {"shape": shape, "dtype": dt}, "act": {"shape": 1, "dtype": np.int64},
           "rew": {}, "done": {}}
    kw = {} if store else {"next_of": "obs"}
    if store:
        env["next_obs"] = {"shape": shape, "dtype": dt}
    rng = np.random.default_rng(0)
    if workload in ("per_sample_update", "uniform_sample"):
        cls = cpprb.PrioritizedReplayBuffer if workload == "per_sample_update" else cpprb.ReplayBuffer
        buf = cls(cap, env, **kw)
        chunk = 1000
        obs = (rng.integers(0, 256, (chunk,) + shape) if dt == np.uint8
               else rng.normal(size=(chunk,) + shape)).astype(dt)
        for _ in range(0, cap, chunk):
            extra = {"next_obs": obs} if store else {"next_obs": obs}
            buf.add(obs=obs, act=np.zeros(chunk, np.int64), rew=np.zeros(chunk),
                    done=np.zeros(chunk), **extra)
        if workload == "uniform_sample":
            return (lambda: buf.sample(REPLAY_BATCH)), REPLAY_BATCH
        pr = rng.random(REPLAY_BATCH) + 0.1

        def fn():
            b = buf.sample(REPLAY_BATCH, beta=0.4)
            buf.update_priorities(b["indexes"], pr)
        return fn, REPLAY_BATCH
    buf = cpprb.ReplayBuffer(cap, env, **kw)
    o = np.zeros(shape, dt)
    if workload == "add_one":
        n = 2_000 if small else 20_000

        def fn():
            for _ in range(n):
                buf.add(obs=o, act=1, rew=0.5, next_obs=o, done=0)
        return fn, n
    O = np.zeros((64,) + shape, dt)
    A, R, D = np.ones(64, np.int64), np.full(64, 0.5), np.zeros(64)
    reps = 100

    def fn():
        for _ in range(reps):
            buf.add(obs=O, act=A, rew=R, next_obs=O, done=D)
    return fn, reps * 64


def _sb3(workload, size, small):
    pytest.importorskip("stable_baselines3")
    from gymnasium import spaces
    from stable_baselines3.common.buffers import ReplayBuffer as SB3Buffer

    if workload not in ("add_one", "add_chunk64", "uniform_sample"):
        pytest.skip("Stable-Baselines3 has no prioritized buffer")
    cap, shape, dt, _ = REPLAY_SIZES[size]
    cap = 10_000 if small else cap
    n_envs = 64 if workload == "add_chunk64" else 1
    obs_space = spaces.Box(-np.inf, np.inf, shape, dt)
    buf = SB3Buffer(cap, obs_space, spaces.Discrete(4), device="cpu", n_envs=n_envs)
    o = np.zeros((n_envs,) + shape, dt)
    a, r, d = np.ones((n_envs, 1)), np.full(n_envs, 0.5), np.zeros(n_envs)
    infos = [{}] * n_envs
    if workload == "uniform_sample":
        for _ in range(cap):
            buf.add(o, o, a, r, d, infos)
        return (lambda: buf.sample(REPLAY_BATCH)), REPLAY_BATCH
    n = (2_000 if small else 20_000) // n_envs * (4 if n_envs > 1 else 1)

    def fn():
        for _ in range(n):
            buf.add(o, o, a, r, d, infos)
    return fn, n * n_envs


def _tianshou(workload, size, small):
    ts = pytest.importorskip("tianshou")
    if workload not in ("per_sample_update", "uniform_sample"):
        pytest.skip("Tianshou's add takes a Batch per step; not comparable here")
    cap, shape, dt, _ = REPLAY_SIZES[size]
    cap = 10_000 if small else cap
    cls = (ts.data.PrioritizedReplayBuffer if workload == "per_sample_update"
           else ts.data.ReplayBuffer)
    kw = dict(alpha=0.6, beta=0.4) if workload == "per_sample_update" else {}
    buf = cls(cap, **kw)
    o = np.zeros(shape, dt)
    for _ in range(cap):
        buf.add(ts.data.Batch(obs=o, act=1, rew=0.5, terminated=False, truncated=False,
                              obs_next=o, info={}))
    pr = np.random.default_rng(0).random(REPLAY_BATCH) + 0.1
    if workload == "uniform_sample":
        return (lambda: buf.sample(REPLAY_BATCH)), REPLAY_BATCH

    def fn():
        _, idx = buf.sample(REPLAY_BATCH)
        buf.update_weight(idx, pr)
    return fn, REPLAY_BATCH


@pytest.mark.parametrize("peer", ["cpprb", "sb3", "tianshou"])
@pytest.mark.parametrize("workload,size", _CASES)
def test_replay_peer(benchmark, peer, workload, size):
    benchmark.group = f"{workload}|{size}"
    fn, n = {"cpprb": _cpprb, "sb3": _sb3, "tianshou": _tianshou}[peer](
        workload, size, benchmark.disabled)
    fn()
    benchmark.pedantic(fn, rounds=30, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["transitions_per_s"] = n / benchmark.stats.stats.median
