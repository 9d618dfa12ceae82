"""Prioritized replay on Ray: a server actor per shard, and the learner's view
of all shards as one buffer.

:class:`ReplayServer` is a Ray actor class holding one
:class:`fastpg.PrioritizedReplayBuffer` (every option of it: n-step sampling,
extra fields, ``n_envs``, alpha, beta, eps). Actors add chunks of
transitions with their own initial priorities (Ape-X computes |TD errors|
where the data is collected); arrays travel through Ray's object store as
NumPy arrays, never as per-transition Python objects.

:class:`ShardedReplay` is the learner's handle on K servers. ``sample(B)``
reads each shard's total priority T_k = Σ p^α, draws how many of the B
transitions each shard gives from the multinomial with probabilities
T_k / T (T = Σ_k T_k), and has every shard sample its share (stratified
within the shard). Each sampled transition i of shard k then has the
probability (T_k / T) · (p_i^α / T_k) = p_i^α / T of a buffer holding
everything, and its importance weight uses the global N = Σ_k N_k and the
global minimum probability: w_i = (p_min / p_i^α)^β with p_min the smallest
positive p^α over all shards, as :class:`fastpg.PrioritizedReplayBuffer`
computes it for one buffer. ``update_priorities`` sends each shard its
indices; a shard skips those whose transitions it has overwritten since
they were sampled (the local buffer's rule).

Checkpoints: a server given ``checkpoint=PATH`` writes its buffer there with
``save()`` (the buffer's atomic save) and, when Ray restarts it after a crash
(the actor class has ``max_restarts=-1``), starts from that file: it loses
only what was added after the last save.
"""
from __future__ import annotations

import os

import numpy as np

from .. import _checks as C
from ..replay import Batch, PrioritizedReplayBuffer
from ._ray import ray


class ReplayServerCore:
    """The state and methods of :class:`ReplayServer` (a plain class: Ray
    wraps it; tests and single-process runs can use it directly).

    ``ReplayServer.remote(capacity, obs_shape, ..., checkpoint=None, seed=None,
    **options)``: the arguments of :class:`fastpg.PrioritizedReplayBuffer`,
    plus ``checkpoint`` (a path for :meth:`save` and for the restart after a
    crash) and ``seed`` (of the shard's own generator, used when ``sample``
    gets no seed).
    """

    def __init__(self, capacity, obs_shape, obs_dtype=np.float32, action_shape=(),
                 action_dtype=np.int64, n_envs=1, *, checkpoint=None, seed=None, **options):
        self.buffer = PrioritizedReplayBuffer(capacity, obs_shape, obs_dtype, action_shape,
                                              action_dtype, n_envs, **options)
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.rng = np.random.default_rng(seed)
        self.restored = False
        if self.checkpoint is not None and os.path.exists(self.checkpoint):
            self.buffer.load(self.checkpoint)  # a restart: continue from the last save
            self.restored = True

    def add(self, obs, action, reward, next_obs, terminated, truncated=None, *,
            priorities=None, **fields):
        """``extend`` the buffer with a chunk ((T, ...) or (T, n_envs, ...));
        returns the number of transitions added so far."""
        self.buffer.extend(obs, action, reward, next_obs, terminated, truncated,
                           priorities=priorities, **fields)
        return self.buffer.total_added

    def stats(self):
        """(T_k = Σ p^α, N_k = len, the smallest positive p^α, total_added)."""
        tree = self.buffer._tree
        return (float(tree.total), len(self.buffer), float(tree.min_priority),
                self.buffer.total_added)

    def sample(self, batch_size, seed=None, n_step=1, gamma=None, beta=None):
        """The buffer's prioritized sample of ``batch_size`` (its generator seeded
        with ``seed``, else the shard's own), plus ``priorities``: the p^α of
        each sampled transition (for weights over all shards)."""
        rng = self.rng if seed is None else np.random.default_rng(seed)
        with self.buffer._lock:  # no add (the other thread) between the two
            batch = self.buffer.sample(batch_size, rng, n_step=n_step, gamma=gamma, beta=beta)
            batch["priorities"] = self.buffer.get_priorities(batch["indices"])
        return batch

    def update_priorities(self, indices, priorities):
        """The buffer's ``update_priorities``: the number applied (stale skipped)."""
        return self.buffer.update_priorities(indices, priorities)

    def save(self, path=None):
        """Write the buffer to ``path`` (default: the server's ``checkpoint``)
        atomically; returns total_added at the save."""
        path = self.checkpoint if path is None else os.fspath(path)
        if path is None:
            raise ValueError("save: give a path, or create the server with checkpoint=PATH")
        self.buffer.save(path)
        return self.buffer.total_added

    def load(self, path=None):
        """Replace the buffer's contents with the file at ``path`` (default:
        the server's ``checkpoint``); returns total_added."""
        path = self.checkpoint if path is None else os.fspath(path)
        if path is None:
            raise ValueError("load: give a path, or create the server with checkpoint=PATH")
        self.buffer.load(path)
        return self.buffer.total_added

    def info(self):
        return dict(len=len(self.buffer), total_added=self.buffer.total_added,
                    capacity=self.buffer.capacity, restored=self.restored,
                    pid=os.getpid())


