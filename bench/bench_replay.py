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
from fastpg.bench.peers import Unavailable, replay_peer

from .checks import assert_same, start
from .workloads import REPLAY_BATCH, REPLAY_WORKLOADS, call_replay, make_replay

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
@pytest.mark.parametrize("peer", ["cpprb", "sb3", "tianshou"])
@pytest.mark.parametrize("workload,size", _CASES)
def test_replay_peer(benchmark, peer, workload, size):
    benchmark.group = f"{workload}|{size}"
    try:
        fn, n = replay_peer(peer, workload, size, benchmark.disabled)
    except Unavailable as exc:
        pytest.skip(str(exc))
    fn()
    benchmark.pedantic(fn, rounds=30, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["transitions_per_s"] = n / benchmark.stats.stats.median
