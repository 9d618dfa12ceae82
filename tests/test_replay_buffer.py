"""ReplayBuffer / PrioritizedReplayBuffer: semantics against a brute-force
model, n-step, next_obs elision, priorities, save/load, threads."""
import os
import threading

import numpy as np
import pytest

from fastpg import PrioritizedReplayBuffer, ReplayBuffer, _backend


# --------------------------------------------------------- a brute-force model
def _stream(E, T, seed, obs_dim=3, p_term=0.1, p_trunc=0.1):
    """T steps of E envs: per step arrays (E, ...) with consistent obs/next_obs."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(E, obs_dim)).astype(np.float32)
    steps = []
    for _ in range(T):
        nxt = rng.normal(size=(E, obs_dim)).astype(np.float32)
        term = rng.random(E) < p_term
        trunc = rng.random(E) < p_trunc
        steps.append(dict(obs=obs.copy(), action=rng.integers(0, 5, E), reward=rng.normal(size=E),
                          next_obs=nxt, terminated=term, truncated=trunc))
        reset = rng.normal(size=(E, obs_dim)).astype(np.float32)
        obs = np.where((term | trunc)[:, None], reset, nxt)
    return steps


def _flat(steps):
    """Transition index -> transition (index = step * E + env)."""
    out = []
    for s in steps:
        for e in range(len(s["reward"])):
            out.append({k: v[e] for k, v in s.items()})
    return out


def _brute(trans, W, C, E, i, n, gamma):
    """n-step return of transition i, read from the model (nothing overwritten)."""
    assert W - C <= i < W
    G, g, m, j = 0.0, 1.0, 0, i
    while True:
        t = trans[j]
        G += g * float(np.float32(t["reward"]))
        g *= gamma
        m += 1
        if t["terminated"]:
            g = 0.0
            break
        if t["truncated"] or m == n or j + E >= W:
            break
        j += E
    return G, g, m, j


def _check_batch(batch, trans, W, C, E, n=1, gamma=None):
    for row, i in enumerate(batch.indices):
        t = trans[i]
        np.testing.assert_array_equal(batch.obs[row], t["obs"])
        assert batch.action[row] == t["action"]
        if gamma is None:
            assert batch.reward[row] == np.float32(t["reward"])
            np.testing.assert_array_equal(batch.next_obs[row], t["next_obs"])
            assert batch.terminated[row] == t["terminated"]
            assert batch.truncated[row] == t["truncated"]
        else:
            G, g, m, j = _brute(trans, W, C, E, i, n, gamma)
            assert batch.reward[row] == pytest.approx(G, rel=1e-6, abs=1e-6)
            assert batch.discount[row] == pytest.approx(g, rel=1e-6)
            assert batch.steps[row] == m
            np.testing.assert_array_equal(batch.next_obs[row], trans[j]["next_obs"])
            assert batch.terminated[row] == trans[j]["terminated"]
            assert batch.truncated[row] == trans[j]["truncated"]


@pytest.mark.parametrize("store_next_obs", [True, False], ids=["stored", "elided"])
@pytest.mark.parametrize("E,cap,T", [(1, 7, 30), (1, 64, 20), (2, 10, 23), (3, 9, 4)])
def test_samples_match_a_brute_force_model(backend, store_next_obs, E, cap, T):
    steps = _stream(E, T, seed=cap + T)
    trans = _flat(steps)
    buf = ReplayBuffer(cap, (3,), n_envs=E, store_next_obs=store_next_obs, backend=backend)
    for s in steps:
        s = s if E > 1 else {k: v[0] for k, v in s.items()}
        buf.add(**s)
    W = T * E
    assert len(buf) == min(W, cap) and buf.total_added == W
    for seed, (n, gamma) in enumerate([(1, None), (1, 0.9), (3, 0.9), (5, 1.0), (2, 0.0)]):
        b = buf.sample(200, seed, n_step=n, gamma=gamma)
        assert b.indices.min() >= W - min(W, cap) and b.indices.max() < W
        _check_batch(b, trans, W, cap, E, n, gamma)


@pytest.mark.parametrize("store_next_obs", [True, False], ids=["stored", "elided"])
def test_wide_records_are_gathered_field_by_field(backend, store_next_obs):
    from fastpg.replay._layout import _RECORD_GATHER_MAX

    steps = _stream(2, 12, seed=5, obs_dim=140)
    buf = ReplayBuffer(16, (140,), n_envs=2, store_next_obs=store_next_obs, backend=backend)
    assert buf._rec.shape[1] > _RECORD_GATHER_MAX
    for s in steps:
        buf.add(**s)
    for seed, (n, gamma) in enumerate([(1, None), (3, 0.9)]):
        _check_batch(buf.sample(40, seed, n_step=n, gamma=gamma), _flat(steps), 24, 16, 2, n,
                     gamma)


@pytest.mark.parametrize("store_next_obs", [True, False], ids=["stored", "elided"])
def test_extend_equals_repeated_add(backend, store_next_obs):
    steps = _stream(2, 15, seed=3)
    a = ReplayBuffer(8, (3,), n_envs=2, store_next_obs=store_next_obs, backend=backend)
    b = ReplayBuffer(8, (3,), n_envs=2, store_next_obs=store_next_obs, backend=backend)
    for s in steps:
        a.add(**s)
    stacked = {k: np.stack([s[k] for s in steps]) for k in steps[0]}
    b.extend(stacked["obs"][:4], stacked["action"][:4], stacked["reward"][:4],
             stacked["next_obs"][:4], stacked["terminated"][:4], stacked["truncated"][:4])
    b.extend(**{k: v[4:] for k, v in stacked.items()})  # 11 steps = 22 > capacity 8
    np.testing.assert_array_equal(a._rec, b._rec)
    ba, bb = a.sample(50, 1, n_step=3, gamma=0.9), b.sample(50, 1, n_step=3, gamma=0.9)
    for k in ba:
        np.testing.assert_array_equal(ba[k], bb[k])


def test_same_seed_same_batch_on_every_backend():
    steps = _flat(_stream(1, 300, seed=9))
    batches = []
    for be in [b for b in _backend.BACKENDS if _backend.available(b)]:
        for cls in (ReplayBuffer, PrioritizedReplayBuffer):
            buf = cls(100, (3,), backend=be)
            for t in steps:
                buf.add(**t)
            if cls is PrioritizedReplayBuffer:
                buf.update_priorities(np.arange(200, 300), np.linspace(0, 3, 100))
            batches.append((cls, buf.sample(64, 5, n_step=3, gamma=0.9)))
    for cls in (ReplayBuffer, PrioritizedReplayBuffer):
        same = [b for c, b in batches if c is cls]
        for b in same[1:]:
            for k in b:
                np.testing.assert_allclose(b[k], same[0][k], rtol=1e-6)


# ------------------------------------------------------------ hand-computed n-step
def test_nstep_hand_computed_termination_truncation_and_write_head(backend, dtype):
    buf = ReplayBuffer(10, (1,), reward_dtype=dtype, backend=backend)
    # rewards 1, 2, 4, 8, 16, 32; step 1 terminates, step 3 is truncated
    flags = [(False, False), (True, False), (False, False), (False, True), (False, False),
             (False, False)]
    for t, (te, tr) in enumerate(flags):
        buf.add(np.array([t], np.float32), 0, float(2 ** t), np.array([t + 0.5], np.float32),
                te, tr)
    b = buf._gather(np.arange(6), 3, 0.5)
    # 0: 1 + .5*2, terminated at 1 -> discount 0
    # 1: 2, terminated
    # 2: 4 + .5*8, truncated at 3 -> bootstrap next_obs of 3 with .25
    # 3: 8, truncated
    # 4: 16 + .5*32, then the write head -> .25, next_obs of 5
    # 5: 32 at the head -> .5
    assert b.reward.dtype == dtype and b.discount.dtype == dtype
    np.testing.assert_allclose(b.reward, [2, 2, 8, 8, 32, 32])
    np.testing.assert_allclose(b.discount, [0, 0, 0.25, 0.5, 0.25, 0.5])
    np.testing.assert_array_equal(b.steps, [2, 1, 2, 1, 2, 1])
    np.testing.assert_array_equal(b.next_obs[:, 0], [1.5, 1.5, 3.5, 3.5, 5.5, 5.5])
    np.testing.assert_array_equal(b.terminated, [1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(b.truncated, [0, 0, 1, 1, 0, 0])


def test_nstep_never_reads_overwritten_data(backend):
    # capacity 4: after 6 adds the slots hold steps 2..5; step 5 (the head) sits in
    # slot 1 and slot 2 holds step 2, the oldest. A walk from step 4 must stop at 5.
    buf = ReplayBuffer(4, (1,), backend=backend)
    for t in range(6):
        buf.add(np.array([t], np.float32), 0, 1.0, np.array([t + 1], np.float32), False)
    b = buf._gather(np.array([0, 1, 2]), 5, 1.0)  # slots of steps 4, 5, 2
    np.testing.assert_array_equal(b.indices, [4, 5, 2])
    np.testing.assert_array_equal(b.reward, [2, 1, 4])
    np.testing.assert_array_equal(b.next_obs[:, 0], [6, 6, 6])


# ------------------------------------------------------------ next_obs elision
def test_elision_keeps_every_next_obs_and_halves_memory(backend):
    steps = _flat(_stream(1, 200, seed=4, p_term=0.05, p_trunc=0.05))
    full = ReplayBuffer(50, (3,), backend=backend)
    lean = ReplayBuffer(50, (3,), store_next_obs=False, backend=backend)
    for t in steps:
        full.add(**t)
        lean.add(**t)
    slots = np.arange(50)
    for n, g in ((1, None), (4, 0.9)):
        a, b = full._gather(slots, n, g), lean._gather(slots, n, g)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    # no next_obs bytes per slot (records are padded to 8 bytes)
    assert "next_obs" not in lean._f and lean._rec.shape[1] <= full._rec.shape[1] - 12 + 7
    assert lean._side.shape[0] < 50  # only episode ends and the head


def test_elision_detects_a_break_in_the_stream(backend):
    buf = ReplayBuffer(8, (1,), store_next_obs=False, backend=backend)
    o = lambda v: np.array([v], np.float32)  # noqa: E731
    buf.add(o(0), 0, 1.0, o(1), False)
    buf.add(o(7), 0, 1.0, o(8), False)  # not the continuation of step 0 (next_obs 1)
    buf.add(o(8), 0, 1.0, o(9), False)
    b = buf._gather(np.arange(3), 3, 1.0)
    np.testing.assert_array_equal(b.next_obs[:, 0], [1, 9, 9])  # never obs 7 for step 0
    np.testing.assert_array_equal(b.reward, [1, 2, 1])  # n-step stops at the break
    b = buf._gather(np.arange(3), 1, None)
    np.testing.assert_array_equal(b.next_obs[:, 0], [1, 8, 9])


# ------------------------------------------------------------------- priorities
def test_prioritized_semantics(backend):
    buf = PrioritizedReplayBuffer(5, (1,), alpha=0.5, beta=1.0, eps=0.0, backend=backend)
    o = np.zeros(1, np.float32)
    for _ in range(5):
        buf.add(o, 0, 0.0, o, False)
    np.testing.assert_allclose(buf.priorities, 1.0)  # new items at max priority (1)
    assert buf.update_priorities([0, 1, 1, 2], [4.0, 9.0, 16.0, 0.0]) == 4  # last wins
    np.testing.assert_allclose(buf.priorities, [2, 4, 0, 1, 1])
    assert buf.max_priority == 16.0
    buf.add(o, 0, 0.0, o, False)  # index 5 -> slot 0, at max priority 16**0.5
    np.testing.assert_allclose(buf.priorities, [4, 4, 0, 1, 1])
    # index 0 was overwritten by index 5: its update is skipped, index 5's applied
    assert buf.update_priorities([0, 5], [100.0, 1.0]) == 1
    np.testing.assert_allclose(buf.priorities, [1, 4, 0, 1, 1])
    b = buf.sample(20_000, 0)
    assert 2 not in (b.indices % 5)  # priority 0 is never sampled
    # weights: (N P(i))^-beta / max_j (N P(j))^-beta, N = len(buf)
    P = buf.priorities / buf.priorities.sum()
    w = (5 * P[b.indices % 5]) ** -1.0
    wmax = ((5 * P[P > 0]) ** -1.0).max()
    np.testing.assert_allclose(b.weights, w / wmax, rtol=1e-6)
    counts = np.bincount(b.indices % 5, minlength=5) / 20_000
    np.testing.assert_allclose(counts, P, atol=0.02)


def test_priority_and_index_checks_at_their_edges(backend):
    # the one-pass checks (priorities and live indices as unsigned integers)
    # against the exact rules: -0.0 is a valid priority, the smallest negative
    # is not; an index below the live window or at total_added is refused
    buf = PrioritizedReplayBuffer(4, (1,), alpha=1.0, eps=0.0, backend=backend)
    o = np.zeros(1, np.float32)
    for _ in range(6):  # indices 2..5 live, in slots 2, 3, 0, 1
        buf.add(o, 0, 0.0, o, False)
    assert buf.update_priorities(np.array([2, 3, 4, 5]), np.array([-0.0, 0.0, 1.5, 2.0])) == 4
    np.testing.assert_array_equal(buf.priorities, [1.5, 2.0, 0.0, 0.0])
    assert buf.max_priority == 2.0
    for bad in (-5e-324, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="finite and >= 0"):
            buf.update_priorities(np.array([4, 5]), np.array([1.0, bad]))
    np.testing.assert_array_equal(buf.priorities, [1.5, 2.0, 0.0, 0.0])  # nothing written
    assert buf.update_priorities(np.array([1, 5]), np.array([7.0, 3.0])) == 1  # 1 overwritten
    for bad in (6, -1, 2**62):
        with pytest.raises((ValueError, IndexError)):
            buf.update_priorities(np.array([5, bad]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(buf.priorities, [1.5, 3.0, 0.0, 0.0])


def test_prioritized_newest_item_is_sampled(backend):
    buf = PrioritizedReplayBuffer(500, (1,), backend=backend)
    o = np.zeros(1, np.float32)
    for _ in range(499):
        buf.add(o, 0, 0.0, o, False)
    buf.update_priorities(np.arange(499), np.full(499, 1e-3))
    buf.add(o, 0, 0.0, o, False)  # at the max priority seen (1.0 initially)
    assert 499 in buf.sample(64, 0).indices


# ---------------------------------------------------------------- save / load
@pytest.mark.parametrize("cls", [ReplayBuffer, PrioritizedReplayBuffer])
@pytest.mark.parametrize("store_next_obs", [True, False], ids=["stored", "elided"])
def test_save_load_round_trip(tmp_path, backend, cls, store_next_obs):
    buf = cls(12, (3,), n_envs=2, store_next_obs=store_next_obs,
              fields={"logp": ((), np.float64)}, backend=backend)
    for s in _stream(2, 9, seed=1):
        buf.add(**s, logp=np.array([0.5, -0.5]))
    if cls is PrioritizedReplayBuffer:
        buf.update_priorities(np.arange(6, 18), np.arange(12.0))
    path = tmp_path / "buf.npz"
    buf.save(path)
    back = cls.load(path, backend=backend)
    assert type(back) is cls and len(back) == len(buf) and back.total_added == buf.total_added
    a, b = buf.sample(40, 3, n_step=3, gamma=0.9), back.sample(40, 3, n_step=3, gamma=0.9)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    if cls is PrioritizedReplayBuffer:
        np.testing.assert_array_equal(buf._tree.tree, back._tree.tree)
        assert back.max_priority == buf.max_priority
    # loading into an instance replaces its contents; adding goes on identically
    other = cls(12, (3,), n_envs=2, store_next_obs=store_next_obs,
                fields={"logp": ((), np.float64)}, backend=backend)
    other.load(path)
    for x in (buf, other):
        x.add(**_stream(2, 1, seed=7)[0], logp=np.zeros(2))
    np.testing.assert_array_equal(buf._rec, other._rec)


def test_load_checks_the_file_and_the_configuration(tmp_path):
    buf = ReplayBuffer(4, (2,))
    buf.save(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="another configuration"):
        ReplayBuffer(8, (2,)).load(tmp_path / "a.npz")
    with pytest.raises(TypeError, match="holds a ReplayBuffer"):
        PrioritizedReplayBuffer.load(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not a fastpg replay buffer"):
        ReplayBuffer.load(tmp_path / "b.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    buf = ReplayBuffer(4, (2,))
    buf.add(np.ones(2, np.float32), 1, 1.0, np.ones(2, np.float32), False)
    path = tmp_path / "buf.npz"
    buf.save(path)
    before = path.read_bytes()
    buf.add(np.ones(2, np.float32), 2, 2.0, np.ones(2, np.float32), False)

    def crash(f, **arrays):
        f.write(b"half an archive")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        buf.save(path)
    assert path.read_bytes() == before  # the old file intact
    assert os.listdir(tmp_path) == ["buf.npz"]  # no temporary left behind
    monkeypatch.undo()
    assert len(ReplayBuffer.load(path)) == 1


# ------------------------------------------------------------------- threads
def test_one_thread_adds_while_another_samples_and_updates(backend):
    """Every transition is self-consistent (obs = [i, i], action i, reward i,
    next_obs = obs + 1): a torn row would mix two of them."""
    buf = PrioritizedReplayBuffer(256, (2,), obs_dtype=np.float64, backend=backend)
    N = 20_000
    errors = []
    reads = []

    def writer():
        try:
            for start in range(0, N, 16):
                i = np.arange(start, start + 16, dtype=np.float64)
                obs = np.repeat(i[:, None], 2, axis=1)
                if start % 32:
                    buf.extend(obs, i.astype(np.int64), i, obs + 1, np.zeros(16, bool))
                else:
                    for k in range(16):
                        buf.add(obs[k], int(i[k]), float(i[k]), obs[k] + 1, False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        rng = np.random.default_rng(0)
        try:
            while t.is_alive():
                if not len(buf):
                    continue
                b = buf.sample(64, rng, n_step=2, gamma=1.0)
                i = b.action.astype(np.float64)
                assert (b.obs == i[:, None]).all() and (b.indices == b.action).all()
                assert ((b.reward == i) | (b.reward == 2 * i + 1)).all()
                buf.update_priorities(b.indices, rng.random(64))
                reads.append(buf.total_added)
        except Exception as exc:
            errors.append(exc)

    t = threading.Thread(target=writer)
    r = threading.Thread(target=reader)
    t.start()
    r.start()
    t.join()
    r.join()
    assert not errors, errors
    assert buf.total_added == N and len(buf) == 256
    assert len(set(reads)) > 5  # the reader ran while the writer was adding
