"""Small agents built only from fastpg's public kernels.

* :class:`Reinforce`: linear-softmax REINFORCE (return normalisation,
  baselines, Adam/SGD), on any Box-observation / Discrete-action env or
  vector env.
* :class:`CompatibleActorCritic`: the actor-critic with compatible features of
  Sutton et al. (2000).

* :class:`QLearning`, :class:`Sarsa`, :class:`ExpectedSarsa`,
  :class:`DoubleQLearning`: tabular control for Discrete envs.
* :class:`ReplayQ`: DQN-style Q-learning (ε-greedy collection, n-step
  prioritized replay, priorities from TD errors, a target copy) with a
  linear / tabular Q-function.

Each has ``train(env, episodes=..., seed=...) -> History``.
"""
from ._common import History
from .actor_critic import CompatibleActorCritic
from .reinforce import CARTPOLE, Reinforce
from .replay_q import ReplayQ
from .tabular import DoubleQLearning, ExpectedSarsa, QLearning, Sarsa

__all__ = ["History", "Reinforce", "CompatibleActorCritic", "CARTPOLE", "QLearning", "Sarsa",
           "ExpectedSarsa", "DoubleQLearning", "ReplayQ"]
