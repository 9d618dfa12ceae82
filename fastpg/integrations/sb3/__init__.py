"""fastpg inside Stable-Baselines3 (``pip install 'fastpg[sb3]'``).

One-line changes to an SB3 script:

* ``PPO(..., rollout_buffer_class=RolloutBuffer)`` (or ``A2C``): advantages
  and returns by :func:`fastpg.gae`, equal to SB3's own.
* ``DQN / SAC / TD3(..., replay_buffer_class=ReplayBuffer)``: storage and
  sampling by :class:`fastpg.ReplayBuffer`; ``NStepReplayBuffer`` for n-step
  returns (``replay_buffer_kwargs={"n_steps": 3, "gamma": 0.99}``).
* ``PrioritizedDQN(...)``: DQN with proportional prioritized replay
  (importance-weighted loss, |TD error| priorities written back), over
  :class:`PrioritizedReplayBuffer`, which SB3 lacks.
"""
try:
    import stable_baselines3  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("fastpg.integrations.sb3 needs Stable-Baselines3 and PyTorch: "
                      "pip install 'fastpg[sb3]'") from exc

from .dqn import PrioritizedDQN
from .replay import (NStepReplayBuffer, PrioritizedReplayBuffer, PrioritizedReplayBufferSamples,
                     ReplayBuffer)
from .rollout import ExactTruncation, RolloutBuffer

__all__ = ["RolloutBuffer", "ExactTruncation", "ReplayBuffer", "NStepReplayBuffer",
           "PrioritizedReplayBuffer", "PrioritizedReplayBufferSamples", "PrioritizedDQN"]
