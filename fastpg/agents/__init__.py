"""Small agents built only from fastpg's public kernels.

* :class:`Reinforce`: linear-softmax REINFORCE (return normalisation,
  baselines, Adam/SGD), on any Box-observation / Discrete-action env or
  vector env.
* :class:`CompatibleActorCritic`: the actor-critic with compatible features of
  Sutton et al. (2000).

Each has ``train(env, episodes=..., seed=...) -> History``.
"""
from ._common import History
from .actor_critic import CompatibleActorCritic
from .reinforce import CARTPOLE, Reinforce

__all__ = ["History", "Reinforce", "CompatibleActorCritic", "CARTPOLE"]
