"""Replay storage (issue 5, in progress): the proportional-priority sum tree.

:class:`SumTree` is the core of prioritized experience replay (Schaul et al.,
2016): a float64 sum tree and min tree over ``capacity`` slots, built on the
registry kernels ``tree_update``, ``tree_sample`` and ``importance_weights``
(layout and exact semantics: :mod:`fastpg.reference.replay`). The buffers
(``ReplayBuffer``, ``PrioritizedReplayBuffer``) will be built on it.
"""
from __future__ import annotations

import numpy as np

from . import _backend
from . import _checks as C

__all__ = ["SumTree"]


class SumTree:
    """Priorities of ``capacity`` slots; sample slots in proportion to them.

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
        self.leaves = 1 << (self.capacity - 1).bit_length()
        self.sum_tree = np.zeros(2 * self.leaves)
        self.min_tree = np.full(2 * self.leaves, np.inf)
        self.backend = backend

    def _k(self, name):
        return _backend.kernel("replay", name, self.backend)

    @property
    def total(self) -> float:
        return float(self.sum_tree[1])

    @property
    def min_priority(self) -> float:
        """Smallest positive priority (inf when none is positive)."""
        return float(self.min_tree[1])

    @property
    def priorities(self) -> np.ndarray:
        """The slots' priorities (a read-only view)."""
        v = self.sum_tree[self.leaves:self.leaves + self.capacity]
        v = v.view()
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
        p = C.real_array(priorities, "priorities")
        p = np.broadcast_to(p, idx.shape) if p.ndim == 0 else p
        if p.shape != idx.shape:
            raise ValueError(f"priorities must have the shape of indices {idx.shape}; "
                             f"got {p.shape}")
        p = np.ascontiguousarray(p, dtype=np.float64)
        if p.size and not (np.isfinite(p).all() and (p >= 0).all()):
            bad = p[~(np.isfinite(p) & (p >= 0))][0]
            raise ValueError(f"priorities must be finite and >= 0; got {bad!r}")
        self._k("tree_update")(self.sum_tree, self.min_tree, idx, p)

    def sample(self, batch_size, rng=None):
        B = C.positive_int(batch_size, "batch_size")
        if not self.total > 0:
            raise ValueError("cannot sample: every priority is 0 (an empty buffer?)")
        u = C.generator(rng).random(B)
        out = np.empty(B, np.int64)
        self._k("tree_sample")(self.sum_tree, u, out)
        return out

    def weights(self, indices, beta, dtype=np.float32):
        idx = self._indices(indices)
        if not 0.0 <= float(beta) <= 1.0:
            raise ValueError(f"beta must lie in [0, 1]; got {beta!r}")
        if idx.size and (self.sum_tree[self.leaves + idx] <= 0).any():
            i = int(np.flatnonzero(self.sum_tree[self.leaves + idx] <= 0)[0])
            raise ValueError(f"indices[{i}] = {int(idx[i])} has priority 0 (never sampled): "
                             "it has no importance weight")
        out = np.empty(idx.shape[0], np.dtype(dtype))
        if out.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {out.dtype}")
        self._k("importance_weights")(self.sum_tree, self.min_tree, idx, float(beta), out)
        return out
