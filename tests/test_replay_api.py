"""Replay API that other libraries' users expect: priorities given with the
data (cpprb, TorchRL, Ape-X actors), empty batches, priorities and weights
read by transition index, the sum tree's prefix-sum query; vector adds, clear, repr."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastpg import PrioritizedReplayBuffer, ReplayBuffer, SumTree


def _fill(buf, n, rng, **kw):
    obs = rng.normal(size=(n, 2)).astype(np.float32)
    return buf.extend(obs, rng.integers(0, 3, n), rng.normal(size=n), obs + 1,
                      np.zeros(n, bool), **kw)


def test_add_and_extend_take_priorities(backend):
    rng = np.random.default_rng(0)
    buf = PrioritizedReplayBuffer(8, (2,), alpha=0.5, eps=0.0, backend=backend)
    o = np.zeros(2, np.float32)
    buf.add(o, 1, 1.0, o, False, priorities=4.0)
    first = _fill(buf, 3, rng, priorities=[1.0, 9.0, 0.0])
    _fill(buf, 2, rng)  # no priorities: the largest seen, 9
    np.testing.assert_allclose(buf.get_priorities(np.arange(6)), np.sqrt([4, 1, 9, 0, 9, 9]))
    assert first == 1 and buf.max_priority == 9.0
    # a zero priority (eps = 0) is never sampled
    assert 3 not in buf.sample(2000, 0).indices
    # n_envs: one priority per env, (T, n_envs) for extend
    vec = PrioritizedReplayBuffer(8, (2,), n_envs=2, alpha=1.0, eps=0.0, backend=backend)
    z = np.zeros((2, 2), np.float32)
    vec.add(z, [0, 1], [0.0, 0.0], z, [False, False], priorities=[2.0, 3.0])
    Z = np.zeros((2, 2, 2), np.float32)
    vec.extend(Z, np.zeros((2, 2), int), np.zeros((2, 2)), Z, np.zeros((2, 2), bool),
               priorities=[[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(vec.get_priorities(np.arange(6)), [2, 3, 5, 6, 7, 8])


def test_given_priorities_are_checked_before_anything_is_written(backend):
    buf = PrioritizedReplayBuffer(4, (2,), alpha=2.0, backend=backend)
    o = np.zeros(2, np.float32)
    for bad, match in [(-1.0, "finite and >= 0"), (np.nan, "finite and >= 0"),
                       (1e200, "is not finite"), ([1.0, 2.0], "shape")]:
        with pytest.raises(ValueError, match=match):
            buf.add(o, 0, 0.0, o, False, priorities=bad)
    assert len(buf) == 0 and buf.total_added == 0 and buf._tree.total == 0
    buf.add(o, 0, 0.0, o, False)
    with pytest.raises(ValueError, match="is not finite"):
        buf.update_priorities([0], [1e200])  # (1e200 + eps) ** 2 would make the total inf
    assert buf.get_priorities([0])[0] == 1.0


@pytest.mark.parametrize("prioritized", [False, True])
@pytest.mark.parametrize("gamma", [None, 0.9])
def test_sample_zero_gives_an_empty_batch(backend, prioritized, gamma):
    cls = PrioritizedReplayBuffer if prioritized else __import__("fastpg").ReplayBuffer
    buf = cls(10, (3,), np.uint8, fields={"logp": ((), np.float32)}, backend=backend)
    for b in (buf.sample(0, 0, gamma=gamma),  # an empty buffer too
              (_fill_u8(buf), buf.sample(0, 0, gamma=gamma))[1]):
        assert b.obs.shape == (0, 3) and b.obs.dtype == np.uint8
        assert b.next_obs.shape == (0, 3) and b.action.shape == (0,)
        assert b.logp.dtype == np.float32 and b.indices.dtype == np.int64
        assert ("weights" in b) == prioritized and ("discount" in b) == (gamma is not None)
        assert all(len(v) == 0 for v in b.values())
    with pytest.raises(ValueError, match="batch_size must be >= 0"):
        buf.sample(-1, 0)


def _fill_u8(buf):
    o = np.zeros((4, 3), np.uint8)
    buf.extend(o, np.zeros(4, int), np.zeros(4), o, np.zeros(4, bool), logp=np.zeros(4))


def test_priorities_and_weights_by_transition_index(backend):
    rng = np.random.default_rng(1)
    buf = PrioritizedReplayBuffer(5, (2,), alpha=1.0, beta=0.5, eps=0.0, backend=backend)
    _fill(buf, 12, rng, priorities=np.arange(1.0, 13.0))  # slots hold transitions 7..11
    np.testing.assert_array_equal(buf.get_priorities([7, 11, 9]), [8.0, 12.0, 10.0])
    # weights (p_min / p)^beta, the same as a sampled batch carries
    np.testing.assert_allclose(buf.weights([7, 11]), np.sqrt([1.0, 8.0 / 12.0]), rtol=1e-6)
    b = buf.sample(64, 3)
    np.testing.assert_allclose(buf.weights(b.indices), b.weights, rtol=1e-6)
    np.testing.assert_allclose(buf.weights(b.indices, beta=1.0), (8.0 / (b.indices + 1)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="indices\\[1\\] = 6 has been overwritten"):
        buf.get_priorities([7, 6])
    with pytest.raises(ValueError, match="out of range"):
        buf.weights([12])
    with pytest.raises(TypeError):
        buf.get_priorities([7.5])


@given(capacity=st.integers(1, 70), seed=st.integers(0, 2**32 - 1), zeros=st.booleans())
def test_find_prefixsum_is_the_sampling_query(backend, capacity, seed, zeros):
    """sample(B, rng) == find_prefixsum of the stratified masses (i + u_i) / B * total."""
    rng = np.random.default_rng(seed)
    t = SumTree(capacity, backend=backend)
    p = rng.random(capacity) * 10
    if zeros:
        p[rng.random(capacity) < 0.4] = 0.0
    if not p.any():
        p[-1] = 1.0
    t.update(np.arange(capacity), p)
    B = 33
    u = np.random.default_rng(seed + 1).random(B)
    masses = (np.arange(B) + u) / B * t.total
    np.testing.assert_array_equal(t.find_prefixsum(masses), t.sample(B, seed + 1))
    # the brute-force definition on masses away from the boundaries
    cum = np.cumsum(t.priorities)
    for m in rng.random(20) * t.total:
        if np.min(np.abs(cum - m)) > 1e-9 * t.total:
            assert t.find_prefixsum(m) == int(np.argmax(cum > m))
    last_positive = int(np.flatnonzero(t.priorities > 0)[-1])
    assert t.find_prefixsum(t.total) == last_positive


def test_find_prefixsum_bad_input():
    t = SumTree(4)
    with pytest.raises(ValueError, match="positive total"):
        t.find_prefixsum(0.0)
    t.update([0, 1], [1.0, 2.0])
    assert t.find_prefixsum([0.0, 0.999, 1.0, 2.5, 3.0]).tolist() == [0, 0, 1, 1, 1]
    for bad in (-0.1, 3.5, np.nan):
        with pytest.raises(ValueError, match="mass must lie in"):
            t.find_prefixsum([1.0, bad])
    with pytest.raises(TypeError):
        t.find_prefixsum("x")


@pytest.mark.parametrize("prioritized", [False, True])
def test_get_by_index_equals_the_sampled_batch(backend, prioritized):
    """get(indices) returns exactly what sample() returned for those indices."""
    import fastpg
    cls = fastpg.PrioritizedReplayBuffer if prioritized else fastpg.ReplayBuffer
    rng = np.random.default_rng(2)
    buf = cls(12, (2,), n_envs=2, store_next_obs=False, backend=backend)
    for _ in range(9):
        o = rng.normal(size=(2, 2)).astype(np.float32)
        buf.add(o, [0, 1], rng.normal(size=2), o + 1, rng.random(2) < 0.2)
    b = buf.sample(40, 5, n_step=3, gamma=0.9)
    g = buf.get(b.indices, n_step=3, gamma=0.9)
    assert set(g) == set(b)
    for k in b:
        np.testing.assert_array_equal(g[k], b[k], err_msg=k)
    # slots <-> indices
    np.testing.assert_array_equal(buf.indices_at(b.indices % 12), b.indices)
    with pytest.raises(ValueError, match="has been overwritten"):
        buf.get([0])
    with pytest.raises(ValueError, match="out of range"):
        buf.get([18])
    assert len(buf.get([]).obs) == 0


@pytest.mark.parametrize("store_next_obs", [True, False])
def test_pickle_round_trip(backend, store_next_obs):
    """What Stable-Baselines3's save_replay_buffer does; the record array's
    field views survive (they are rebuilt, not pickled as copies)."""
    import pickle
    rng = np.random.default_rng(3)
    buf = PrioritizedReplayBuffer(10, (2,), store_next_obs=store_next_obs, alpha=0.7,
                                  backend=backend)
    _fill(buf, 13, rng, priorities=rng.random(13))
    copy = pickle.loads(pickle.dumps(buf))
    assert (copy.alpha, len(copy), copy.total_added, copy.backend) == (0.7, 10, 13, backend)
    a, b = buf.sample(64, 9, n_step=3, gamma=0.9), copy.sample(64, 9, n_step=3, gamma=0.9)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    _fill(copy, 2, rng)  # the copy is a working buffer of its own
    assert copy.total_added == 15 and buf.total_added == 13


@pytest.mark.parametrize("gamma", [None, 0.9])
def test_views_equal_copies(backend, gamma):
    """views=True: the same values, as views into one gathered block (fields
    of zero width and n-step fields included)."""
    import fastpg
    rng = np.random.default_rng(4)
    buf = PrioritizedReplayBuffer(50, (3,), fields={"z": ((0,), np.float32),
                                                    "lp": ((), np.float64)}, backend=backend)
    o = rng.normal(size=(40, 3)).astype(np.float32)
    buf.extend(o, rng.integers(0, 5, 40), rng.normal(size=40), o + 1, rng.random(40) < 0.1,
               z=np.zeros((40, 0)), lp=rng.normal(size=40))
    kw = {} if gamma is None else {"n_step": 3, "gamma": gamma}
    a, b = buf.sample(32, 1, views=True, **kw), buf.sample(32, 1, **kw)
    assert set(a) == set(b)
    for k in a:
        assert a[k].shape == b[k].shape and a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert not a["obs"].flags.c_contiguous and a["obs"].base is not None
    g = buf.get(a["indices"], views=True, **kw)
    np.testing.assert_array_equal(g["obs"], b["obs"])
    assert isinstance(fastpg.ReplayBuffer(4, (2,)).sample(0, views=True), fastpg.Batch)


def test_column_is_a_read_only_view_of_the_storage():
    import fastpg
    buf = fastpg.ReplayBuffer(6, (2,), n_envs=2, store_next_obs=False)
    o = np.arange(4, dtype=np.float32).reshape(2, 2)
    buf.add(o, [1, 2], [0.5, 1.5], o + 1, [False, True])
    col = buf.column("obs")
    assert col.shape == (6, 2) and not col.flags.writeable
    np.testing.assert_array_equal(col[:2], o)
    np.testing.assert_array_equal(buf.column("reward")[:2], [0.5, 1.5])
    buf.add(o + 10, [0, 0], [0.0, 0.0], o, [False, False])
    np.testing.assert_array_equal(col[2:4], o + 10)  # a view: it follows the buffer
    with pytest.raises(ValueError, match="store_next_obs=False"):
        buf.column("next_obs")
    with pytest.raises(ValueError, match="no stored field 'nope'"):
        buf.column("nope")


def test_prioritized_tree_operations_follow_the_buffer_backend(monkeypatch):
    """The buffer drives its sum tree through the tree's own (unchecked)
    methods, with the buffer's backend, also when it is changed later."""
    from fastpg import PrioritizedReplayBuffer, _backend
    buf = PrioritizedReplayBuffer(16, (2,), backend="numpy")
    o = np.zeros((4, 2), np.float32)
    buf.extend(o, np.zeros(4, int), np.ones(4), o, np.zeros(4, bool))
    seen = []
    real = _backend.kernel

    def spy(family, name, backend=None, size=0):
        seen.append((name, backend))
        return real(family, name, backend, size)

    monkeypatch.setattr(_backend, "kernel", spy)
    buf.backend = "numba" if _backend.available("numba") else "numpy"
    b = buf.sample(4, 0)
    buf.update_priorities(b.indices, np.ones(4))
    tree_calls = {(n, be) for n, be in seen if n.startswith("tree") or n == "importance_weights"}
    assert tree_calls == {("tree_sample", buf.backend), ("importance_weights", buf.backend),
                          ("tree_update", buf.backend)}


