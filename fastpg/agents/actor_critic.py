r"""Actor-critic with compatible features (Sutton, McAllester, Singh & Mansour, 2000).

Actor: :math:`\pi(a \mid s) \propto \exp(\theta^\top \phi_{sa})` over action
features :math:`\phi_{sa} \in \mathbb{R}^d`. Critic: the compatible
approximator :math:`f_w(s, a) = w^\top \psi_{sa}`,
:math:`\psi_{sa} = \phi_{sa} - \sum_b \pi(b \mid s) \phi_{sb}`
(:func:`fastpg.compatible_features`). Each update, from
``episodes_per_update`` complete episodes:

1. returns :math:`G_t` (:func:`fastpg.discounted_returns`, one call over the
   flat stream of episodes);
2. the critic is fitted to the returns: :math:`w = \arg\min_w \sum_t
   (G_t - w^\top \psi_{s_t a_t})^2 + \lambda \lVert w \rVert^2` (closed form);
3. the actor steps along Theorem 2's gradient,
   :math:`\theta \leftarrow \theta + \alpha \frac{1}{n} \sum_t \sum_a
   \nabla_\theta \pi(a \mid s_t) f_w(s_t, a)`, with
   :math:`\nabla_\theta \pi = \pi \psi`: that is
   :func:`fastpg.action_feature_grad` over every (state, action) pair with
   weights :math:`\pi(a \mid s_t) f_w(s_t, a)` (``estimator="all-actions"``),
   or over the actions taken with weights :math:`f_w(s_t, a_t)`
   (``"sampled"``, unbiased, no A-fold expansion).

Features: ``features(obs_batch) -> (N, A, d)``. The default is
:math:`\phi_{sa} = \mathrm{obs} \otimes \mathrm{onehot}(a)`
(:func:`outer_features`), a linear softmax policy, which on the one-hot
three-state MDP is tabular; on fastpg's compiled CartPole it runs inside the
env's fused rollouts (:meth:`CompatibleActorCritic.train`).
:func:`notebook_features` is the paper notebook's
:math:`\phi_{sa} = (\mathrm{onehot}(s), \mathrm{onehot}(a))`; note that its
state part is the same for every action and cancels in the softmax, so it
can only represent policies that ignore the state (a flaw of the notebook).

Where this departs from the notebook's code, on purpose (its bugs): its
``pi_grad`` is wrong (see :mod:`fastpg.reference.policy`); ``update_theta``
assigns ``θ = α ∇π f`` instead of adding to θ; the Agent's ``f`` and
``f_grad`` use the global ``pi`` (the global θ and w), not the agent's;
``update_value`` returns inside its loop, so only the first sample is used;
the episode loop records the *next* observation as the state an action was
taken in; and the environment's ``step`` returns an undefined ``obs``.
"""
from __future__ import annotations

import numpy as np

from .. import _checks as C
from .. import policy as P
from .. import returns as R
from ._common import spaces, train_by_episodes


class outer_features:  # noqa: N801  (used as a function: outer_features(A))
    """φ_sa = obs ⊗ onehot(a) (with bias: (obs, 1) ⊗ onehot(a)): shape (N, A, A·k).

    Without a bias this is tabular on one-hot observations. A bias block is
    shared by every state, so on such observations it only adds a
    state-independent preference whose (non-natural) gradient can dominate
    early and drive the policy to one action everywhere; leave it off there.

    θᵀφ_sa is then a linear softmax policy's logit x(s)ᵀ W[:, a] with
    x = (obs, 1): :meth:`policy_weights` gives that W, which fastpg's
    compiled vector envs run in their fused rollouts.
    """

    def __init__(self, n_actions, bias=False):
        self.n_actions = int(n_actions)
        self.bias = bool(bias)

    def __call__(self, obs):
        x = np.asarray(obs, dtype=np.float64).reshape(len(obs), -1)
        if self.bias:
            x = np.concatenate([x, np.ones((len(x), 1))], axis=1)
        N, k = x.shape
        out = np.zeros((N, self.n_actions, self.n_actions * k))
        for a in range(self.n_actions):
            out[:, a, a * k:(a + 1) * k] = x
        return out

    def policy_weights(self, theta):
        """W (k + 1, A), bias row last, with x(s)ᵀ W[:, a] = θᵀφ_sa."""
        blocks = np.asarray(theta, dtype=np.float64).reshape(self.n_actions, -1).T
        if self.bias:
            return np.ascontiguousarray(blocks)
        return np.concatenate([blocks, np.zeros((1, self.n_actions))])


def notebook_features(n_actions):
    """The paper notebook's φ_sa = concat(obs, onehot(a)) (state-independent policies only)."""
    eye = np.eye(n_actions)

    def phi(obs):
        x = np.asarray(obs, dtype=np.float64).reshape(len(obs), -1)
        return np.concatenate([np.repeat(x[:, None, :], n_actions, axis=1),
                               np.broadcast_to(eye, (len(x), n_actions, n_actions))], axis=2)
    return phi


