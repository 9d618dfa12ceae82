"""The seed environments as gymnasium environments, registered on import.

``import fastpg.envs`` registers:

* ``fastpg/ThreeStateMDP-v0``: the three-state MDP of the policy-gradient
  paper notebook (:class:`ThreeStateMDP`);
* ``fastpg/HOMLMDP-v0``: the HOML chapter's three-state MDP with impossible
  actions (:func:`homl_mdp`, a :class:`TabularMDP`);
* ``fastpg/GridWorld-v0`` (``layout="simple"``) and
  ``fastpg/GridWorldObstacle-v0`` (``layout="obstacle"``): the Neuromatch
  9×10 GridWorld (:class:`GridWorld`; pass ``observation_type=...``);
  ``gymnasium.make`` gives these Python envs, ``gymnasium.make_vec(id,
  num_envs=N)`` their compiled vector forms (:mod:`fastpg.envs.tabular_vector`:
  :class:`ThreeStateMDPVectorEnv`, :func:`homl_mdp_vector`,
  :class:`GridWorldVectorEnv`; any :class:`TabularMDP` as
  :class:`TabularMDPVectorEnv`), which step as a ``SyncVectorEnv`` of them;
* ``fastpg/CartPole-v1``, ``fastpg/MountainCar-v0``, ``fastpg/Acrobot-v1``:
  gymnasium's classic-control envs on fastpg's compiled kernels, as vector envs
  (``gymnasium.make_vec("fastpg/CartPole-v1", num_envs=N)``,
  :class:`CartPoleVectorEnv`, :class:`MountainCarVectorEnv`,
  :class:`AcrobotVectorEnv`) or one env (:class:`CartPoleEnv`,
  :class:`MountainCarEnv`, :class:`AcrobotEnv`).

Then ``gymnasium.make("fastpg/ThreeStateMDP-v0")``; or without the import,
``gymnasium.make("fastpg.envs:fastpg/ThreeStateMDP-v0")``.
"""
from __future__ import annotations

import gymnasium

from .acrobot import AcrobotEnv, AcrobotVectorEnv
from .cartpole import CartPoleEnv, CartPoleVectorEnv
from .gridworld import GridWorld
from .mountain_car import MountainCarEnv, MountainCarVectorEnv
from .tabular_mdp import TabularMDP, homl_mdp
from .tabular_vector import (GridWorldVectorEnv, TabularMDPVectorEnv, ThreeStateMDPVectorEnv,
                             homl_mdp_vector)
from .three_state import ThreeStateMDP

__all__ = ["ThreeStateMDP", "TabularMDP", "homl_mdp", "GridWorld", "CartPoleEnv",
           "CartPoleVectorEnv", "MountainCarEnv", "MountainCarVectorEnv", "AcrobotEnv",
           "AcrobotVectorEnv", "GridWorldVectorEnv", "ThreeStateMDPVectorEnv",
           "TabularMDPVectorEnv", "homl_mdp_vector"]

_ENVS = {  # id -> (Python env, compiled vector env, kwargs)
    "fastpg/ThreeStateMDP-v0": ("three_state:ThreeStateMDP", "ThreeStateMDPVectorEnv", {}),
    "fastpg/HOMLMDP-v0": ("tabular_mdp:homl_mdp", "homl_mdp_vector", {}),
    "fastpg/GridWorld-v0": ("gridworld:GridWorld", "GridWorldVectorEnv", {"layout": "simple"}),
    "fastpg/GridWorldObstacle-v0": ("gridworld:GridWorld", "GridWorldVectorEnv",
                                    {"layout": "obstacle"}),
}

for _id, (_entry, _vector, _kw) in _ENVS.items():
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="fastpg.envs." + _entry,
                           vector_entry_point="fastpg.envs.tabular_vector:" + _vector, kwargs=_kw)
_COMPILED = {  # id -> (module:class prefix, time limit, reward threshold)
    "fastpg/CartPole-v1": ("fastpg.envs.cartpole:CartPole", 500, 475.0),
    "fastpg/MountainCar-v0": ("fastpg.envs.mountain_car:MountainCar", 200, -110.0),
    "fastpg/Acrobot-v1": ("fastpg.envs.acrobot:Acrobot", 500, -100.0),
}
for _id, (_entry, _limit, _threshold) in _COMPILED.items():
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point=_entry + "Env",
                           vector_entry_point=_entry + "VectorEnv",
                           max_episode_steps=_limit, reward_threshold=_threshold)