def test_vector_add_defaults_truncated_to_false(backend):
    buf = ReplayBuffer(6, (2,), n_envs=3, backend=backend)
    o = np.zeros((3, 2), np.float32)
    buf.add(o, [0, 1, 2], [1.0, 2.0, 3.0], o, [False, True, False])
    b = buf._gather(np.arange(3), 1, None)
    np.testing.assert_array_equal(b.truncated, False)
    np.testing.assert_array_equal(b.terminated, [False, True, False])
    with pytest.raises(ValueError, match=r"terminated must have shape \(3,\)"):
        buf.add(o, [0, 1, 2], [1.0, 2.0, 3.0], o, False)


def test_clear_and_repr():
    buf = PrioritizedReplayBuffer(4, (2,))
    for _ in range(5):
        buf.add(np.zeros(2, np.float32), 0, 0.0, np.zeros(2, np.float32), False)
    assert "size=4" in repr(buf)
    buf.clear()
    assert len(buf) == 0 and buf.total_added == 0 and buf._tree.total == 0
    with pytest.raises(ValueError, match="empty"):
        buf.sample(1, 0)


@pytest.mark.parametrize("cls", [ReplayBuffer, PrioritizedReplayBuffer])
def test_extend_of_exact_arrays_equals_the_general_path(cls, backend):
    """extend's one-call path (exact dtypes, no wrap) stores what the general
    path stores from the same data given as lists: same records, same
    priorities, same samples; batches that wrap take the general path."""
    rng = np.random.default_rng(5)
    fast, slow = (cls(10, (3,), np.float32, backend=backend) for _ in range(2))
    for m in (4, 4, 5, 1):  # the third wraps
        obs = rng.standard_normal((m, 3)).astype(np.float32)
        nxt = rng.standard_normal((m, 3)).astype(np.float32)
        act = rng.integers(0, 4, m)
        rew = rng.standard_normal(m)  # float64 into the float32 field
        term, trunc = rng.random(m) < 0.3, rng.random(m) < 0.3
        i = fast.extend(obs, act, rew, nxt, term, trunc)
        j = slow.extend(obs.tolist(), act.tolist(), rew.tolist(), nxt.tolist(), term.tolist(),
                        trunc.tolist())
        assert i == j
    assert fast._rec.tobytes() == slow._rec.tobytes() and len(fast) == len(slow) == 10
    a = fast.sample(6, np.random.default_rng(1), n_step=2, gamma=0.9)
    b = slow.sample(6, np.random.default_rng(1), n_step=2, gamma=0.9)
    for k in b:
        np.testing.assert_array_equal(a[k], b[k])
    # a bad value in an exact array is refused by the general path, nothing written
    before = fast._rec.copy()
    with pytest.raises(ValueError, match="reward"):
        fast.extend(obs[:2], act[:2], np.array([1.0, np.nan]), nxt[:2], term[:2], trunc[:2])
    np.testing.assert_array_equal(fast._rec, before)


