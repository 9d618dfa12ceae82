"""The replay part of the bad-input sweep (tests/sweep.py): each entry point of
the buffers and the sum tree with one valid call on a filled buffer, its
arguments' bad values, and the buffer's whole state as the snapshot that a
refused call must leave unchanged."""
from __future__ import annotations

import numpy as np

from .sweep import _COUNT, _UNIT, INF, KINDS, NAN, Case, _copy, _floats

_O = np.zeros(2, np.float32)
_OB = np.zeros((3, 2), np.float32)
_COLUMNS = ("obs", "action", "reward", "next_obs", "terminated", "truncated")


def _filled(fastpg, backend, per=False, **kw):
    cls = fastpg.PrioritizedReplayBuffer if per else fastpg.ReplayBuffer
    if per:
        kw.setdefault("alpha", 2.0)  # (p + eps)**alpha can overflow: item 2 of the issue
    buf = cls(8, (2,), backend=backend, **kw)
    rng = np.random.default_rng(1)
    o = rng.normal(size=(6, 2)).astype(np.float32)
    buf.extend(o[:-1], rng.integers(0, 3, 5), rng.normal(size=5), o[1:], [0, 0, 1, 0, 0])
    return buf


def _buffer_state(buf):
    if buf is None:
        return None
    if not hasattr(buf, "column"):  # a SumTree
        return {"total": buf.total, "priorities": np.array(buf.priorities)}
    state = {"total_added": buf.total_added, "len": len(buf)}
    for c in _COLUMNS:
        try:
            state[c] = np.array(buf.column(c))
        except Exception:  # noqa: BLE001 (a column this buffer does not store)
            pass
    if hasattr(buf, "update_priorities"):
        state["priorities"] = np.array(buf.get_priorities(np.arange(len(buf))))
    return state


def _tree(fastpg, backend):
    t = fastpg.SumTree(4, backend=backend)
    t.update([0, 1, 2], [1.0, 2.0, 3.0])
    return t


#: entry point -> (make the object (None: a constructor), method name,
#: valid arguments, {argument: kind or a list of bad values})
_NUM_BAD = [("-1", -1.0), ("nan", NAN), ("inf", INF), ("True", True), ("str", "0.6"),
            ("None", None)]
_OBS = _floats(True) + [("wrong shape", np.zeros(3, np.float32))]
_OBSB = _floats(True) + [("wrong shape", np.zeros((3, 3), np.float32)),
                         ("shorter", np.zeros((2, 2), np.float32))]
_SHAPE = [("(2.5,)", (2.5,)), ("(-1,)", (-1,)), ("str", "2"), ("None", None)]
_DTYPE = [("bogus", "bogus"), ("object", object), ("str", str)]
_ADD_FLAGS = [("nan", NAN), ("str", "yes"), ("array", np.zeros(3))]
_BATCH_FLAGS = [("nan", np.array([NAN, 0, 0])), ("str", np.full(3, "yes")),
                ("shorter", np.zeros(2, bool))]
_REWARD = [("str", "a"), ("complex", 1j), ("None", None), ("array", np.zeros(3))]
_ACTION = [("1.5", 1.5), ("True", True), ("str", "a"), ("None", None)]


