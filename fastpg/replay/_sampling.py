"""Sampling from the replay buffers: uniform draws, gathering records,
n-step returns, next observations that were not stored."""
from __future__ import annotations

import numpy as np

from .. import _backend
from .. import _checks as C
from ._layout import (_RECORD_GATHER_MAX, Batch, _cy_gather_rows, _cy_uniform_gather,
                      gather_fields, record_fields, uniform_gather_fields)

#: the fields an n-step batch computes instead of copying
_NSTEP_FIELDS = ("reward", "next_obs", "terminated", "truncated")
_ARANGE = np.arange(1024, dtype=np.int64)
_ARANGE.flags.writeable = False


def _rows(B):
    """0, 1, ..., B - 1 as int64 (read-only; a view for the usual batch sizes)."""
    return _ARANGE[:B] if B <= _ARANGE.shape[0] else np.arange(B, dtype=np.int64)


class Sampling:
    """sample / get and what they share (a mixin of
    :class:`~fastpg.replay.ReplayBuffer`)."""

    #: _sample_fields' index scratch (its kernels: self._kept, see _backend.kept_kernel)
    _idx_scratch = np.empty(0, np.int64)

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
        if self._rec.shape[1] > _RECORD_GATHER_MAX:
            # big records (frames): copy each field once, straight from storage
            take = lambda fld: self._gather_field(fld.name, slots)  # noqa: E731
        elif copy and _cy_gather_rows is not None:
            # one C call from the records to a new array per field (splitting
            # a gathered block with a NumPy copy per field took 9 of the 11 µs
            # of 256 samples of 1M × obs 4); another backend's gather first
            # fills a block, which the same call then splits
            split = self._splits.get(gamma is None)
            if split is None:
                names = tuple(k for k, fld in f.items() if k != "_cut" and fld.width and (
                    gamma is None or k not in _NSTEP_FIELDS))
                split = self._splits[gamma is None] = (names, tuple(f[k].spec for k in names))
            if gather is _cy_gather_rows:
                fields = gather_fields(self._rec, slots, split[1])
            else:
                fields = gather_fields(self._gather_records(slots), _rows(B), split[1])
            got = dict(zip(split[0], fields))
            take = lambda fld: (got[fld.name] if fld.width  # noqa: E731
                                else np.zeros((B,) + fld.shape, fld.dtype))
        else:
            rec = self._gather_records(slots)
            if copy:
                take = lambda fld: fld.take(rec)  # noqa: E731
            else:
                recs = rec.view(self._rec_dtype).reshape(B)
                take = lambda fld: recs[fld.name] if fld.width else fld.take(rec)  # noqa: E731
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
                if name != "_cut" and name not in _NSTEP_FIELDS:
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

    def _records_apply(self):
        """Whether :meth:`_sample_fields` can serve this buffer: next_obs stored,
        records of at most ``_RECORD_GATHER_MAX`` bytes, uniform draws (not a
        prioritized buffer). Fixed at construction: adapters ask once."""
        return (self._store_next_obs and self._rec.shape[1] <= _RECORD_GATHER_MAX
                and type(self)._draw is Sampling._draw)

    def _sample_fields(self, batch_size, rng, layout):
        """``batch_size`` uniform draws as :meth:`sample` makes them (same
        ``rng`` stream, same slots), returned as the fields of ``layout`` (see
        ``_layout.record_fields``; byte offsets are those of ``_rec_dtype``),
        one-step fields only (n-step returns are the caller's to refuse). For
        adapters called once per gradient step, where each NumPy call runs
        with cold caches: with the Cython backend one C call draws, gathers
        and splits (``uniform_gather_fields``); otherwise the backend's
        ``uniform_gather`` and ``record_fields``. Only for a buffer where
        :meth:`_records_apply` holds and a ``numpy.random.Generator``; None
        for an empty buffer or a batch size that is not a positive int (the
        caller then takes :meth:`sample`, which says what is wrong)."""
        if type(batch_size) is not int or batch_size <= 0:
            return None
        with self._lock:
            n = self._added
            if not n:
                return None
            k = _backend.kept_kernel(self._kept, "replay", "uniform_gather", self.backend)
            idx = self._idx_scratch
            if idx.shape[0] != batch_size:
                idx = self._idx_scratch = np.empty(batch_size, np.int64)
            if k is _cy_uniform_gather:  # draws, gathers and splits in one C call
                return uniform_gather_fields(rng, min(n, self._capacity), self._rec, idx, layout)
            rec = np.empty((batch_size, self._rec.shape[1]), np.uint8)
            k(rng, min(n, self._capacity), self._rec, idx, rec)
        return record_fields(rec, layout)

    def _gather_records(self, slots):
        """The whole records of ``slots``, (B, record bytes) uint8."""
        rec = np.empty((slots.shape[0], self._rec.shape[1]), np.uint8)
        self._k("gather_rows")(self._rec, slots, rec)
        return rec

    def _gather_field(self, name, slots):
        fld = self._f[name]
        B = slots.shape[0]
        out = np.empty((B,) + fld.shape, fld.dtype)
        if fld.width:
            self._k("gather_rows")(fld.rows, slots, out.reshape(B, -1).view(np.uint8))
        return out
