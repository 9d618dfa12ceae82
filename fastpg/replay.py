"""Replay storage: ring buffers with uniform and prioritized sampling.

* :class:`ReplayBuffer`: a ring of ``capacity`` transitions (obs, action,
  reward, next_obs, terminated, truncated, plus extra named fields) written
  by one or ``n_envs`` parallel environments; uniform sampling with
  replacement; n-step returns computed at sample time.
* :class:`PrioritizedReplayBuffer`: proportional prioritized replay (Schaul et
  al., 2016) over a :class:`SumTree`.
* :class:`SumTree`: the float64 sum tree and min tree underneath.

The classes orchestrate the registry kernels of the ``replay`` family
(``ring_write``, ``gather_rows``, ``uniform_sample``, ``nstep_gather``,
``tree_update``, ``tree_sample``, ``importance_weights``; exact semantics in
:mod:`fastpg.reference.replay`), so every backend returns the same samples
for the same seed.

Slots and indices. With ``n_envs`` = E the ring has ``capacity / E`` rows of E
slots; a step of the vector env fills one row, env e in slot ``row * E + e``,
so the next step of the same env is ``E`` slots later (mod capacity). Every
transition gets an *index* when it is added: 0, 1, 2, ... in order of
writing (row-major, env fastest); it lives in slot ``index % capacity``
until ``capacity`` more transitions have been added. Sampled batches carry
these indices, and ``update_priorities`` ignores an index whose transition
has been overwritten since it was sampled.

Episode flags follow gymnasium. ``terminated``: the MDP ended, ``next_obs``
is terminal and is never bootstrapped from. ``truncated``: the episode was
cut (time limit); ``next_obs`` is the final observation and *is*
bootstrapped from. The transitions of each env must be added in order; the
next transition's ``obs`` is normally the previous ``next_obs``. With
gymnasium's vector envs in the default ``NEXT_STEP`` autoreset mode, the step
after an episode end is a reset step whose action is ignored: do not add it.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import zipfile
from typing import NamedTuple

import numpy as np

from . import _backend
from . import _checks as C
from .reference.replay import tree_positions

__all__ = ["Batch", "ReplayBuffer", "PrioritizedReplayBuffer", "SumTree"]

_FORMAT = "fastpg.replay/1"
_FLAG_TYPES = (bool, np.bool_, int)
#: records up to this many bytes are gathered whole, then split per field (one
#: cache miss per transition); wider ones (image observations) are gathered
#: field by field so that each byte is copied once
_RECORD_GATHER_MAX = 512


class Batch(dict):
    """A sampled batch: a dict of NumPy arrays, also readable as attributes.

    Always: ``obs, action, reward, next_obs, terminated, truncated, indices``
    and the buffer's extra fields. With ``gamma`` (n-step sampling): also
    ``discount`` (γ^m, 0 after a termination) and ``steps`` (m). From a
    prioritized buffer: also ``weights``.
    """

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return list(self.keys()) + dir(dict)


def _cast_error(name, src, dst, arr):
    """None when ``arr`` (dtype src) can be stored as dst without changing a value."""
    if src.kind not in "biuf":
        return f"{name} must hold real numbers of dtype {dst}; got dtype {src}"
    if dst.kind == "b":  # flags: nonzero means true; NaN means nothing
        if src.kind == "f" and arr.size and np.isnan(arr).any():
            return f"{name} contains NaN (a flag must be a bool or a number, nonzero = true)"
        return None
    if src.kind == "b":
        return (f"{name} must hold numbers of dtype {dst}; got bool (convert it explicitly if "
                "that is intended)")
    if dst.kind in "iu":
        if src.kind == "f":
            return (f"{name} must be stored as {dst}; got floating-point dtype {src} "
                    f"(convert it explicitly if rounding is intended)")
        if src.kind in "iu" and not np.can_cast(src, dst) and arr.size:
            info = np.iinfo(dst)
            if arr.min() < info.min or arr.max() > info.max:
                return f"{name} has values outside the range of {dst} [{info.min}, {info.max}]"
    return None


class _Field:
    """One field of the record array: a strided view of its bytes and of its values."""

    __slots__ = ("name", "shape", "dtype", "offset", "width", "rows", "data")

    def __init__(self, name, shape, dtype, rec, offset):
        capacity = rec.shape[0]
        self.name, self.shape, self.dtype, self.offset = name, shape, dtype, offset
        self.width = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        self.rows = rec[:, offset:offset + self.width]  # (C, width) uint8, strided
        if self.width:
            data = self.rows.view(dtype)
            data.shape = (capacity,) + shape  # a view (raises rather than copy)
        else:
            data = np.zeros((capacity,) + shape, dtype)
        self.data = data

    def take(self, rec):
        """This field of gathered records ``rec`` (B, record bytes), contiguous."""
        B = rec.shape[0]
        if not self.width:
            return np.zeros((B,) + self.shape, self.dtype)
        # typed view first: numpy then copies items, not single bytes (3.6 -> ~1 us)
        out = np.array(rec[:, self.offset:self.offset + self.width].view(self.dtype))
        out.shape = (B,) + self.shape
        return out


class _hybridmethod:
    """``Cls.load(path)`` builds a buffer; ``buf.load(path)`` loads into ``buf``."""

    def __init__(self, func):
        self.func = func

    def __get__(self, obj, cls):
        def bound(*args, **kwargs):
            return self.func(cls, obj, *args, **kwargs)
        bound.__doc__ = self.func.__doc__
        return bound


class _FastAdd(NamedTuple):
    """What add() needs for one transition without conversion: the field
    arrays, the cut flags, and the dtypes/shape an input must already have."""
    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    cut: np.ndarray
    obs_dtype: np.dtype
    obs_shape: tuple
    action_dtype: np.dtype


#: class name -> class, for load(): ReplayBuffer and every subclass
_ARCHIVE_CLASSES: dict = {}


class ReplayBuffer:
    """A ring buffer of transitions with uniform sampling and n-step returns.

    Parameters
    ----------
    capacity : int
        Number of transitions kept; the oldest are overwritten first. With
        ``n_envs`` > 1 it must be a multiple of ``n_envs``.
    obs_shape, obs_dtype : observation shape and dtype (default float32).
    action_shape, action_dtype : action shape (default ``()``) and dtype
        (default int64; a float dtype for continuous actions).
    n_envs : int
        Environments stepped together; ``add`` then takes arrays with a
        leading axis of ``n_envs``.
    reward_dtype : float dtype of stored rewards (default float32). n-step
        sums are accumulated in float64 and returned in this dtype.
    store_next_obs : bool
        True (default): ``next_obs`` is stored per transition. False: it is
        read from the slot of the env's next transition, halving observation
        memory; the next observations that cannot be read there (after a
        termination or truncation, at the write head, or where the next
        added ``obs`` differs from this ``next_obs``) are kept in a side
        store, so a sampled ``next_obs`` is always the one that was added.
    fields : dict, optional
        Extra per-transition fields, ``{name: (shape, dtype)}``, e.g.
        ``{"log_prob": ((), np.float32)}``; ``add``/``extend`` then require
        them as keywords and batches contain them.
    backend : str, optional
        Kernel backend ('auto', 'numpy', 'numba', 'cython'); default: the
        backend in force at each call.

    Input checks: arrays must have the declared shapes; values are stored in
    the declared dtypes when that changes no value (float64 observations into
    float32 storage are rounded as usual; floats into integer storage, or
    integers out of the storage range, are errors). Rewards must be finite.

    Thread safety: every public method holds the buffer's lock, so one
    thread may add while others sample and update priorities; the kernels
    release the GIL.
    """

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        # load() rebuilds the saved class by name (the first class of a name keeps it)
        _ARCHIVE_CLASSES.setdefault(cls.__name__, cls)

    _CORE = ("obs", "action", "reward", "next_obs", "terminated", "truncated")

    def __init__(self, capacity, obs_shape, obs_dtype=np.float32, action_shape=(),
                 action_dtype=np.int64, n_envs=1, *, reward_dtype=np.float32,
                 store_next_obs=True, fields=None, backend=None):
        capacity = C.positive_int(capacity, "capacity")
        n_envs = C.positive_int(n_envs, "n_envs")
        if capacity % n_envs:
            raise ValueError(f"capacity ({capacity}) must be a multiple of n_envs ({n_envs}): "
                             "each step of the vector env fills one row of n_envs slots")
        backend = C.backend(backend)
        if not isinstance(store_next_obs, (bool, np.bool_)):
            raise TypeError(f"store_next_obs must be True or False; got {store_next_obs!r}")
        if fields is not None and not isinstance(fields, dict):
            raise TypeError("fields must be a dict {name: (shape, dtype)}; "
                            f"got {type(fields).__name__}")
        self._capacity = capacity
        self._n_envs = n_envs
        self._store_next_obs = bool(store_next_obs)
        self.backend = backend
        reward_dtype = C.numeric_dtype(reward_dtype, "reward_dtype")
        if reward_dtype.kind != "f":
            raise TypeError(f"reward_dtype must be float32 or float64; got {reward_dtype}")
        spec = {"obs": (C.shape_tuple(obs_shape, "obs_shape"),
                        C.numeric_dtype(obs_dtype, "obs_dtype")),
                "action": (C.shape_tuple(action_shape, "action_shape"),
                           C.numeric_dtype(action_dtype, "action_dtype")),
                "reward": ((), reward_dtype)}
        if self._store_next_obs:
            spec["next_obs"] = spec["obs"]
        spec["terminated"] = ((), np.dtype(bool))
        spec["truncated"] = ((), np.dtype(bool))
        for name, value in (fields or {}).items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"fields: a field name must be an identifier; got {name!r}")
            if name in self._CORE or name in ("indices", "weights", "discount", "steps"):
                raise ValueError(f"fields: {name!r} is a built-in field name")
            try:
                fshape, fdtype = value
            except (TypeError, ValueError):
                raise TypeError(f"fields[{name!r}] must be (shape, dtype); got {value!r}") from None
            spec[name] = (C.shape_tuple(fshape, f"fields[{name!r}] shape"),
                          C.numeric_dtype(fdtype, f"fields[{name!r}] dtype"))
        self._spec = spec
        self._extra = tuple(k for k in spec if k not in self._CORE)
        self._lock = threading.RLock()
        self._allocate()

    # ------------------------------------------------------------------ state
    def _allocate(self):
        """One record (row of bytes) per slot holding every field.

        Array-of-structs: a sampled transition is one or two cache lines,
        not one miss per field (measured on 1M slots, obs 4 float32: one
        gather of 256 records 4.5 us, six per-field gathers 17.5 us). Fields
        are placed largest item size first, so each is aligned.
        """
        Cap = self._capacity
        # _cut: 1 where the env's next slot does not continue this transition
        # (truncated, or a break in the added stream): n-step stops there
        spec = dict(self._spec, _cut=((), np.dtype(np.uint8)))
        order = sorted(spec, key=lambda k: -spec[k][1].itemsize)
        offsets, off = {}, 0
        for k in order:
            offsets[k] = off
            off += spec[k][1].itemsize * int(np.prod(spec[k][0], dtype=np.int64))
        self._rec = np.zeros((Cap, max(8, -(-off // 8) * 8)), np.uint8)
        self._f = {k: _Field(k, spec[k][0], spec[k][1], self._rec, offsets[k]) for k in spec}
        # the record as a structured dtype: a block of gathered records is then
        # split into per-field views by one field access each
        named = [k for k in spec if k != "_cut" and self._f[k].width]
        self._rec_dtype = np.dtype({"names": named, "offsets": [offsets[k] for k in named],
                                    "formats": [(spec[k][1], spec[k][0]) for k in named],
                                    "itemsize": self._rec.shape[1]})
        self._cut = self._f["_cut"].data
        f = self._f
        self._fast = None if not self._store_next_obs or self._extra else _FastAdd(
            f["obs"].data, f["action"].data, f["reward"].data, f["next_obs"].data,
            f["terminated"].data, f["truncated"].data, self._cut, self._spec["obs"][1],
            self._spec["obs"][0], self._spec["action"][1])
        self._added = 0  # transitions ever added (the next index)
        if not self._store_next_obs:
            shape, dtype = self._spec["obs"]
            self._ref = np.full(Cap, -1, np.int64)  # side-store row of next_obs, or -1
            self._side = np.zeros((max(16, 2 * self._n_envs),) + shape, dtype)
            self._free = list(range(self._side.shape[0] - 1, -1, -1))

    def __len__(self):
        return min(self._added, self._capacity)

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def n_envs(self) -> int:
        return self._n_envs

    @property
    def full(self) -> bool:
        return self._added >= self._capacity

    @property
    def total_added(self) -> int:
        """Transitions added since creation or ``clear()`` (the next index)."""
        return self._added

    @property
    def fields(self) -> dict:
        """``{name: (shape, dtype)}`` of every stored field (next_obs included)."""
        spec = dict(self._spec)
        spec.setdefault("next_obs", spec["obs"])
        return spec

    def column(self, name) -> np.ndarray:
        """Field ``name`` of every slot: a read-only ``(capacity, *shape)`` view
        of the storage in ring order (slot s holds env ``s % n_envs`` of row
        ``s // n_envs``; slots from ``len(self)`` on hold nothing yet).
        ``next_obs`` only when it is stored (``store_next_obs=True``)."""
        if name not in self._spec:
            why = (" (store_next_obs=False: batches from sample/get carry it)"
                   if name == "next_obs" else "")
            raise ValueError(f"no stored field {name!r}{why}; stored: {list(self._spec)}")
        view = self._f[name].data.view()
        view.flags.writeable = False
        return view

    def __repr__(self):
        return (f"{type(self).__name__}(capacity={self._capacity}, size={len(self)}, "
                f"n_envs={self._n_envs}, obs={self._spec['obs'][0]} {self._spec['obs'][1]}, "
                f"store_next_obs={self._store_next_obs})")

    def clear(self):
        """Forget every transition (indices restart at 0); memory is kept."""
        with self._lock:
            self._added = 0
            self._cut[:] = 0
            if not self._store_next_obs:
                self._ref[:] = -1
                self._free = list(range(self._side.shape[0] - 1, -1, -1))

    def _k(self, name):
        return _backend.kernel("replay", name, self.backend)

    # ------------------------------------------------------------------ input
    def _column(self, name, value, lead, what):
        shape, dtype = self._spec[name] if name != "next_obs" else self._spec["obs"]
        if type(value) is np.ndarray and value.dtype == dtype and value.shape == lead + shape:
            return value
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise TypeError(f"{name} must be array-like: {exc}") from None
        want = lead + shape
        if arr.shape != want:
            raise ValueError(f"{name} must have shape {want} ({what}); got {arr.shape}")
        if arr.dtype != dtype:
            err = _cast_error(name, arr.dtype, dtype, arr)
            if err:
                raise TypeError(err)
            arr = (arr != 0) if dtype.kind == "b" else arr.astype(dtype)
        return arr

    def _columns(self, obs, action, reward, next_obs, terminated, truncated, extra, lead, what):
        unknown = set(extra) - set(self._extra) if (extra or self._extra) else ()
        if unknown:
            raise TypeError(f"unknown field(s) {sorted(unknown)}; this buffer has extra fields "
                            f"{list(self._extra)}")
        missing = [k for k in self._extra if k not in extra] if self._extra else ()
        if missing:
            raise TypeError(f"missing field(s) {missing}: declared at construction")
        cols = {"obs": self._column("obs", obs, lead, what),
                "action": self._column("action", action, lead, what),
                "reward": self._column("reward", reward, lead, what),
                "next_obs": self._column("next_obs", next_obs, lead, what),
                "terminated": self._column("terminated", terminated, lead, what),
                "truncated": self._column("truncated", truncated, lead, what)}
        for k in self._extra:
            cols[k] = self._column(k, extra[k], lead, what)
        C.all_finite(cols["reward"], "reward")
        return cols

    # ------------------------------------------------------------------ write
    def add(self, obs, action, reward, next_obs, terminated, truncated=None, **fields):
        """Add one step: one transition, or one per env (leading axis n_envs).

        ``terminated`` / ``truncated`` follow gymnasium (see the module doc;
        ``truncated`` defaults to False for every env);
        extra fields declared at construction are passed as keywords.
        Returns the index of the (first) transition added.
        """
        return self._add(obs, action, reward, next_obs, terminated, truncated, fields)

    def _add(self, obs, action, reward, next_obs, terminated, truncated, fields, prio=None):
        E = self._n_envs
        if truncated is None:
            truncated = False if E == 1 else np.zeros(E, bool)
        if E == 1 and not fields and prio is None and self._fast is not None and \
                self._add_one(obs, action, reward, next_obs, terminated, truncated):
            return self._added - 1
        lead, what = ((), "one transition") if E == 1 else ((E,), f"one row per env, n_envs={E}")
        cols = self._columns(obs, action, reward, next_obs, terminated, truncated, fields,
                             lead, what)
        if E == 1:
            cols = {k: v.reshape((1,) + v.shape) for k, v in cols.items()}
        prio = None if prio is None else prio(lead)
        with self._lock:
            return self._write(cols, E, prio)

    def extend(self, obs, action, reward, next_obs, terminated, truncated=None, **fields):
        """Add T steps at once: arrays of shape (T, *field shape), or (T, n_envs, ...).

        Equivalent to T calls of ``add`` in order (T may exceed the capacity:
        the last ``capacity`` transitions are kept). ``truncated`` defaults to
        all False. Returns the index of the first transition added.
        """
        return self._extend(obs, action, reward, next_obs, terminated, truncated, fields)

    def _extend(self, obs, action, reward, next_obs, terminated, truncated, fields, prio=None):
        E = self._n_envs
        T = C.common_length({"obs": obs, "action": action, "reward": reward,
                             "next_obs": next_obs, "terminated": terminated,
                             "truncated": truncated}, "reward")
        if T is None or np.ndim(reward) == 0:
            raise ValueError("extend: reward must have a leading time axis (T,) or (T, n_envs); "
                             f"got shape {np.shape(reward)} (use add() for one step)")
        lead = (T,) if E == 1 else (T, E)
        what = "(T, ...)" if E == 1 else f"(T, n_envs={E}, ...)"
        if truncated is None:
            truncated = np.zeros(lead, bool)
        cols = self._columns(obs, action, reward, next_obs, terminated, truncated, fields,
                             lead, what)
        if E > 1:
            cols = {k: v.reshape((T * E,) + v.shape[2:]) for k, v in cols.items()}
        prio = None if prio is None else prio(lead)
        with self._lock:
            return self._write(cols, T * E, prio)

    def _add_one(self, obs, action, reward, next_obs, terminated, truncated):
        """One transition with cheap exact checks; False: take the general path.

        Accepts what needs no conversion that could change a value: obs and
        next_obs arrays of the exact dtype and shape, a Python float/int
        reward (checked finite), a Python int or exact-dtype action, and
        Python/NumPy bool or int flags.
        """
        od, ad, rd, nd, td, trd, cut, odt, oshape, adt = self._fast  # a _FastAdd
        if not (type(obs) is np.ndarray and obs.dtype == odt and obs.shape == oshape
                and type(next_obs) is np.ndarray and next_obs.dtype == odt
                and next_obs.shape == oshape):
            return False
        ta = type(action)
        if not ((ta is int and adt.kind in "iu" and ad.ndim == 1)
                or (ta is np.ndarray and action.dtype == adt and action.shape == ad.shape[1:])):
            return False
        if not (type(reward) in (float, int) and reward - reward == 0):  # finite
            return False
        if type(terminated) not in _FLAG_TYPES or type(truncated) not in _FLAG_TYPES:
            return False
        with self._lock:
            x = self._added % self._capacity
            try:
                ad[x] = action  # first: an out-of-range int fails before any write
            except OverflowError:
                return False  # the general path says which argument and why
            od[x] = obs
            rd[x] = reward
            nd[x] = next_obs
            td[x] = terminated
            trd[x] = truncated
            cut[x] = truncated != 0
            self._after_write(x, 1, 0, None)
            self._added += 1
        return True

    def _write(self, cols, m, prio=None):
        """Write m validated rows (time-major, env fastest) at the write head;
        ``prio``: the rows' tree values (prioritized buffers), or None."""
        first_index = self._added
        if m == 0:
            return first_index
        Cap = self._capacity
        start = self._added % Cap
        keep = max(0, m - Cap)  # rows before this are overwritten within the call
        cut = cols["truncated"].view(np.uint8).copy()
        if not self._store_next_obs:
            self._elide(cols, m, keep, cut)
        cols["_cut"] = cut
        if start + m <= Cap:  # no wrap: plain slice assignment is cheaper than a call
            for name, fld in self._f.items():
                fld.data[start:start + m] = cols[name]
        else:
            ring_write = self._k("ring_write")
            for name, fld in self._f.items():
                if fld.width:
                    src = np.ascontiguousarray(cols[name]).reshape(m, -1).view(np.uint8)
                    ring_write(fld.rows, src, start)
        self._after_write(start, m, keep, prio)
        self._added += m
        return first_index

    def _after_write(self, start, m, keep, prio=None):
        pass

    def _elide(self, cols, m, keep, cut):
        """next_obs not stored: keep in the side store those the next slot cannot give."""
        Cap, E = self._capacity, self._n_envs
        W = self._added
        obs = np.ascontiguousarray(cols["obs"]).reshape(m, -1).view(np.uint8)
        nxt = np.ascontiguousarray(cols["next_obs"]).reshape(m, -1).view(np.uint8)
        done = cols["terminated"] | cols["truncated"]
        slots = (W + np.arange(keep, m)) % Cap
        # slots about to be overwritten give their side-store rows back
        old = self._ref[slots]
        self._free.extend(old[old >= 0].tolist())
        self._ref[slots] = -1
        # the previous head of each env: does this step continue it?
        if W:
            for e in range(E):
                p = (W - E + e) % Cap
                if m + E - e > Cap:  # that slot is overwritten by this write
                    continue
                ref = self._ref[p]
                if ref < 0:
                    continue
                if self._f["terminated"].data[p] or self._f["truncated"].data[p]:
                    continue
                if self._side[ref].reshape(-1).view(np.uint8).tobytes() == obs[e].tobytes():
                    self._free.append(int(ref))
                    self._ref[p] = -1
                else:
                    self._cut[p] = 1
        # within the call: row r continues into row r + E when its next_obs
        # is the obs added there and it did not end the episode
        need = np.ones(m, bool)
        if m > E:
            same = (obs[E:] == nxt[:-E]).all(axis=1)
            cont = same & ~done[:-E]
            need[:-E] = ~cont
            cut[:-E] |= (~same & ~done[:-E]).astype(np.uint8)
        rows = np.flatnonzero(need[keep:]) + keep
        if rows.size:
            refs = self._alloc(rows.size)
            self._side[refs] = cols["next_obs"][rows]
            self._ref[(W + rows) % Cap] = refs

    def _alloc(self, k):
        while len(self._free) < k:
            K = self._side.shape[0]
            grown = np.zeros((2 * K,) + self._side.shape[1:], self._side.dtype)
            grown[:K] = self._side
            self._side = grown
            self._free.extend(range(2 * K - 1, K - 1, -1))
        out = np.array(self._free[-k:][::-1], np.int64)
        del self._free[-k:]
        return out

    # ----------------------------------------------------------------- sample
    def _draw(self, B, rng):
        slots = np.empty(B, np.int64)
        self._k("uniform_sample")(rng.random(B), len(self), slots)
        return slots

    def sample(self, batch_size, rng=None, *, n_step=1, gamma=None, views=False):
        """Sample ``batch_size`` transitions uniformly, with replacement.

        Sampling is always with replacement, so ``batch_size`` may exceed
        ``len(self)``; an empty buffer is an error, except that
        ``batch_size=0`` always gives an empty batch (every field, no rows). ``rng``: a
        numpy.random.Generator or a seed (the same seed gives the same batch
        on every backend).

        n-step (``n_step`` = n > 1, ``gamma`` required): for the sampled step
        t, ``reward`` is G = Σ_{k<m} γ^k r_{t+k}, ``next_obs`` the bootstrap
        observation (the next_obs of step t+m-1), ``discount`` = γ^m, or 0 if
        step t+m-1 terminated, and ``steps`` = m, where m <= n stops at the
        first terminated or truncated step and at the write head (the newest
        step of that env); ``terminated``/``truncated`` are those of step
        t+m-1. The TD target is ``reward + discount * V(next_obs)``. With
        ``gamma`` and n_step = 1 the same fields are returned for one step.

        ``views=True``: the fields of records up to 512 bytes are views into
        one block of gathered records (one copy per transition instead of one
        per field; the arrays are not contiguous), e.g. for ``torch.from_numpy``.
        """
        return self._sample(batch_size, rng, n_step, gamma, views=views)

    def get(self, indices, *, n_step=1, gamma=None, views=False):
        """The stored transitions ``indices`` (transition numbers, as in
        ``batch.indices``), as a batch in that order, n-step as in
        :meth:`sample`. An index never added, or already overwritten, is an
        error. For callers that choose the transitions themselves."""
        return self._sample(None, None, n_step, gamma, indices=indices, views=views)

    def indices_at(self, slots) -> np.ndarray:
        """The transition numbers of the transitions now in ``slots`` (ring
        positions 0 .. len(self) - 1)."""
        with self._lock:
            s = C.index_array(np.reshape(slots, -1), "slots", np.size(slots), len(self), "len(self)",
                              allow_float=False)
            return self._index_of(s)

    def _index_of(self, slots):
        # the transitions in slots were added at most capacity additions ago
        if self._added <= self._capacity:
            return slots.copy()  # no lap yet: index = slot
        return slots + self._capacity * ((self._added - 1 - slots) // self._capacity)

    def _live_slots(self, indices):
        """Slots of transition numbers that are still stored (else an error)."""
        idx = np.asarray(indices)
        idx = idx.reshape(1) if idx.ndim == 0 else idx
        if idx.ndim != 1:
            raise ValueError(f"indices must be 1-D (batch.indices); got shape {idx.shape}")
        W, Cap = self._added, self._capacity
        idx = C.index_array(idx, "indices", idx.shape[0], W, "total_added", allow_float=False)
        if idx.size and idx.min() < W - Cap:
            i = int(np.argmin(idx))
            raise ValueError(f"indices[{i}] = {int(idx[i])} has been overwritten: the buffer "
                             f"holds transitions {W - Cap} .. {W - 1}")
        return idx % Cap

    def _sample(self, batch_size, rng, n_step, gamma, finish=None, indices=None, views=False):
        """Validate, draw (or take ``indices``), gather; ``finish(batch, slots)``
        runs under the same lock."""
        if indices is None:
            B = C.positive_int(batch_size, "batch_size", lo=0)
        n_step = C.positive_int(n_step, "n_step")
        if gamma is None and n_step > 1:
            raise ValueError("n_step > 1 needs gamma (the discount of the n-step return)")
        if gamma is not None:
            gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
        rng = C.generator(rng) if indices is None else None
        with self._lock:
            if indices is not None:
                slots = self._live_slots(indices)
                B = slots.shape[0]
            if not B:  # an empty batch with every field (also from an empty buffer)
                slots = np.zeros(0, np.int64)
                batch = Batch({k: np.zeros((0,) + shape, dt) for k, (shape, dt)
                               in self.fields.items()}, indices=slots)
                if gamma is not None:
                    batch.update(discount=np.zeros(0, self._spec["reward"][1]), steps=slots)
                if finish is not None:
                    finish(batch, slots)
                return batch
            if indices is None:
                if not self._added:
                    raise ValueError("cannot sample from an empty buffer: add transitions first")
                slots = self._draw(B, rng)
            batch = self._gather(slots, n_step, gamma, not views)
            if finish is not None:
                finish(batch, slots)
            return batch

    def _gather(self, slots, n_step, gamma, copy=True):
        B = slots.shape[0]
        Cap, E = self._capacity, self._n_envs
        f = self._f
        gather = self._k("gather_rows")
        if self._rec.shape[1] <= _RECORD_GATHER_MAX:
            rec = np.empty((B, self._rec.shape[1]), np.uint8)
            gather(self._rec, slots, rec)
            if copy:
                take = lambda fld: fld.take(rec)  # noqa: E731
            else:
                recs = rec.view(self._rec_dtype).reshape(B)
                take = lambda fld: recs[fld.name] if fld.width else fld.take(rec)  # noqa: E731
        else:  # big records (frames): copy each field once, straight from storage
            take = lambda fld: self._gather_field(fld.name, slots)  # noqa: E731
        batch = Batch()
        if gamma is None:
            for name, fld in f.items():
                if name != "_cut":
                    batch[name] = take(fld)
            boot = slots
        else:
            rew = f["reward"].data
            ret = np.empty(B, rew.dtype)
            disc = np.empty(B, rew.dtype)
            boot = np.empty(B, np.int64)
            newest_row = ((self._added - 1) // E) % (Cap // E)
            self._k("nstep_gather")(rew, f["terminated"].data.view(np.uint8), self._cut,
                                    slots, E, newest_row, n_step, gamma, ret, disc, boot)
            for name, fld in f.items():
                if name not in ("_cut", "reward", "next_obs", "terminated", "truncated"):
                    batch[name] = take(fld)
            batch["reward"] = ret
            for name in ("terminated", "truncated"):
                out = np.empty(B, bool)
                gather(f[name].rows, boot, out.reshape(B, 1).view(np.uint8))
                batch[name] = out
            batch["discount"] = disc
            # m = steps taken: rows from the sampled step to the last one, + 1
            batch["steps"] = (boot // E - slots // E) % (Cap // E) + 1
            if self._store_next_obs:
                batch["next_obs"] = self._gather_field("next_obs", boot)
        if not self._store_next_obs:
            batch["next_obs"] = self._next_obs(boot)
        batch["indices"] = self._index_of(slots)
        return batch

    def _records(self, batch_size, rng):
        """``batch_size`` uniform draws as :meth:`sample` makes them (same
        ``rng`` stream, same slots), returned as one gathered block of records
        viewed as a structured array: ``r["obs"]``, ``r["reward"]`` ... are
        views of the one-step fields (n-step returns are the caller's to
        refuse). None where this does not apply (next_obs not stored, records
        over ``_RECORD_GATHER_MAX`` bytes, a prioritized buffer, an empty
        buffer, a batch size that is not a positive int): the caller then
        takes :meth:`sample`. For adapters called once per gradient step: one
        draw, one gather, no per-field copies."""
        if (type(batch_size) is not int or batch_size <= 0 or type(rng) is not np.random.Generator
                or not self._store_next_obs or self._rec.shape[1] > _RECORD_GATHER_MAX
                or type(self)._draw is not ReplayBuffer._draw):
            return None
        with self._lock:
            if not self._added:
                return None
            slots = self._draw(batch_size, rng)
            rec = np.empty((batch_size, self._rec.shape[1]), np.uint8)
            self._k("gather_rows")(self._rec, slots, rec)
        return rec.view(self._rec_dtype).reshape(batch_size)

    def _gather_field(self, name, slots):
        fld = self._f[name]
        B = slots.shape[0]
        out = np.empty((B,) + fld.shape, fld.dtype)
        if fld.width:
            self._k("gather_rows")(fld.rows, slots, out.reshape(B, -1).view(np.uint8))
        return out

    def _next_obs(self, boot):
        """next_obs not stored: the obs of the env's next slot, or the side store."""
        out = self._gather_field("obs", (boot + self._n_envs) % self._capacity)
        ref = self._ref[boot]
        side = ref >= 0
        if side.any():
            out[side] = self._side[ref[side]]
        return out

    # ------------------------------------------------------------- save/load
    def _config(self):
        spec = {k: [list(shape), dtype.str] for k, (shape, dtype) in self._spec.items()}
        return {"format": _FORMAT, "class": type(self).__name__, "capacity": self._capacity,
                "n_envs": self._n_envs, "store_next_obs": self._store_next_obs, "spec": spec}

    def _state(self):
        n = len(self)
        st = {f"field_{k}": fld.data[:n] for k, fld in self._f.items()}
        st["added"] = np.int64(self._added)
        if not self._store_next_obs:
            st["ref"] = self._ref[:n]
            st["side"] = self._side
            st["free"] = np.array(self._free, np.int64)
        return st

    def __getstate__(self):
        # pickle (e.g. Stable-Baselines3's save_replay_buffer): the fields are
        # views of one record array, so the state is saved as save() writes it
        with self._lock:
            return {"config": self._config(), "state": self._state(), "backend": self.backend}

    def __setstate__(self, st):
        self.__dict__.update(type(self)._from_config(st["config"], st["backend"]).__dict__)
        self._set_state(st["state"], st["config"])

    def save(self, path):
        """Write the whole buffer to ``path`` (an ``.npz`` archive, no pickle).

        Everything needed to continue round-trips exactly: configuration,
        data, write position, indices, next-obs side store and, for a
        prioritized buffer, the priorities and the maximum priority. The
        write is atomic: the archive is written to a temporary file in the
        same directory, flushed to disk and renamed over ``path``, so a crash
        leaves either the old file or the new one. The temporary file of a save
        that was killed is removed by the next save into the same directory;
        the archive gets the permissions the umask gives a new file.
        """
        path = os.fspath(path)
        with self._lock:
            arrays = self._state()
            arrays["config"] = np.array(json.dumps(self._config()))
            folder = os.path.dirname(os.path.abspath(path))
            _remove_stale_temporaries(folder)
            fd, tmp = tempfile.mkstemp(prefix=f".fastpg-replay-{os.getpid()}-", suffix=".tmp",
                                       dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, **arrays)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is for the temporary only
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

    @_hybridmethod
    def load(cls, self, path, backend=None):
        """Read a buffer written by ``save``.

        ``ReplayBuffer.load(path)`` (on the class) returns a new buffer of
        the saved class; ``buf.load(path)`` (on an instance) replaces the
        instance's contents and needs the same configuration (capacity,
        fields, dtypes, n_envs, ...).
        """
        path = os.fspath(path)
        arrays, config = _read_archive(path)
        saved = _ARCHIVE_CLASSES.get(config.get("class"))
        if saved is None or not issubclass(saved, cls if self is None else type(self)):
            raise TypeError(f"{path} holds a {config.get('class')}, not a "
                            f"{(cls if self is None else type(self)).__name__}")
        if self is not None:
            mine = self._config()
            if {k: v for k, v in mine.items() if k != "extra"} != \
                    {k: v for k, v in config.items() if k != "extra"}:
                raise ValueError(f"{path} holds a buffer of another configuration "
                                 f"({config}); this one is {mine}. Use "
                                 f"{type(self).__name__}.load(path) to build it.")
        # the whole archive is checked while building a new buffer; the one
        # loaded into changes only once that has worked
        try:
            fresh = saved._from_config(config, self.backend if self is not None else backend)
            fresh._set_state(arrays, config)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a valid fastpg replay buffer archive: {exc}") from None
        if self is None:
            return fresh
        with self._lock:
            self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_lock"})
        return self

    @classmethod
    def _from_config(cls, config, backend):
        spec = {k: (tuple(shape), np.dtype(dt)) for k, (shape, dt) in config["spec"].items()}
        fields = {k: v for k, v in spec.items() if k not in cls._CORE}
        kw = dict(config.get("extra", {}))
        return cls(config["capacity"], spec["obs"][0], spec["obs"][1], spec["action"][0],
                   spec["action"][1], config["n_envs"], reward_dtype=spec["reward"][1],
                   store_next_obs=config["store_next_obs"], fields=fields, backend=backend, **kw)

    def _set_state(self, arrays, config):
        """Fill this (new) buffer from a saved state, checking every array."""
        added = _stored(arrays, "added", (), "iu")
        if added < 0:
            raise ValueError(f"added = {added} is negative")
        added = int(added)
        n = min(added, self._capacity)
        for k, fld in self._f.items():
            fld.data[:n] = _stored(arrays, f"field_{k}", (n,) + fld.shape, fld.dtype.kind)
        self._added = added
        if not self._store_next_obs:
            side = _stored(arrays, "side", None, self._side.dtype.kind)
            if side.ndim < 1 or side.shape[1:] != self._side.shape[1:] or not side.shape[0]:
                raise ValueError(f"side has shape {side.shape}; expected (rows,) + "
                                 f"{self._side.shape[1:]}")
            ref = _stored(arrays, "ref", (n,), "iu").astype(np.int64)
            free = _stored(arrays, "free", None, "iu").astype(np.int64).reshape(-1)
            used = ref[ref >= 0]
            if ((ref < -1) | (ref >= side.shape[0])).any() or ((free < 0) |
                                                                 (free >= side.shape[0])).any():
                raise ValueError(f"ref/free hold rows outside the side store (0..{side.shape[0]})")
            if np.unique(np.concatenate([used, free])).size != used.size + free.size:
                raise ValueError("ref and free share side-store rows")
            self._ref[:n] = ref
            self._side = np.array(side)
            self._free = free.tolist()


_ARCHIVE_CLASSES["ReplayBuffer"] = ReplayBuffer


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al., 2016) on a ring buffer.

    P(i) = p_i^α / Σ_k p_k^α with p_i = priority_i + eps. New transitions
    get the largest p seen so far (1.0 at first), so each is likely to be
    replayed at least once. ``sample`` is stratified: sample j draws its mass
    from the j-th of ``batch_size`` equal segments of the total, and returns
    ``weights`` = (N·P(i))^−β / max_k (N·P(k))^−β with N = len(self): the
    maximum is the global one (from the min tree), so weights lie in (0, 1].

    ``update_priorities(indices, priorities)`` sets p = priority + eps for
    the transitions of a sampled batch (typically |TD error|): applied in
    order (a duplicate index: the last wins); an index whose transition has
    been overwritten since it was sampled is skipped. Priorities must be
    finite and >= 0. With ``eps`` = 0, a priority of 0 means never sampled.

    ``alpha`` in [0, ∞) (0: uniform), ``beta`` in [0, 1] (1: full
    correction; anneal it by assigning ``buf.beta`` or passing ``beta=`` to
    ``sample``), ``eps`` >= 0. Everything else as :class:`ReplayBuffer`.
    """

    def __init__(self, capacity, obs_shape, obs_dtype=np.float32, action_shape=(),
                 action_dtype=np.int64, n_envs=1, *, alpha=0.6, beta=0.4, eps=1e-6,
                 **kwargs):
        self.alpha = alpha
        self.beta = beta
        self.eps = eps
        super().__init__(capacity, obs_shape, obs_dtype, action_shape, action_dtype, n_envs,
                         **kwargs)

    @property
    def alpha(self):
        return self._alpha

    @alpha.setter
    def alpha(self, value):
        value = C.real_number(value, "alpha", 0.0)
        if getattr(self, "_tree", None) is not None and self._tree.total > 0 \
                and value != self._alpha:
            raise ValueError("alpha cannot change once priorities are stored "
                             "(they are kept as p**alpha)")
        self._alpha = value

    @property
    def beta(self):
        return self._beta

    @beta.setter
    def beta(self, value):
        self._beta = C.real_number(value, "beta", 0.0, 1.0)

    @property
    def eps(self):
        return self._eps

    @eps.setter
    def eps(self, value):
        self._eps = C.real_number(value, "eps", 0.0)

    @property
    def max_priority(self) -> float:
        """The largest p = priority + eps seen so far (new items get it)."""
        return self._max_p

    def _allocate(self):
        super()._allocate()
        self._tree = SumTree(self._capacity, backend=self.backend)
        self._max_p = 1.0
        self._one, self._one_p = np.zeros(1, np.int64), np.zeros(1)

    def clear(self):
        with self._lock:
            super().clear()
            self._tree = SumTree(self._capacity, backend=self.backend)
            self._max_p = 1.0

    def add(self, obs, action, reward, next_obs, terminated, truncated=None, *,
            priorities=None, **fields):
        """As :meth:`ReplayBuffer.add`; ``priorities``: the new transitions'
        priorities (a scalar, or one per env), e.g. |TD errors| computed where
        the data was collected (Ape-X); by default the largest seen so far."""
        return self._add(obs, action, reward, next_obs, terminated, truncated, fields,
                         self._given(priorities))

    def extend(self, obs, action, reward, next_obs, terminated, truncated=None, *,
               priorities=None, **fields):
        """As :meth:`ReplayBuffer.extend`; ``priorities``: a scalar, or one per
        transition ((T,) or (T, n_envs)); by default the largest seen so far."""
        return self._extend(obs, action, reward, next_obs, terminated, truncated, fields,
                            self._given(priorities))

    def _given(self, priorities):
        # validated with the other columns, before the lock and any write
        return None if priorities is None else (lambda lead: self._p(priorities, lead))

    def _p(self, priorities, shape):
        """p = priority + eps as flat float64 (a scalar is broadcast to shape).
        Priorities must be finite and >= 0, and p**alpha finite (it is what the
        tree stores: an infinite total would make every sample the last leaf)."""
        pr, hi = _priorities(priorities, shape)
        try:
            ok = math.isfinite((float(hi) + self._eps) ** self._alpha)
        except OverflowError:
            ok = False
        if not ok:
            raise ValueError(f"priorities: ({float(hi)!r} + eps) ** alpha = "
                             f"({float(hi)!r} + {self._eps}) ** {self._alpha} is not finite; "
                             "rescale the priorities or lower alpha")
        return pr.reshape(-1) + self._eps

    def _after_write(self, start, m, keep, prio=None):
        if m == 1 and prio is None:  # add(): one leaf, into scratch arrays
            self._one[0] = start
            self._one_p[0] = self._max_p ** self._alpha
            self._tree._set(self._one, self._one_p, self.backend)
            return
        slots = (start + np.arange(keep, m, dtype=np.int64)) % self._capacity
        if prio is None:
            p = np.full(slots.shape[0], self._max_p ** self._alpha)
        else:
            if prio.size:
                self._max_p = max(self._max_p, float(prio.max()))
            p = prio[keep:] ** self._alpha if self._alpha != 1.0 else prio[keep:]
        self._tree._set(slots, p, self.backend)

    def sample(self, batch_size, rng=None, *, n_step=1, gamma=None, beta=None, views=False):
        """Prioritized sample; as :meth:`ReplayBuffer.sample`, plus ``weights``.

        ``beta``: overrides ``self.beta`` for this call. If every stored
        priority is 0 (possible only with eps = 0) sampling is an error.
        """
        return self._sample(batch_size, rng, n_step, gamma, self._with_weights(beta),
                            views=views)

    def get(self, indices, *, n_step=1, gamma=None, beta=None, views=False):
        """As :meth:`ReplayBuffer.get`, plus ``weights``."""
        return self._sample(None, None, n_step, gamma, self._with_weights(beta), indices, views)

    def _with_weights(self, beta):
        beta = self._beta if beta is None else C.real_number(beta, "beta", 0.0, 1.0)

        def finish(batch, slots):
            w = np.empty(slots.shape[0], np.float32)
            self._tree._weights(slots, beta, w, self.backend)
            batch["weights"] = w

        return finish

    def _draw(self, B, rng):
        if not self._tree.total > 0:
            raise ValueError("cannot sample: every stored priority is 0")
        slots = np.empty(B, np.int64)
        self._tree._find(rng.random(B), slots, self.backend)
        return slots

    def update_priorities(self, indices, priorities):
        """Set p = priority + eps for sampled ``indices`` (from ``batch.indices``).

        Applied in order (duplicates: the last wins). Indices of transitions
        overwritten since they were sampled are skipped; the number applied
        is returned. A scalar priority applies to every index. Errors: an
        index never added (negative or >= ``total_added``), a priority that is
        NaN, infinite or negative, or shapes that differ.
        """
        idx = np.asarray(indices)
        idx = idx.reshape(1) if idx.ndim == 0 else idx
        if idx.ndim != 1:
            raise ValueError(f"indices must be 1-D (batch.indices); got shape {idx.shape}")
        p = self._p(priorities, idx.shape)
        if not p.size:
            return 0
        with self._lock:
            W, Cap = self._added, self._capacity
            if idx.dtype == np.int64 and idx.min() >= max(W - Cap, 0) and idx.max() < W:
                slots = idx % Cap if W > Cap else idx
            else:  # a diagnosis, or stale indices to drop
                idx = C.index_array(idx, "indices", idx.shape[0], W, "total_added",
                                    allow_float=False)
                live = idx >= W - Cap
                idx, p = idx[live], p[live]
                if not idx.size:
                    return 0
                slots = idx % Cap
            self._max_p = max(self._max_p, float(p.max()))
            if self._alpha != 1.0:
                p **= self._alpha
            self._tree._set(slots, p, self.backend)
            return int(idx.size)

    @property
    def priorities(self) -> np.ndarray:
        """p^α of the stored transitions, by slot (a read-only view)."""
        return self._tree.priorities[:len(self)]

    def get_priorities(self, indices) -> np.ndarray:
        """The sampling priorities p^α (P(i) ∝ p^α, p = priority + eps) of the
        stored transitions ``indices`` (transition numbers, as in
        ``batch.indices``); an index never added or overwritten is an error.
        With alpha > 0, ``** (1 / alpha)`` gives p back."""
        with self._lock:
            return self._tree.priorities[self._live_slots(indices)]

    def weights(self, indices, beta=None, dtype=np.float32) -> np.ndarray:
        """Importance weights (N·P(i))^−β / max_k (N·P(k))^−β of the stored
        transitions ``indices`` (as ``sample`` returns them); ``beta``
        defaults to ``self.beta``."""
        beta = self._beta if beta is None else C.real_number(beta, "beta", 0.0, 1.0)
        with self._lock:
            return self._tree.weights(self._live_slots(indices), beta, dtype)

    def _config(self):
        c = super()._config()
        c["extra"] = {"alpha": self._alpha, "beta": self._beta, "eps": self._eps}
        return c

    def _state(self):
        st = super()._state()
        st["tree_leaves"] = self._tree.priorities[:len(self)]
        st["max_p"] = np.float64(self._max_p)
        return st

    def _set_state(self, arrays, config):
        super()._set_state(arrays, config)
        n = len(self)
        leaves = np.ascontiguousarray(_stored(arrays, "tree_leaves", (n,), "f"), np.float64)
        if n and not (np.isfinite(leaves).all() and leaves.min() >= 0):
            raise ValueError("tree_leaves must be finite and >= 0")
        max_p = float(_stored(arrays, "max_p", (), "f"))
        if not (math.isfinite(max_p) and max_p > 0):
            raise ValueError(f"max_p = {max_p!r} must be finite and > 0")
        self._tree._set(np.arange(n, dtype=np.int64), leaves, self.backend)
        self._max_p = max_p


def _umask():
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder):
    """Delete the temporaries of saves whose process is gone (killed mid-save).
    POSIX only: there, signal 0 asks whether a process exists."""
    if os.name != "posix":
        return
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(".fastpg-replay-") and name.endswith(".tmp")):
            continue
        pid = name[len(".fastpg-replay-"):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # that process no longer exists
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
        except OSError:  # exists, but another user's: not ours to clean
            pass


def _read_archive(path):
    """(arrays, config) of a save() archive; a file that is not one is a
    ValueError naming it (a missing file stays a FileNotFoundError)."""
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable fastpg replay buffer archive "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a fastpg replay buffer archive (a single .npy array)")
    try:
        with z:
            arrays = {k: z[k] for k in z.files}
        config = json.loads(str(arrays.pop("config")))
    except KeyError:
        raise ValueError(f"{path}: not a fastpg replay buffer archive (no config)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable fastpg replay buffer archive "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"{path}: unknown format "
                         f"{config.get('format') if isinstance(config, dict) else config!r}")
    return arrays, config


def _stored(arrays, key, shape, kinds):
    """arrays[key], checked: present, of ``shape`` (None: any) and a dtype kind in kinds."""
    if key not in arrays:
        raise KeyError(f"the archive has no {key!r}")
    a = arrays[key]
    if (shape is not None and a.shape != shape) or a.dtype.kind not in kinds:
        raise ValueError(f"{key} has shape {a.shape} and dtype {a.dtype}; expected shape "
                         f"{shape} and a dtype of kind {kinds!r}")
    return a[()] if a.ndim == 0 else a


def _priorities(priorities, shape):
    """(priorities as contiguous float64 of ``shape``, their max); a scalar is
    broadcast; each must be finite and >= 0 (checked before anything is written)."""
    pr = priorities if type(priorities) is np.ndarray and priorities.dtype.kind in "biuf" \
        else C.real_array(priorities, "priorities")
    if pr.ndim == 0:
        pr = np.broadcast_to(pr, shape)
    if pr.shape != shape:
        raise ValueError(f"priorities must have the shape of indices {shape}; got {pr.shape}")
    pr = np.ascontiguousarray(pr, np.float64)
    hi = pr.max() if pr.size else 0.0
    if pr.size and not (pr.min() >= 0 and hi < np.inf):  # NaN fails both
        i = int(np.flatnonzero(~(np.isfinite(pr) & (pr >= 0)))[0])
        raise ValueError(f"priorities must be finite and >= 0; priorities[{i}] = {pr[i]!r}")
    return pr, hi


def _aligned_rows(rows, M):
    """Zeroed float64 (rows, M), M a multiple of 8, each row 64-byte aligned."""
    raw = np.zeros(rows * M + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip:skip + rows * M].reshape(rows, M)


class SumTree:
    """Priorities of ``capacity`` slots; sample slots in proportion to them.

    A fan-out-8 float64 sum tree and min tree (layout:
    :mod:`fastpg.reference.replay`).

    * ``update(indices, priorities)``: sequential, so with duplicate indices
      the last priority wins; parents are recomputed from their children (no
      drift, whatever the number of updates). Priorities must be finite and
      >= 0; a slot of priority 0 is never sampled.
    * ``sample(batch_size, rng)``: stratified: sample i draws its mass from the
      i-th of ``batch_size`` equal segments of the total (``rng.random(B)``
      gives the offsets, so the same seed samples the same slots on every
      backend).
    * ``weights(indices, beta)``: importance weights (N P(i))^-β normalised by
      the largest possible weight, i.e. (p_min / p_i)^β with p_min the
      smallest positive priority.
    """

    def __init__(self, capacity, backend=None):
        self.capacity = C.positive_int(capacity, "capacity")
        depth = 0
        while 8 ** depth < self.capacity:
            depth += 1
        self.depth = depth
        self.first_leaf, M = tree_positions(depth)
        self.tree = _aligned_rows(2, M)  # [sums; mins] (layout: fastpg.reference.replay)
        self.tree[1] = np.inf
        self.backend = C.backend(backend)

    def _k(self, name, backend=None):
        return _backend.kernel("replay", name, self.backend if backend is None else backend)

    # The unchecked operations, on validated int64 slots and float64 arrays.
    # The prioritized buffer calls these with its own backend (which a caller
    # may change after construction), never the tree's arrays directly.
    def _set(self, slots, p, backend=None):
        """Leaves ``slots`` get priorities ``p`` (the last write of a slot wins)."""
        self._k("tree_update", backend)(self.tree, self.depth, slots, p)

    def _find(self, u, out, backend=None):
        """``out[i]``: the slot holding mass ``(i + u[i]) / B * total`` (stratified)."""
        self._k("tree_sample", backend)(self.tree, self.depth, u, out)

    def _weights(self, slots, beta, out, backend=None):
        """``out``: the importance weights (p_min / p_slot)^beta."""
        self._k("importance_weights", backend)(self.tree, self.depth, slots, beta, out)

    @property
    def sum_tree(self) -> np.ndarray:
        """Node sums (root at 0, leaf j at ``first_leaf + j``; a read-only view)."""
        v = self.tree[0].view()
        v.flags.writeable = False
        return v

    @property
    def min_tree(self) -> np.ndarray:
        """Node minima of the positive priorities (+inf: none; a read-only view)."""
        v = self.tree[1].view()
        v.flags.writeable = False
        return v

    @property
    def total(self) -> float:
        return float(self.tree[0, 0])

    @property
    def min_priority(self) -> float:
        """Smallest positive priority (inf when none is positive)."""
        return float(self.tree[1, 0])

    @property
    def priorities(self) -> np.ndarray:
        """The slots' priorities (a read-only view)."""
        v = self.tree[0, self.first_leaf:self.first_leaf + self.capacity]
        v.flags.writeable = False
        return v

    def _indices(self, indices, name="indices"):
        arr = np.asarray(indices)
        arr = arr.reshape(1) if arr.ndim == 0 else arr
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of slots; got shape {arr.shape}")
        return C.index_array(arr, name, arr.shape[0], self.capacity, "capacity",
                             allow_float=False)

    def update(self, indices, priorities):
        idx = self._indices(indices)
        self._set(idx, _priorities(priorities, idx.shape)[0])

    def sample(self, batch_size, rng=None):
        B = C.positive_int(batch_size, "batch_size")
        if not self.total > 0:
            raise ValueError("cannot sample: every priority is 0 (an empty buffer?)")
        u = C.generator(rng).random(B)
        out = np.empty(B, np.int64)
        self._find(u, out)
        return out

    def find_prefixsum(self, mass):
        """The slot whose prefix-sum interval holds each ``mass``: the first
        slot i with priority > 0 and p_0 + ... + p_i > mass (a mass at or a
        rounding hair above the total gives the last positive slot). The query
        behind sampling (``sample`` asks it for stratified masses: the same
        descent, with the same tie rules as the kernels). ``mass`` in
        [0, total], a scalar or 1-D; the tree must have a positive total.
        """
        m = C.real_array(mass, "mass")
        scalar = m.ndim == 0
        m = np.array(m.reshape(-1), np.float64)  # a copy: consumed as the walk descends
        if not self.total > 0:
            raise ValueError("find_prefixsum needs a positive total (every priority is 0)")
        if m.size and not (m.min() >= 0 and m.max() <= self.total):  # NaN fails both
            i = int(np.flatnonzero(~((m >= 0) & (m <= self.total)))[0])
            raise ValueError(f"mass must lie in [0, total = {self.total!r}]; "
                             f"mass[{i}] = {m[i]!r}")
        sums = self.tree[0]
        node = np.zeros(m.shape[0], np.int64)
        for _ in range(self.depth):
            kids = sums[8 * node[:, None] + 8 + np.arange(8)]  # (n, 8), siblings left to right
            chosen = np.full(m.shape[0], -1, np.int64)
            last = np.full(m.shape[0], -1, np.int64)
            for j in range(8):  # subtract the skipped sums one by one, as the kernels do
                sj = kids[:, j]
                live = (sj > 0) & (chosen < 0)
                last[sj > 0] = j
                hit = live & (m < sj)
                chosen[hit] = j
                m[live & ~hit] -= sj[live & ~hit]
            over = chosen < 0  # the mass reached the node's sum: its last positive child
            chosen[over] = last[over]
            m[over] += kids[over, last[over]]
            node = 8 * node + 8 + chosen
        out = node - self.first_leaf
        return int(out[0]) if scalar else out

    def weights(self, indices, beta, dtype=np.float32):
        idx = self._indices(indices)
        beta = C.real_number(beta, "beta", 0.0, 1.0)
        if idx.size and (self.tree[0, self.first_leaf + idx] <= 0).any():
            i = int(np.flatnonzero(self.tree[0, self.first_leaf + idx] <= 0)[0])
            raise ValueError(f"indices[{i}] = {int(idx[i])} has priority 0 (never sampled): "
                             "it has no importance weight")
        out = np.empty(idx.shape[0], np.dtype(dtype))
        if out.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {out.dtype}")
        self._weights(idx, float(beta), out)
        return out
