"""The seed environments as gymnasium environments, registered on import.

``import fastpg.envs`` registers:

* ``fastpg/ThreeStateMDP-v0``: the three-state MDP of the policy-gradient
  paper notebook (:class:`ThreeStateMDP`).

Then ``gymnasium.make("fastpg/ThreeStateMDP-v0")``; or without the import,
``gymnasium.make("fastpg.envs:fastpg/ThreeStateMDP-v0")``.
"""
from __future__ import annotations

import gymnasium

from .three_state import ThreeStateMDP

__all__ = ["ThreeStateMDP"]

_ENVS = {
    "fastpg/ThreeStateMDP-v0": "fastpg.envs.three_state:ThreeStateMDP",
}

for _id, _entry in _ENVS.items():
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point=_entry)
