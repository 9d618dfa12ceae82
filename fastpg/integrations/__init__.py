"""Adapters that put fastpg inside the training loops people already run.

* :mod:`fastpg.integrations.sb3` (``pip install 'fastpg[sb3]'``): buffers for
  Stable-Baselines3 (``rollout_buffer_class=`` / ``replay_buffer_class=``),
  prioritized replay, and :class:`~fastpg.integrations.sb3.PrioritizedDQN`.

Each adapter is a thin layer over fastpg's own kernels and buffers; it is
imported only when asked for, so fastpg itself never needs the library.
PyTorch tensors are accepted by the kernel functions directly (see
:mod:`fastpg._interop`).
"""
