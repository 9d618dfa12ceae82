"""The fan-out-8 float64 sum tree and min tree of prioritized replay."""
from __future__ import annotations

import numpy as np

from .. import _backend
from .. import _checks as C
from ..reference.replay import tree_positions


_INF_BITS = np.float64(np.inf).view(np.uint64)


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
    if not pr.size:
        return pr, 0.0
    # one pass: as unsigned integers, +0.0 .. the largest finite double keep
    # their order and lie below +inf's bits, while a NaN, an infinity or a
    # sign bit (a negative, or -0.0: the exact test below) lie at or above
    top = pr.view(np.uint64).max()
    if top < _INF_BITS:
        return pr, float(top.view(np.float64))
    hi = pr.max()
    if not (pr.min() >= 0 and hi < np.inf):  # NaN fails both
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
        self._kernels = {}

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_kernels"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._kernels = {}  # looked up again on the first call

    def _k(self, name, backend=None):
        return _backend.kept_kernel(self._kernels, "replay", name,
                                    self.backend if backend is None else backend)

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
