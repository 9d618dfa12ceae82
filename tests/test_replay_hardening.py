"""Replay buffers never lose data on bad input: priorities that would put inf
in the sum tree, and archives that are damaged or crafted, are refused before
anything changes; saves clean up after killed saves and respect the umask;
every argument of the buffers is checked with a message that names it."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fastpg import PrioritizedReplayBuffer, ReplayBuffer


def _filled(cls=PrioritizedReplayBuffer, n=12, **kw):
    rng = np.random.default_rng(0)
    buf = cls(8, (2,), **kw)
    o = rng.normal(size=(n + 1, 2)).astype(np.float32)
    buf.extend(o[:-1], rng.integers(0, 3, n), rng.normal(size=n), o[1:], rng.random(n) < 0.2)
    return buf


def _snapshot(buf):
    b = buf.sample(32, 0, n_step=2, gamma=0.9)
    return buf.total_added, {k: v.copy() for k, v in b.items()}


def _same(a, b):
    assert a[0] == b[0]
    for k in a[1]:
        np.testing.assert_array_equal(a[1][k], b[1][k], err_msg=k)


@pytest.mark.parametrize("kw", [{"alpha": np.inf}, {"alpha": np.nan}, {"eps": np.inf},
                                {"eps": np.nan}, {"beta": np.nan}, {"alpha": True},
                                {"alpha": "1"}, {"alpha": -1.0}, {"beta": 1.5}])
def test_prioritized_parameters_are_checked_at_construction(kw):
    with pytest.raises((ValueError, TypeError), match=next(iter(kw))):
        PrioritizedReplayBuffer(8, (2,), **kw)


def test_a_finite_priority_that_would_overflow_the_tree_is_refused(backend):
    buf = _filled(alpha=2.0, backend=backend)
    before = _snapshot(buf)
    for call in (lambda: buf.update_priorities([5], [1e200]),
                 lambda: buf.add(np.zeros(2, np.float32), 0, 0.0, np.zeros(2, np.float32), False,
                                 priorities=1e200)):
        with pytest.raises(ValueError, match="not finite"):
            call()
    _same(before, _snapshot(buf))
    assert np.isfinite(buf._tree.total)
    buf.add(np.zeros(2, np.float32), 0, 0.0, np.zeros(2, np.float32), False)  # still usable


def _archive(path, **change):
    """A valid archive of a filled buffer, with entries replaced (None: removed)."""
    _filled(store_next_obs=False).save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in change.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _good(tmp_path):
    return np.load(_archive(tmp_path / "good.npz"))


BAD_ARCHIVES = {
    "no field_obs": lambda g: {"field_obs": None},
    "short field": lambda g: {"field_reward": g["field_reward"][:3]},
    "no tree_leaves": lambda g: {"tree_leaves": None},
    "NaN leaf": lambda g: {"tree_leaves": np.where(np.arange(8) == 2, np.nan,
                                                    g["tree_leaves"])},
    "negative leaf": lambda g: {"tree_leaves": -g["tree_leaves"]},
    "max_p NaN": lambda g: {"max_p": np.float64(np.nan)},
    "negative added": lambda g: {"added": np.int64(-3)},
    "added beyond the arrays": lambda g: {"added": np.int64(3)},
    "ref out of range": lambda g: {"ref": np.full(8, 10_000)},
    "float field as int": lambda g: {"field_action": g["field_action"].astype(np.float32)},
    "config not JSON": lambda g: {"config": np.array("{nope")},
    "unknown format": lambda g: {"config": np.array(json.dumps({"format": "x"}))},
    "no config": lambda g: {"config": None},
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archives_leave_the_buffer_untouched(tmp_path, case):
    good = _good(tmp_path)
    path = _archive(tmp_path / "bad.npz", **BAD_ARCHIVES[case](good))
    buf = _filled(store_next_obs=False)
    _filled(store_next_obs=False, n=3).save(tmp_path / "other.npz")
    buf.load(tmp_path / "other.npz")  # a valid load works into the same buffer
    before = _snapshot(buf)
    with pytest.raises(ValueError, match="bad.npz"):
        buf.load(path)
    _same(before, _snapshot(buf))
    with pytest.raises(ValueError, match="bad.npz"):
        PrioritizedReplayBuffer.load(path)


@pytest.mark.parametrize("damage", ["truncated", "bit flip", "npy", "random bytes", "empty"])
def test_damaged_files_are_one_value_error_naming_the_file(tmp_path, damage):
    path = _archive(tmp_path / "buf.npz")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "bit flip":
        flipped = bytearray(data)
        for i in range(100, len(flipped), 97):
            flipped[i] ^= 0xFF
        path.write_bytes(bytes(flipped))
    elif damage == "npy":
        buf = io.BytesIO()
        np.save(buf, np.arange(3))
        path.write_bytes(buf.getvalue())
    elif damage == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    else:
        path.write_bytes(b"")
    with pytest.raises(ValueError, match="buf.npz"):
        ReplayBuffer.load(path)
    with pytest.raises(FileNotFoundError):
        ReplayBuffer.load(tmp_path / "missing.npz")


def test_a_killed_saves_temporary_is_removed_by_the_next_save(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a pid now unused
    stale = tmp_path / f".fastpg-replay-{dead}-abc.tmp"
    stale.write_bytes(b"x" * 1000)
    alive = tmp_path / f".fastpg-replay-{os.getppid()}-abc.tmp"  # a running process's
    alive.write_bytes(b"x")
    _filled().save(tmp_path / "buf.npz")
    assert not stale.exists() and alive.exists()
    assert [p.name for p in tmp_path.glob(".fastpg-replay-*")] == [alive.name]


def test_archive_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        _filled().save(tmp_path / "buf.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "buf.npz").stat().st_mode & 0o777 == 0o640


def test_bad_input():
    with pytest.raises(ValueError, match="multiple of n_envs"):
        ReplayBuffer(10, (2,), n_envs=3)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, (2,))
    with pytest.raises(TypeError, match="obs_dtype"):
        ReplayBuffer(4, (2,), obs_dtype=np.complex64)
    buf = ReplayBuffer(4, (2,), obs_dtype=np.uint8)
    with pytest.raises(ValueError, match="empty buffer"):
        buf.sample(1, 0)
    o = np.zeros(2, np.uint8)
    with pytest.raises(ValueError, match=r"obs must have shape \(2,\)"):
        buf.add(np.zeros(3, np.uint8), 0, 0.0, o, False)
    with pytest.raises(TypeError, match="floating-point"):
        buf.add(np.zeros(2, np.float32), 0, 0.0, o, False)  # 0.7 would become 0
    with pytest.raises(TypeError, match="outside the range of uint8"):
        buf.add(np.array([0, 300]), 0, 0.0, o, False)
    with pytest.raises(ValueError, match="reward must be finite"):
        buf.add(o, 0, np.nan, o, False)
    with pytest.raises(TypeError, match="unknown field"):
        buf.add(o, 0, 0.0, o, False, logp=1.0)
    with pytest.raises(TypeError, match="action"):
        buf.add(o, 2**70, 0.0, o, False)
    small = ReplayBuffer(4, (2,), action_dtype=np.int8)
    with pytest.raises(TypeError, match="action has values outside the range of int8"):
        small.add(np.zeros(2, np.float32), 300, 0.0, np.zeros(2, np.float32), False)
    assert len(buf) == 0 and len(small) == 0  # nothing half-written
    buf.add([1, 2], 0, 0.0, o, False)  # lists of in-range ints are fine
    b = buf.sample(10, 0)  # more than stored: with replacement
    assert len(b.indices) == 10 and set(b.indices) == {0}
    for bad in (-1, 2.5):  # 0 gives an empty batch (test_replay_api)
        with pytest.raises((ValueError, TypeError), match="batch_size"):
            buf.sample(bad, 0)
    with pytest.raises(ValueError, match="needs gamma"):
        buf.sample(4, 0, n_step=3)
    with pytest.raises(ValueError, match="gamma"):
        buf.sample(4, 0, n_step=3, gamma=1.5)
    for kw in ({"alpha": -0.1}, {"beta": 1.5}, {"eps": -1.0}, {"beta": "x"}):
        with pytest.raises((ValueError, TypeError)):
            PrioritizedReplayBuffer(4, (2,), **kw)
    per = PrioritizedReplayBuffer(4, (2,))
    for _ in range(6):
        per.add(np.zeros(2, np.float32), 0, 0.0, np.zeros(2, np.float32), False)
    tree = per._tree.tree.copy()
    with pytest.raises(ValueError, match="out of range"):
        per.update_priorities([3, 6], [1.0, 1.0])  # 6 was never added
    with pytest.raises(ValueError, match="out of range"):
        per.update_priorities([-1], [1.0])
    for bad in (np.nan, np.inf, -1.0):
        with pytest.raises(ValueError, match="finite and >= 0"):
            per.update_priorities([3, 4], [1.0, bad])
    with pytest.raises(ValueError, match="shape of indices"):
        per.update_priorities([3, 4], [1.0])
    np.testing.assert_array_equal(per._tree.tree, tree)  # no partial update
    with pytest.raises(ValueError, match="beta"):
        per.sample(2, 0, beta=2.0)


def test_reward_check_in_batches():
    buf = ReplayBuffer(4, (1,))
    o = np.zeros((2, 1), np.float32)
    big = np.array([3e38, 3e38], np.float32)  # finite, but their float32 sum overflows
    buf.extend(o, [0, 0], big, o, [False, False])
    assert len(buf) == 2
    with pytest.raises(ValueError, match=r"reward must be finite; reward\[1\] = "):
        buf.extend(o, [0, 0], np.array([1.0, np.nan], np.float32), o, [False, False])
    assert len(buf) == 2