# Two threads, each running its group's calls in order: the actors' adds, and
# the learner's calls, which then do not queue behind adds (the buffer is
# thread-safe, its kernels release the GIL)
for _name in ("add", "save", "load"):
    setattr(ReplayServerCore, _name,
            ray.method(concurrency_group="add")(getattr(ReplayServerCore, _name)))
for _name in ("stats", "sample", "update_priorities", "info"):
    setattr(ReplayServerCore, _name,
            ray.method(concurrency_group="learner")(getattr(ReplayServerCore, _name)))

#: the Ray actor class (restarted by Ray after a crash, from its checkpoint)
ReplayServer = ray.remote(max_restarts=-1, max_task_retries=0,
                          concurrency_groups={"add": 1, "learner": 1})(ReplayServerCore)


class ShardedReplay:
    """The learner's view of K :class:`ReplayServer` shards as one prioritized
    buffer (see the module docstring for the sampling law and the weights).

    ``ShardedReplay(servers, beta=0.4)``: ``servers`` a list of actor handles.
    """

    def __init__(self, servers, beta=0.4):
        servers = list(servers)
        if not servers:
            raise ValueError("servers: give at least one ReplayServer handle")
        self.servers = servers
        self.beta = C.real_number(beta, "beta", 0.0, 1.0)

    def stats(self):
        """Per shard: (T_k, N_k, smallest positive p^α, total_added)."""
        return ray.get([s.stats.remote() for s in self.servers])

    def __len__(self):
        return sum(st[1] for st in self.stats())

    def sample(self, batch_size, rng=None, *, n_step=1, gamma=None, beta=None):
        """A prioritized sample of ``batch_size`` over all shards: a
        :class:`fastpg.replay.Batch` with every field of the shards' batches,
        ``shards`` (which shard each row came from), ``indices`` (within its
        shard) and the global importance ``weights``."""
        batch_size = C.positive_int(batch_size, "batch_size")
        beta = self.beta if beta is None else C.real_number(beta, "beta", 0.0, 1.0)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        st = self.stats()
        totals = np.array([s[0] for s in st])
        if not totals.sum() > 0:
            raise ValueError("cannot sample: the shards hold no transition with a "
                             "positive priority")
        counts = rng.multinomial(batch_size, totals / totals.sum())
        seeds = rng.integers(0, 2**63, len(self.servers))
        refs = {k: self.servers[k].sample.remote(int(c), int(seeds[k]), n_step, gamma, beta)
                for k, c in enumerate(counts) if c > 0}
        parts = dict(zip(refs, ray.get(list(refs.values()))))
        order = sorted(parts)
        out = Batch({name: np.concatenate([parts[k][name] for k in order])
                     for name in parts[order[0]]})
        out["shards"] = np.repeat(np.array(order, np.int64), [counts[k] for k in order])
        p_min = min(s[2] for s in st)
        w = (p_min / out.pop("priorities")) ** beta
        out["weights"] = w.astype(np.float32)
        return out

    def update_priorities(self, shards, indices, priorities, wait=True):
        """Set the priorities of sampled transitions (``batch.shards``,
        ``batch.indices``); each shard skips its stale ones. Returns the
        number applied over all shards; with ``wait=False`` it returns at once
        with the shards' ObjectRefs (a shard runs the learner's calls on one
        thread in the order sent, so the next ``sample`` sees the new
        priorities: one round trip less per batch)."""
        # what can be checked here is checked before any shard changes (a
        # shard still rejects an index it never stored)
        if np.ndim(indices) != 1:
            raise ValueError(f"indices must be 1-D (batch.indices); got shape "
                             f"{np.shape(indices)}")
        n = np.shape(indices)[0]
        shards = C.index_array(shards, "shards", n, len(self.servers), "the number of shards",
                               allow_float=False)
        indices = C.index_array(indices, "indices", n, 2**62, "2**62", allow_float=False)
        pr = np.broadcast_to(np.asarray(priorities, np.float64), indices.shape)
        if pr.size and not (np.isfinite(pr).all() and pr.min() >= 0):
            raise ValueError("priorities must be finite and >= 0")
        refs = [self.servers[k].update_priorities.remote(indices[shards == k], pr[shards == k])
                for k in np.unique(shards).tolist()]
        return int(sum(ray.get(refs))) if wait else refs
