"""Prioritized replay on Ray, measured (bench/bench_distributed.py prints the
table; the numbers in the README come from it): what one Ray actor call and
one object-store transfer cost, how many transitions actors add per second
into one or two :class:`fastpg.distributed.ReplayServer` shards while a
learner samples from them, and the same buffer work in one process.

Every call here needs a running Ray (``ray.init``).
"""
from __future__ import annotations

import time

import numpy as np

OBS_DIM = 4
BATCH = 256


def _transitions(n, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, OBS_DIM)).astype(np.float32)
    return (obs, rng.integers(0, 2, n), rng.standard_normal(n).astype(np.float32), obs,
            rng.random(n) < 0.01, np.zeros(n, bool)), rng.random(n)


class Feeder:
    """A Ray actor standing in for an Ape-X actor's data path: it adds the same
    chunk of transitions (with priorities) to its shard as fast as the shard
    takes them, two calls in flight."""

    def __init__(self, server, chunk, seed=0):
        self.server = server
        self.data, self.prio = _transitions(chunk, seed)

    def run(self, seconds):
        from ..distributed._ray import ray
        end = time.perf_counter() + seconds
        inflight, added = [], 0
        while time.perf_counter() < end or inflight:
            if time.perf_counter() < end and len(inflight) < 2:
                inflight.append(self.server.add.remote(*self.data, priorities=self.prio))
                continue
            [done], inflight = ray.wait(inflight, num_returns=1)
            ray.get(done)
            added += len(self.prio)
        return added


def call_overheads(chunks=(64, 1024, 16384), rounds=30):
    """Median seconds of: a no-op round trip to a ReplayServer (``stats``), and
    ``add`` of a chunk of each size from the driver (the arrays go through
    the object store), per call."""
    from ..distributed import ReplayServer
    from ..distributed._ray import ray
    server = ReplayServer.remote(1 << 20, (OBS_DIM,))
    ray.get(server.stats.remote())
    out = {"noop": _median(lambda: ray.get(server.stats.remote()), rounds)}
    for c in chunks:
        data, prio = _transitions(c)
        out[f"add_{c}"] = _median(lambda: ray.get(server.add.remote(*data, priorities=prio)),
                                  rounds)
    ray.kill(server)
    return out


def _median(fn, rounds):
    fn()
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def sharded_throughput(n_actors, n_shards, seconds=3.0, chunk=1024, capacity=1 << 20):
    """Transitions/s added by ``n_actors`` feeders (actor i feeds shard i mod
    n_shards) and transitions/s the learner samples (batches of 256, each
    followed by a priority update it does not wait for) at the same time,
    over ``seconds``."""
    from ..distributed import ReplayServer, ShardedReplay
    from ..distributed._ray import ray
    servers = [ReplayServer.remote(capacity, (OBS_DIM,), seed=k) for k in range(n_shards)]
    data, prio = _transitions(chunk)
    ray.get([s.add.remote(*data, priorities=prio) for s in servers])  # something to sample
    feeder = ray.remote(Feeder)
    feeders = [feeder.remote(servers[i % n_shards], chunk, seed=i) for i in range(n_actors)]
    ray.get([f.__ray_ready__.remote() for f in feeders])
    replay = ShardedReplay(servers)
    rng = np.random.default_rng(0)
    runs = [f.run.remote(seconds) for f in feeders]
    t0 = time.perf_counter()
    sampled = 0
    while time.perf_counter() - t0 < seconds:
        b = replay.sample(BATCH, rng)
        replay.update_priorities(b.shards, b.indices, rng.random(BATCH), wait=False)
        sampled += BATCH
    learner_s = time.perf_counter() - t0
    added = sum(ray.get(runs))
    wall = time.perf_counter() - t0
    for a in feeders + servers:
        ray.kill(a)
    return {"added_per_s": added / wall, "sampled_per_s": sampled / learner_s}


def local_throughput(seconds=1.0, chunk=1024, capacity=1 << 20):
    """The same work in one process, one buffer: (extend of a chunk, then a
    sample of 256 and its priority update) in turns; transitions/s of each."""
    from ..replay import PrioritizedReplayBuffer
    buf = PrioritizedReplayBuffer(capacity, (OBS_DIM,))
    data, prio = _transitions(chunk)
    buf.extend(*data, priorities=prio)
    rng = np.random.default_rng(0)
    t_add = t_sample = 0.0
    added = sampled = 0
    while t_add + t_sample < seconds:
        t0 = time.perf_counter()
        buf.extend(*data, priorities=prio)
        t1 = time.perf_counter()
        b = buf.sample(BATCH, rng)
        buf.update_priorities(b.indices, rng.random(BATCH))
        t2 = time.perf_counter()
        t_add += t1 - t0
        t_sample += t2 - t1
        added += chunk
        sampled += BATCH
    return {"added_per_s": added / t_add, "sampled_per_s": sampled / t_sample}