@pytest.mark.parametrize("cls", [ReplayBuffer, PrioritizedReplayBuffer])
def test_vector_add_of_exact_arrays_equals_the_general_path(cls, backend):
    """add with one row per env takes one C call for exact arrays; the records
    equal those written from the same values as lists, across a wrap."""
    rng = np.random.default_rng(6)
    E = 4
    fast, slow = (cls(8, (2,), np.uint8, n_envs=E, backend=backend) for _ in range(2))
    for step in range(5):
        obs = rng.integers(0, 255, (E, 2), dtype=np.uint8)
        nxt = rng.integers(0, 255, (E, 2), dtype=np.uint8)
        act = rng.integers(0, 3, E)
        rew = rng.standard_normal(E).astype(np.float32)
        term = rng.random(E) < 0.3
        trunc = None if step % 2 else rng.random(E) < 0.3
        i = fast.add(obs, act, rew, nxt, term, trunc)
        j = slow.add(obs.tolist(), act.tolist(), rew.tolist(), nxt.tolist(), term.tolist(),
                     None if trunc is None else trunc.tolist())
        assert i == j == step * E
    assert fast._rec.tobytes() == slow._rec.tobytes()
    a, b = (buf.sample(5, np.random.default_rng(2)) for buf in (fast, slow))
    for k in b:
        np.testing.assert_array_equal(a[k], b[k])
