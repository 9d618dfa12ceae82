"""The uniform replay buffer: storage (record array, ring writes, the
one-transition fast path); sampling, the next-observation side store and
save/load come from its mixins."""
from __future__ import annotations

import threading

import numpy as np

from .. import _backend
from .. import _checks as C
from ._archive import Archive
from ._elision import Elision
from ._layout import _Field, _FastAdd, _cast_error, add_one, add_rows
from ._sampling import Sampling


class ReplayBuffer(Archive, Sampling, Elision):
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
            f["terminated"].data, f["truncated"].data, self._cut)
        self._added = 0  # transitions ever added (the next index)
        self._kept = {}  # kernels run once per step (_backend.kept_kernel)
        self._splits = {}  # n-step or not -> (names, gather_fields layout), made on first use
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
        if E > 1 and not fields and prio is None and self._fast is not None and \
                type(reward) is np.ndarray and reward.shape == (E,):
            first = self._add_exact(obs, action, reward, next_obs, terminated, truncated)
            if first is not None:
                return first
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
        if E == 1 and not fields and prio is None and self._fast is not None:
            first = self._add_exact(obs, action, reward, next_obs, terminated, truncated)
            if first is not None:
                return first
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

    def _add_exact(self, obs, action, reward, next_obs, terminated, truncated):
        """Rows of exact arrays at the write head in one C call (see
        ``_layout._add_rows``; rows of one env step never wrap, the capacity
        being a multiple of n_envs): the first index, or None with nothing
        written (the general path then converts, wraps or names the error)."""
        with self._lock:
            x = self._added % self._capacity
            if not add_rows(self._fast, x, obs, action, reward, next_obs, terminated, truncated):
                return None
            m = reward.shape[0]
            self._after_write(x, m, 0, None)
            self._added += m
            return self._added - m

    def _add_one(self, obs, action, reward, next_obs, terminated, truncated):
        """One transition with no conversion (see ``_layout._add_one``), or
        False with nothing written: take the general path."""
        with self._lock:
            x = self._added % self._capacity
            if not add_one(self._fast, x, obs, action, reward, next_obs, terminated, truncated):
                return False
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
