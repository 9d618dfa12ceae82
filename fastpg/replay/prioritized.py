"""Proportional prioritized replay over a sum tree."""
from __future__ import annotations

import math

import numpy as np

from .. import _checks as C
from ._archive import _stored
from .buffer import ReplayBuffer
from .sumtree import SumTree, _priorities


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
        return self._p_top(priorities, shape)[0]

    def _p_top(self, priorities, shape):
        """(p = priority + eps as flat float64, the largest p) (a scalar is
        broadcast to shape). Priorities must be finite and >= 0, and p**alpha
        finite (it is what the tree stores: an infinite total would make
        every sample the last leaf)."""
        pr, hi = _priorities(priorities, shape)
        try:
            ok = math.isfinite((float(hi) + self._eps) ** self._alpha)
        except OverflowError:
            ok = False
        if not ok:
            raise ValueError(f"priorities: ({float(hi)!r} + eps) ** alpha = "
                             f"({float(hi)!r} + {self._eps}) ** {self._alpha} is not finite; "
                             "rescale the priorities or lower alpha")
        # max(p) = fl(hi + eps) exactly: rounding is monotone
        return pr.reshape(-1) + self._eps, float(hi) + self._eps

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
        p, top = self._p_top(priorities, idx.shape)
        if not p.size:
            return 0
        with self._lock:
            W, Cap = self._added, self._capacity
            lo = max(W - Cap, 0)
            # live indices lie in [lo, W): one pass over idx - lo as unsigned
            # integers (a smaller index wraps to a huge one)
            if idx.dtype == np.int64 and (idx if not lo else idx - lo).view(np.uint64).max() \
                    < W - lo:
                slots = idx % Cap if W > Cap else idx
            else:  # a diagnosis, or stale indices to drop
                idx = C.index_array(idx, "indices", idx.shape[0], W, "total_added",
                                    allow_float=False)
                live = idx >= W - Cap
                idx, p = idx[live], p[live]
                if not idx.size:
                    return 0
                slots = idx % Cap
                top = float(p.max())
            self._max_p = max(self._max_p, top)
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
