"""fastpg on Ray (extra ``fastpg[ray]``): prioritized replay shards that many
actors feed and one learner samples (Ape-X, Horgan et al. 2018), and rollout
workers that ship trajectories with their behaviour log-probabilities to a
learner that corrects the policy lag with :func:`fastpg.vtrace` (IMPALA,
Espeholt et al. 2018). Ray schedules the actors, moves the arrays through
its object store and restarts what crashes; fastpg supplies the buffers and
the kernels.

* :class:`ReplayServer`: a Ray actor holding one
  :class:`fastpg.PrioritizedReplayBuffer` (:mod:`fastpg.distributed.replay`);
* :class:`ShardedReplay`: the learner's view of K servers as one buffer
  (the same sampling law and importance weights);
* :class:`RolloutWorker`: a Ray actor stepping a vector env with the policy
  the learner broadcasts (:mod:`fastpg.distributed.workers`).

On one machine: ``ray.init(num_cpus=2)``; on a cluster: ``ray.init(address=
"auto")`` on the head node, one ``ReplayServer`` per node (pass
``scheduling_strategy`` or a node resource in ``.options(...)``), workers
anywhere. The runnable examples are ``examples/ray_apex_gridworld.py`` and
``examples/ray_impala_cartpole.py``.
"""
from ._ray import ray
from .replay import ReplayServer, ReplayServerCore, ShardedReplay
from .workers import RolloutWorker, RolloutWorkerCore

__all__ = ["ReplayServer", "ReplayServerCore", "ShardedReplay", "RolloutWorker",
           "RolloutWorkerCore", "init"]


def init(address=None, num_cpus=2):
    """Connect to the Ray cluster at ``address`` ("auto" on a cluster's node),
    or start a local one with ``num_cpus`` CPUs, no dashboard and the
    workers' output kept out of this process's (what the tests, examples and
    benchmarks use); returns ``ray.init``'s context."""
    if address:
        return ray.init(address=address)
    return ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                    configure_logging=False)