def _buffer_entries(fastpg, backend):
    B = dict(backend=backend)
    ctor_bad = {"capacity": _COUNT, "obs_shape": _SHAPE, "obs_dtype": _DTYPE,
                "action_shape": _SHAPE[:3], "action_dtype": _DTYPE, "n_envs": _COUNT,
                "reward_dtype": _DTYPE, "store_next_obs": [("str", "no"), ("None", None)],
                "fields": [("list", ["logp"]), ("str", "logp")],
                "backend": KINDS["backend"](None)}
    add_bad = {"obs": _OBS, "action": _ACTION, "reward": _REWARD, "next_obs": _OBS,
               "terminated": _ADD_FLAGS, "truncated": _ADD_FLAGS}
    ext_bad = {"obs": _OBSB, "action": [("1.5", np.full(3, 1.5)), ("bool", np.ones(3, bool)),
                                        ("str", np.full(3, "a")), ("shorter", np.zeros(2, int))],
               "reward": [("str", np.full(3, "a")), ("complex", np.zeros(3) + 1j),
                          ("shorter", np.zeros(2))],
               "next_obs": _OBSB, "terminated": _BATCH_FLAGS, "truncated": _BATCH_FLAGS}
    add = dict(obs=_O, action=1, reward=0.5, next_obs=_O, terminated=False, truncated=False)
    ext = dict(obs=_OB, action=np.array([0, 1, 2]), reward=np.ones(3), next_obs=_OB,
               terminated=np.zeros(3, bool), truncated=np.zeros(3, bool))
    sample_bad = {"batch_size": [x for x in _COUNT if x[0] != "0"], "rng": KINDS["rng"](None),
                  "n_step": _COUNT, "gamma": _UNIT}
    idx_bad = [("-1", [-1]), ("10**6", [10**6]), ("1.5", [1.5]), ("str", ["a"]),
               ("bool", [True]), ("uint64 max", np.array([2**64 - 1], np.uint64))]
    per = lambda: _filled(fastpg, backend, per=True)  # noqa: E731
    plain = lambda: _filled(fastpg, backend)  # noqa: E731
    return {
        "ReplayBuffer()": (None, fastpg.ReplayBuffer, dict(capacity=8, obs_shape=(2,), **B),
                           ctor_bad),
        "PrioritizedReplayBuffer()": (None, fastpg.PrioritizedReplayBuffer,
                                      dict(capacity=8, obs_shape=(2,), **B),
                                      {"alpha": _NUM_BAD, "beta": _NUM_BAD, "eps": _NUM_BAD}),
        "ReplayBuffer.add": (plain, "add", add, add_bad),
        "ReplayBuffer.extend": (plain, "extend", ext, ext_bad),
        "ReplayBuffer.sample": (plain, "sample", dict(batch_size=4, rng=0, n_step=2, gamma=0.9),
                                sample_bad),
        "ReplayBuffer.get": (plain, "get", dict(indices=[0, 1], n_step=2, gamma=0.9),
                             {"indices": idx_bad, "n_step": _COUNT, "gamma": _UNIT}),
        "PrioritizedReplayBuffer.add": (per, "add", dict(add, priorities=1.0),
                                        {"priorities": _NUM_BAD[:3] + [("1e200", 1e200)]}),
        "PrioritizedReplayBuffer.sample": (per, "sample", dict(batch_size=4, rng=0, beta=0.5),
                                           {"beta": _NUM_BAD[:5]}),
        "PrioritizedReplayBuffer.update_priorities": (
            per, "update_priorities", dict(indices=[0, 1], priorities=[1.0, 2.0]),
            {"indices": idx_bad, "priorities": [("-1", [-1.0, 1.0]), ("nan", [NAN, 1.0]),
                                                ("inf", [INF, 1.0]), ("1e200", [1e200, 1.0]),
                                                ("str", ["a", "b"]), ("shorter", [1.0])]}),
        "PrioritizedReplayBuffer.weights": (per, "weights", dict(indices=[0, 1], beta=0.5),
                                            {"indices": idx_bad, "beta": _NUM_BAD[:5]}),
        "SumTree()": (None, fastpg.SumTree, dict(capacity=4, **B),
                      {"capacity": _COUNT, "backend": KINDS["backend"](None)}),
        "SumTree.update": (lambda: _tree(fastpg, backend), "update",
                           dict(indices=[0, 1], priorities=[1.0, 2.0]),
                           {"indices": idx_bad, "priorities": [("-1", [-1.0, 1.0]),
                                                               ("nan", [NAN, 1.0]),
                                                               ("inf", [INF, 1.0]),
                                                               ("str", ["a", "b"])]}),
        "SumTree.sample": (lambda: _tree(fastpg, backend), "sample",
                           dict(batch_size=4, rng=0),
                           {"batch_size": [x for x in _COUNT if x[0] != "0"],
                            "rng": KINDS["rng"](None)}),
        "SumTree.weights": (lambda: _tree(fastpg, backend), "weights",
                            dict(indices=[0, 1], beta=0.5),
                            {"indices": idx_bad, "beta": _NUM_BAD[:5]}),
        "SumTree.find_prefixsum": (lambda: _tree(fastpg, backend), "find_prefixsum",
                                   dict(mass=[0.5, 2.5]),
                                   {"mass": [("nan", [NAN]), ("-1", [-1.0]), ("str", ["a"]),
                                             ("inf", [INF])]}),
    }


def buffer_cases(fastpg, backend):
    for entry, (make, method, valid, bad) in _buffer_entries(fastpg, backend).items():
        for arg, values in bad.items():
            for label, value in values:
                yield _buffer_case(entry, make, method, valid, arg, label, value)


def _buffer_case(entry, make, method, valid, arg, label, value):
    def setup():
        kw = {k: _copy(v) for k, v in valid.items()}
        kw[arg] = value
        return {"self": make() if make else None, "kw": kw}

    def call(state):
        target = state["self"]
        fn = method if target is None else getattr(target, method)
        return fn(**state["kw"])

    def snapshot(state):
        return _buffer_state(state["self"]), {k: _copy(v) for k, v in state["kw"].items()}

    return Case("replay", entry, arg, label, (setup, call), snapshot)
