"""Ape-X on Ray (Horgan et al. 2018): actors that explore and prioritise,
one learner that replays from sharded prioritized replay.

Two :class:`fastpg.distributed.RolloutWorker` actors step 8 compiled
GridWorlds each (``fastpg/GridWorldObstacle-v0``, the Neuromatch 9×10 room with
its obstacle; the goal is 8 steps from the start) ε-greedily
on the Q table they were last sent, with Ape-X's spread of exploration
(ε_i = 0.4^(1 + 7 i / (n - 1)): 0.4 and 0.0007 for two actors). Each computes
the initial priorities of its transitions, |r + γ max_a Q(s', a) - Q(s, a)|,
and adds them to its own :class:`fastpg.distributed.ReplayServer` (one shard
per node on a cluster). The learner samples batches of 256 over both shards
through :class:`fastpg.distributed.ShardedReplay` (one buffer's sampling law
and importance weights), applies :func:`fastpg.q_learning` with step sizes
α·w_i, writes the new |TD errors| back as priorities, and sends the actors
its Q table with each new task.

Run: ``python examples/ray_apex_gridworld.py`` (a local Ray with 2 CPUs). On a
cluster: ``--address auto`` on the head node; create each ReplayServer with
``.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))``
on its node and give the actors of that node its handle; the learner talks
to every shard. Prints the learning curve: transitions collected, learner
updates, wall time and the greedy policy's return from the start (10 is the
goal reached without bumping a wall).
"""
import argparse
import time

import numpy as np

import fastpg
from fastpg.agents._common import greedy_episode
from fastpg.envs import GridWorld


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--envs", type=int, default=8, help="envs per actor")
    ap.add_argument("--updates", type=int, default=150, help="learner batches")
    ap.add_argument("--gamma", type=float, default=0.9)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--address", default=None, help="a Ray cluster (default: a local one)")
    args = ap.parse_args(argv)

    import ray

    from fastpg.distributed import ReplayServer, RolloutWorker, ShardedReplay, init
    init(args.address)  # a cluster, or a local Ray with 2 CPUs
    try:
        Q = np.zeros((90, 4))
        n = args.actors
        eps = [0.4 ** (1 + 7 * i / max(n - 1, 1)) for i in range(n)]
        shards = [ReplayServer.remote(100_000, (), np.int64, alpha=0.6, seed=args.seed + k)
                  for k in range(n)]
        replay = ShardedReplay(shards, beta=0.4)
        workers = [RolloutWorker.remote("fastpg/GridWorldObstacle-v0", num_envs=args.envs,
                                        seed=args.seed + k) for k in range(n)]

        def task(k):
            return workers[k].transitions.remote(32, eps[k], args.gamma, shards[k],
                                                 params=Q.copy())

        pending = {task(k): k for k in range(n)}
        rng = np.random.default_rng(args.seed)
        env = GridWorld("obstacle")
        added = [0] * n
        t0 = time.perf_counter()
        print("update  transitions  wall s  greedy return")
        update = 0
        while update < args.updates:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0)
            for ref in done:
                k = pending.pop(ref)
                added[k] = ray.get(ref)["added"]
                pending[task(k)] = k
            if sum(added) < 2_000:  # a first fill before learning
                ray.wait(list(pending), num_returns=1)
                continue
            b = replay.sample(256, rng)
            td = fastpg.q_learning(Q, b.obs, b.action, b.reward, b.next_obs, b.terminated,
                                   args.gamma, args.alpha * b.weights)
            replay.update_priorities(b.shards, b.indices, np.abs(td))
            update += 1
            if update % 10 == 0 or update == args.updates:
                ret, _ = greedy_episode(lambda s, greedy: int(np.argmax(Q[s])), env,
                                        max_steps=200)
                print(f"{update:6d} {sum(added):12d} {time.perf_counter() - t0:7.1f}  "
                      f"{ret:13.1f}", flush=True)
        ret, length = greedy_episode(lambda s, greedy: int(np.argmax(Q[s])), env, max_steps=200)
        print(f"Ape-X on fastpg/GridWorldObstacle-v0: {update} updates, {sum(added)} transitions in "
              f"{time.perf_counter() - t0:.1f} s; greedy return {ret:.1f} in {length} steps")
        return ret
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
