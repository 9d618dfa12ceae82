"""Next observations not stored (``store_next_obs=False``): each is read
from the slot of the env's next transition; the ones that cannot be read
there (after an episode end, at the write head, or where the next ``obs``
differs) go to a side store, ``_ref[slot]`` naming their row in it."""
from __future__ import annotations

import numpy as np


class Elision:
    """Writing and reading the elided next observations (a mixin of
    :class:`~fastpg.replay.ReplayBuffer`)."""

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

    def _next_obs(self, boot):
        """next_obs not stored: the obs of the env's next slot, or the side store."""
        out = self._gather_field("obs", (boot + self._n_envs) % self._capacity)
        ref = self._ref[boot]
        side = ref >= 0
        if side.any():
            out[side] = self._side[ref[side]]
        return out
