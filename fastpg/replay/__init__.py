"""Replay storage: ring buffers with uniform and prioritized sampling.

* :class:`ReplayBuffer`: a ring of ``capacity`` transitions (obs, action,
  reward, next_obs, terminated, truncated, plus extra named fields) written
  by one or ``n_envs`` parallel environments; uniform sampling with
  replacement; n-step returns computed at sample time.
* :class:`PrioritizedReplayBuffer`: proportional prioritized replay (Schaul et
  al., 2016) over a :class:`SumTree`.
* :class:`SumTree`: the float64 sum tree and min tree underneath.

The classes orchestrate the registry kernels of the ``replay`` family
(``ring_write``, ``gather_rows``, ``uniform_sample``, ``uniform_gather``,
``nstep_gather``, ``tree_update``, ``tree_sample``, ``importance_weights``;
exact semantics in :mod:`fastpg.reference.replay`), so every backend returns
the same samples for the same seed.

Slots and indices. With ``n_envs`` = E the ring has ``capacity / E`` rows of E
slots; a step of the vector env fills one row, env e in slot ``row * E + e``,
so the next step of the same env is ``E`` slots later (mod capacity). Every
transition gets an *index* when it is added: 0, 1, 2, ... in order of
writing (row-major, env fastest); it lives in slot ``index % capacity``
until ``capacity`` more transitions have been added. Sampled batches carry
these indices, and ``update_priorities`` ignores an index whose transition
has been overwritten since it was sampled.

Episode flags follow gymnasium. ``terminated``: the MDP ended, ``next_obs``
is terminal and is never bootstrapped from. ``truncated``: the episode was
cut (time limit); ``next_obs`` is the final observation and *is*
bootstrapped from. The transitions of each env must be added in order; the
next transition's ``obs`` is normally the previous ``next_obs``. With
gymnasium's vector envs in the default ``NEXT_STEP`` autoreset mode, the step
after an episode end is a reset step whose action is ignored: do not add it.
"""
from .buffer import ReplayBuffer
from ._layout import Batch
from .prioritized import PrioritizedReplayBuffer
from .sumtree import SumTree

__all__ = ["Batch", "ReplayBuffer", "PrioritizedReplayBuffer", "SumTree"]

# one public home (pickles, reprs, docs), wherever the class is defined
for _cls in (Batch, ReplayBuffer, PrioritizedReplayBuffer, SumTree):
    _cls.__module__ = __name__
del _cls