class CompatibleActorCritic:
    """See the module docstring. ``CompatibleActorCritic(env)`` reads the spaces."""

    def __init__(self, env=None, *, features=None, n_actions=None, n_features=None, gamma=1.0,
                 alpha=0.5, ridge=1e-3, episodes_per_update=10, estimator="all-actions",
                 seed=None, backend=None):
        if env is not None:
            act_space = spaces(env, "CompatibleActorCritic")[1]
            if not hasattr(act_space, "n"):
                raise TypeError(f"CompatibleActorCritic needs Discrete actions; got {act_space}")
            n_actions = int(act_space.n)
        if n_actions is None:
            raise TypeError("pass an env or n_actions")
        if estimator not in ("all-actions", "sampled"):
            raise ValueError(f"estimator must be 'all-actions' or 'sampled'; got {estimator!r}")
        gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
        alpha = C.real_number(alpha, "alpha", 0.0, lo_open=True)
        ridge = C.real_number(ridge, "ridge", 0.0)
        episodes_per_update = C.positive_int(episodes_per_update, "episodes_per_update")
        self.A = n_actions
        self.features = features if features is not None else outer_features(n_actions)
        self.gamma = float(gamma)
        self.alpha = float(alpha)
        self.ridge = float(ridge)
        self.episodes_per_update = int(episodes_per_update)
        self.estimator = estimator
        self.backend = C.backend(backend)
        self.rng = np.random.default_rng(seed)
        self.theta = None if n_features is None else np.zeros(n_features)
        self.w = None if n_features is None else np.zeros(n_features)

    def _phi(self, obs_batch):
        phi = np.asarray(self.features(obs_batch), dtype=np.float64)
        if phi.ndim != 3 or phi.shape[1] != self.A:
            raise ValueError(f"features must return (N, {self.A}, d); got {phi.shape}")
        if self.theta is None:
            self.theta = np.zeros(phi.shape[2])
            self.w = np.zeros(phi.shape[2])
        return phi

    def probs(self, obs_batch):
        return P.softmax(self._phi(obs_batch) @ self.theta, backend=self.backend)

    def act(self, obs_batch):
        return P.sample_categorical(self._phi(obs_batch) @ self.theta, self.rng,
                                    backend=self.backend)

    def critic(self, obs_batch):
        """f_w(s, a) for every action: (N, A)."""
        return P.compatible_features(self._phi(obs_batch), self.theta, backend=self.backend) @ self.w

    def update(self, episodes):
        obs = np.concatenate([e.obs for e in episodes])
        actions = np.concatenate([e.actions for e in episodes])
        rewards = np.concatenate([e.rewards for e in episodes])
        term = np.zeros(len(rewards), bool)
        trunc = np.zeros(len(rewards), bool)
        for e, t in zip(episodes, np.cumsum([len(e) for e in episodes]) - 1):
            (term if e.terminated else trunc)[t] = True
        G = R.discounted_returns(rewards, self.gamma, term, trunc, backend=self.backend)
        phi = self._phi(obs)
        T, A, d = phi.shape
        psi = P.compatible_features(phi, self.theta, backend=self.backend)
        taken = psi[np.arange(T), actions]
        # critic: ridge regression of the returns on the compatible features
        self.w = np.linalg.solve(taken.T @ taken + self.ridge * np.eye(d), taken.T @ G)
        f = psi @ self.w  # (T, A)
        if self.estimator == "sampled":
            grad = P.action_feature_grad(phi, actions, f[np.arange(T), actions], self.theta,
                                         backend=self.backend)
        else:
            pi = P.softmax(phi @ self.theta, backend=self.backend)
            grad = P.action_feature_grad(np.repeat(phi, A, axis=0), np.tile(np.arange(A), T),
                                         (pi * f).ravel(), self.theta, backend=self.backend)
        self.theta += self.alpha * grad / len(episodes)
        return grad

    def train(self, env, episodes=500, seed=None, progress=None):
        """Train for ``episodes`` episodes; returns a :class:`History`.

        With :func:`outer_features` (the default) on one of fastpg's compiled
        vector envs that has a fused rollout (``fastpg/CartPole-v1``), the env
        runs the policy itself (same draw rule as :meth:`act`, no Python per
        step)."""
        fused = None
        if hasattr(self.features, "policy_weights") and callable(getattr(env, "rollout", None)):
            if self.theta is None:  # sized from the env's observations
                self._phi(np.zeros((1, *spaces(env, "CompatibleActorCritic")[0].shape)))
            fused = lambda: self.features.policy_weights(self.theta)  # noqa: E731
        return train_by_episodes(self, env, episodes, seed, progress, fused_policy=fused)
