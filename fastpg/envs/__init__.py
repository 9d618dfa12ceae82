"""The seed environments as gymnasium environments, registered on import.

``import fastpg.envs`` registers:

* ``fastpg/ThreeStateMDP-v0``: the three-state MDP of the policy-gradient
  paper notebook (:class:`ThreeStateMDP`);
* ``fastpg/HOMLMDP-v0``: the HOML chapter's three-state MDP with impossible
  actions (:func:`homl_mdp`, a :class:`TabularMDP`);
* ``fastpg/GridWorld-v0`` (``layout="simple"``) and
  ``fastpg/GridWorldObstacle-v0`` (``layout="obstacle"``): the Neuromatch
  9×10 GridWorld (:class:`GridWorld`; pass ``observation_type=...``);
* ``fastpg/CartPole-v1``: CartPole-v1 on fastpg's compiled kernel, as a
  vector env (``gymnasium.make_vec("fastpg/CartPole-v1", num_envs=N)``,
  :class:`CartPoleVectorEnv`) or one env (:class:`CartPoleEnv`).

Then ``gymnasium.make("fastpg/ThreeStateMDP-v0")``; or without the import,
``gymnasium.make("fastpg.envs:fastpg/ThreeStateMDP-v0")``.
"""
from __future__ import annotations

import gymnasium

from .cartpole import CartPoleEnv, CartPoleVectorEnv
from .gridworld import GridWorld
from .tabular_mdp import TabularMDP, homl_mdp
from .three_state import ThreeStateMDP

__all__ = ["ThreeStateMDP", "TabularMDP", "homl_mdp", "GridWorld", "CartPoleEnv",
           "CartPoleVectorEnv"]

_ENVS = {
    "fastpg/ThreeStateMDP-v0": ("fastpg.envs.three_state:ThreeStateMDP", {}),
    "fastpg/HOMLMDP-v0": ("fastpg.envs.tabular_mdp:homl_mdp", {}),
    "fastpg/GridWorld-v0": ("fastpg.envs.gridworld:GridWorld", {"layout": "simple"}),
    "fastpg/GridWorldObstacle-v0": ("fastpg.envs.gridworld:GridWorld", {"layout": "obstacle"}),
}

for _id, (_entry, _kw) in _ENVS.items():
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point=_entry, kwargs=_kw)
if "fastpg/CartPole-v1" not in gymnasium.registry:
    gymnasium.register(id="fastpg/CartPole-v1", entry_point="fastpg.envs.cartpole:CartPoleEnv",
                       vector_entry_point="fastpg.envs.cartpole:CartPoleVectorEnv",
                       max_episode_steps=500, reward_threshold=475.0)
