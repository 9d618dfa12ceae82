"""Numba softmax policy kernels: numba's compilation of the one source,
fastpg/_kernels/policy.py and policy_linear.py, which Cython compiles too
(semantics and argument layout: fastpg.reference.policy).

Each kernel is the ``*_c`` body under its registry name, jitted with the
source's row helpers inlined; the kernels that take scratch get a jitted
wrapper that allocates it. ``linear_policy_grad_parallel`` is the
``parallel=True`` jit of the same body, over ``NCHUNK`` row chunks.
"""
from __future__ import annotations

import math
import types

import numba
import numpy as np

from .._kernels import policy as _src, policy_linear as _src_linear
from .._tuning import LPG_BLOCK, NCHUNK
from . import _fmath, jit

__all__ = ["softmax", "log_softmax", "softmax_jacobian", "softmax_jvp", "log_prob_grad",
           "linear_policy_probs", "linear_policy_grad", "linear_policy_grad_parallel",
           "compatible_features", "action_feature_grad", "sample_categorical", "entropy",
           "policy_gradient_loss"]

# fpg_exp: fastpg's exp (fmath.pxd's in Cython, its twin here)
_scope = {**vars(_src_linear), **vars(_src), "prange": numba.prange, "fpg_exp": _fmath.exp}


def _in_scope(f):
    return types.FunctionType(f.__code__, _scope, f.__name__)


# the per-row helpers inline; the per-chunk ones stay calls (inlined into a
# prange body they would be lowered once per parallel region).
# error_model="numpy" for _lpg_rows2: its divisors are 1 + e >= 1, and
# without a zero check per division LLVM vectorises its loop of _g2
_scope.update({name: jit(_in_scope(f), inline="never" if name.startswith("_lpg") else "always",
                         cache=False, error_model="numpy" if name == "_lpg_rows2" else "python",
                         refcount=False)
               for name, f in list(_scope.items())
               if name.startswith("_") and isinstance(f, types.FunctionType)
               and f.__module__ in (_src.__name__, _src_linear.__name__)})
# the one helper numba cannot compile (a test of the C type): its double-exp twin
_scope["_exp_like"] = jit(lambda x, like: math.exp(x), inline="always", cache=False)


def _compiled(name, parallel=False, **opts):
    # the serial bodies allocate nothing: no reference counting (fastpg._numba.jit)
    return jit(_in_scope(_scope[name]), parallel=parallel, refcount=parallel, **opts)


softmax = _compiled("softmax_c")
log_softmax = _compiled("log_softmax_c")
softmax_jacobian = _compiled("softmax_jacobian_c")
softmax_jvp = _compiled("softmax_jvp_c")
log_prob_grad = _compiled("log_prob_grad_c")
_sample = _compiled("sample_categorical_c")
entropy = _compiled("entropy_c")
policy_gradient_loss = _compiled("policy_gradient_loss_c")
_probs = _compiled("linear_policy_probs_c")
_grad = _compiled("linear_policy_grad_c", cache=False)
_grad_parallel = _compiled("linear_policy_grad_c", parallel=True, cache=False)
_compatible = _compiled("compatible_features_c")
_action_grad = _compiled("action_feature_grad_c")


@jit
def linear_policy_probs(X, W, out):
    return _probs(X, W, out, np.empty(W.shape[1]))


@jit
def linear_policy_grad(X, actions, weights, W, out):
    d, A = W.shape
    return _grad(X, actions, weights, W, out, np.empty((1, d, A)),
                 np.empty((1, 3 * LPG_BLOCK if A == 2 else A)), np.empty(1, np.int64))


@jit
def linear_policy_grad_parallel(X, actions, weights, W, out):
    d, A = W.shape
    return _grad_parallel(X, actions, weights, W, out, np.empty((NCHUNK, d, A)),
                          np.empty((NCHUNK, 3 * LPG_BLOCK if A == 2 else A)),
                          np.empty(NCHUNK, np.int64))


@jit
def sample_categorical(logits, u, out):
    return _sample(logits, u, out, np.empty(logits.shape[1]))


@jit
def compatible_features(phi, theta, out):
    return _compatible(phi, theta, out, np.empty(phi.shape[1]), np.empty(phi.shape[2]))


@jit
def action_feature_grad(phi, actions, weights, theta, out):
    return _action_grad(phi, actions, weights, theta, out, np.empty(phi.shape[1]),
                        np.empty(phi.shape[2]))
