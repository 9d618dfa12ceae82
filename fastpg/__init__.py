"""fastpg: compiled reinforcement-learning kernels.

Every kernel has a plain NumPy reference (``fastpg.reference``), a Numba
kernel (``fastpg._numba``) and a Cython kernel (``fastpg._cy``) under one
validated API. Importing fastpg is cheap: numba is imported only when a numba
kernel is first used.
"""
from ._backend import (BackendUnavailable, available, available_backends, get_backend,
                       set_backend, use_backend, why_unavailable)
from .policy import (action_feature_grad, compatible_features, entropy, linear_policy_grad,
                     linear_policy_probs, log_prob_grad, log_softmax, policy_gradient_loss,
                     sample_categorical, softmax, softmax_jacobian, softmax_jvp)
from .tabular import (RolloutResult, ValueIterationResult, double_q_learning, epsilon_greedy,
                      expected_sarsa, q_learning, q_learning_rollout, sarsa, td0, value_iteration)
from .replay import Batch, PrioritizedReplayBuffer, ReplayBuffer, SumTree
from .returns import GAEResult, discounted_returns, gae, lambda_returns, nstep_returns
from .offpolicy import VTraceResult, retrace, vtrace

__version__ = "0.1.0"


def get_include() -> str:
    """Directory to put on Cython's include path to ``cimport`` fastpg kernels.

    ``cythonize(..., include_path=[fastpg.get_include()])`` makes
    ``from fastpg._cy.returns cimport gae_c`` resolve against the installed
    ``.pxd`` files (like ``numpy.get_include()`` for NumPy's headers).
    """
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

__all__ = [
    "__version__", "get_include", "get_backend", "set_backend", "use_backend", "available",
    "available_backends", "why_unavailable", "BackendUnavailable",
    "discounted_returns", "gae", "lambda_returns", "nstep_returns", "GAEResult",
    "vtrace", "retrace", "VTraceResult",
    "softmax", "log_softmax", "softmax_jacobian", "softmax_jvp", "log_prob_grad",
    "linear_policy_probs", "linear_policy_grad", "compatible_features", "action_feature_grad",
    "sample_categorical", "entropy", "policy_gradient_loss",
    "q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0", "epsilon_greedy",
    "value_iteration", "ValueIterationResult", "q_learning_rollout", "RolloutResult",
    "SumTree", "ReplayBuffer", "PrioritizedReplayBuffer", "Batch",
]
