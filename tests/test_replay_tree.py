"""The sum tree of prioritized replay: parity of the three kernels with the
reference, and the known traps of sum-tree replay."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastpg import SumTree, _backend
from fastpg.reference import replay as ref


def test_registry_lists_every_replay_kernel():
    assert set(_backend.REGISTRY["replay"]) == set(ref.__all__)


@pytest.mark.parity
@given(capacity=st.integers(1, 70), seed=st.integers(0, 2**32 - 1), zeros=st.booleans())
def test_kernels_match_the_reference(backend, capacity, seed, zeros):
    rng = np.random.default_rng(seed)
    a, b = SumTree(capacity, backend=backend), SumTree(capacity, backend="numpy")
    for _ in range(4):
        n = int(rng.integers(1, 2 * capacity + 2))
        idx = rng.integers(0, capacity, n)  # duplicates included
        p = rng.random(n) * 10
        if zeros:
            p[rng.random(n) < 0.3] = 0.0
        a.update(idx, p)
        b.update(idx, p)
        np.testing.assert_array_equal(a.sum_tree, b.sum_tree)
        np.testing.assert_array_equal(a.min_tree, b.min_tree)
        if b.total > 0:
            s = int(rng.integers(0, 2**31))
            got, want = a.sample(17, s), b.sample(17, s)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_allclose(a.weights(got, 0.6), b.weights(want, 0.6), rtol=1e-6)


def test_duplicates_last_wins(backend):
    t = SumTree(4, backend=backend)
    t.update([1, 1, 1], [5.0, 0.0, 2.0])
    assert t.priorities[1] == 2.0 and t.total == 2.0


@pytest.mark.parametrize("capacity", [1, 3, 500])
def test_non_power_of_two_capacities(backend, capacity):
    t = SumTree(capacity, backend=backend)
    t.update(np.arange(capacity), np.arange(1, capacity + 1, dtype=float))
    s = t.sample(1000, 0)
    assert s.min() >= 0 and s.max() < capacity
    assert t.total == pytest.approx(capacity * (capacity + 1) / 2)


def test_mass_at_or_above_the_total_lands_on_a_positive_leaf(backend):
    t = SumTree(5, backend=backend)
    t.update([0, 1, 2, 3, 4], [0.1, 0.2, 0.3, 0.0, 0.0])  # the last slots are empty
    k = _backend.kernel("replay", "tree_sample", backend)
    out = np.empty(3, np.int64)
    for u in ([1.0], [np.nextafter(1.0, 2.0)], [1.0 + 1e-9]):
        k(t.tree, t.depth, np.array(u), out[:1])
        assert out[0] == 2, u  # the last positive leaf, never an empty one
    k(t.tree, t.depth, np.array([0.0, 0.999999999999, 1.0]), out)
    assert set(out) <= {0, 1, 2}


def test_newest_item_and_zero_priorities(backend):
    t = SumTree(6, backend=backend)
    t.update([0, 1, 2, 3, 4, 5], [0.0, 1.0, 0.0, 1.0, 0.0, 1e-3])
    s = t.sample(20_000, 1)
    assert set(np.unique(s)) == {1, 3, 5}  # the newest slot (5, tiny) is sampled, zeros never


def test_frequencies_match_priorities(backend):
    p = np.array([1.0, 2.0, 3.0, 4.0, 0.5, 0.0, 7.0])
    t = SumTree(len(p), backend=backend)
    t.update(np.arange(len(p)), p)
    n = 200_000
    counts = np.bincount(np.concatenate([t.sample(1000, s) for s in range(n // 1000)]),
                         minlength=len(p))
    expected = n * p / p.sum()
    keep = expected > 0
    chi2 = float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    assert counts[5] == 0
    assert chi2 < 22.46  # chi-square, 5 dof, p = 0.0004 (stratification only lowers it)


def test_no_drift_after_a_million_updates(backend):
    rng = np.random.default_rng(0)
    t = SumTree(1000, backend=backend)
    for _ in range(1000):
        t.update(rng.integers(0, 1000, 1000), rng.random(1000) * rng.choice([1e-6, 1.0, 1e6]))
    exact = math.fsum(t.priorities)
    assert t.total == pytest.approx(exact, rel=1e-9)
    assert t.min_priority == t.priorities[t.priorities > 0].min()


def test_importance_weights(backend):
    t = SumTree(4, backend=backend)
    t.update([0, 1, 2, 3], [1.0, 2.0, 4.0, 0.0])
    w = t.weights([0, 1, 2], 0.5)
    N, P = 3, np.array([1.0, 2.0, 4.0]) / 7.0  # by the definition, normalised by the max
    want = (N * P) ** -0.5 / ((N * P) ** -0.5).max()
    np.testing.assert_allclose(w, want, rtol=1e-6)
    assert w.dtype == np.float32 and t.weights([1], 1.0, np.float64).dtype == np.float64


def test_bad_input(backend):
    t = SumTree(4, backend=backend)
    with pytest.raises(ValueError, match="cannot sample"):
        t.sample(2, 0)
    for bad in (np.nan, -1.0, np.inf):
        with pytest.raises(ValueError, match="finite and >= 0"):
            t.update([0], [bad])
    with pytest.raises(ValueError, match=r"indices\[1\] = 4 is out of range"):
        t.update([0, 4], [1.0, 1.0])
    assert t.total == 0.0  # nothing was written
    with pytest.raises(TypeError, match="integers"):
        t.update([0.0], [1.0])
    t.update([0, 1], [1.0, 0.0])
    with pytest.raises(ValueError, match="beta must lie"):
        t.weights([0], 1.5)
    with pytest.raises(ValueError, match="priority 0"):
        t.weights([1], 0.5)
    with pytest.raises(ValueError, match="batch_size"):
        t.sample(0, 0)
    with pytest.raises(ValueError, match="capacity"):
        SumTree(0)


def test_a_used_tree_pickles_and_follows_the_backend_in_force(backend):
    """The tree keeps its kernels between calls (once per step matters); they
    are not part of its pickled state, and a change of backend is seen."""
    import pickle

    import fastpg
    t = SumTree(10, backend=backend)
    t.update(np.arange(3), np.ones(3))
    copy = pickle.loads(pickle.dumps(t))
    copy.update(np.arange(3), np.full(3, 2.0))
    assert (t.total, copy.total) == (3.0, 6.0)
    seen = []
    real = _backend.kernel

    def spy(family, name, b=None, size=0):
        seen.append(b)
        return real(family, name, b, size)

    before = fastpg.get_backend()
    try:
        _backend.kernel = spy
        t.update(np.arange(1), np.ones(1))
        assert seen == []  # kept
        fastpg.set_backend(before)  # a new stamp: looked up again
        t.update(np.arange(1), np.ones(1))
        assert seen == [t.backend]
    finally:
        _backend.kernel = real
        fastpg.set_backend(before)
