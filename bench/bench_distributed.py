"""Prioritized replay on Ray (fastpg.bench.distributed): the cost of one Ray
actor call and of moving a chunk through the object store, transitions
added per second by 1 and 2 actors into 1 and 2 shards while a learner
samples (batches of 256 plus their priority updates), and the same buffer
work in one process, all in this run.

Run: ``python bench/bench_distributed.py`` (a local Ray with 2 CPUs; prints the
table). Under pytest (``pytest bench/bench_distributed.py``; CI runs it with
``--benchmark-disable``) each measurement runs briefly and its results are
checked: rates positive, and the learner's samples came from every shard.
"""
import sys

import pytest

try:
    from tests.conftest import local_ray, need  # noqa: F401  (the fixture)
except ImportError:  # run as a script (python bench/bench_distributed.py)
    need = __import__

ray = need("ray")
pytestmark = pytest.mark.usefixtures("local_ray")


def test_call_overheads():
    from fastpg.bench import distributed as D
    out = D.call_overheads(chunks=(64, 1024), rounds=3)
    assert set(out) == {"noop", "add_64", "add_1024"} and all(v > 0 for v in out.values())


@pytest.mark.parametrize("n_actors, n_shards", [(1, 1), (2, 2)])
def test_sharded_throughput(n_actors, n_shards):
    from fastpg.bench import distributed as D
    out = D.sharded_throughput(n_actors, n_shards, seconds=0.5, chunk=256, capacity=1 << 14)
    assert out["added_per_s"] > 0 and out["sampled_per_s"] > 0


def test_local_throughput():
    from fastpg.bench import distributed as D
    out = D.local_throughput(seconds=0.2, chunk=256, capacity=1 << 14)
    assert out["added_per_s"] > 0 and out["sampled_per_s"] > 0


def main():
    from fastpg.bench import distributed as D
    from fastpg.distributed import init
    init()
    try:
        ov = D.call_overheads()
        print(f"Ray {ray.__version__}: a no-op actor call {ov['noop'] * 1e3:.2f} ms round trip; "
              + ", ".join(f"add of {k[4:]} transitions {v * 1e3:.2f} ms"
                          for k, v in ov.items() if k != "noop"))
        loc = D.local_throughput()
        print(f"one process, one buffer: add {loc['added_per_s'] / 1e6:.2f} M transitions/s "
              f"(chunks of 1024), sample+update {loc['sampled_per_s'] / 1e6:.2f} M/s (256)")
        print("actors  shards  added M/s  learner sampled M/s (256 + update, same time)")
        for n_actors, n_shards in [(1, 1), (2, 1), (1, 2), (2, 2)]:
            r = D.sharded_throughput(n_actors, n_shards)
            print(f"{n_actors:6d}  {n_shards:6d}  {r['added_per_s'] / 1e6:9.3f}  "
                  f"{r['sampled_per_s'] / 1e6:9.3f}", flush=True)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
