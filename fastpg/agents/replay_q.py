r"""DQN-style Q-learning from prioritized n-step replay, with a linear Q-function.

The loop of the DQN code in the Neuromatch Academy tutorial and in HOML
(ch. 18), with a linear function in place of the network, so that it needs no
deep-learning framework:

1. act ε-greedily on Q(s, ·) (ε annealed linearly from ``epsilon`` to
   ``epsilon_min`` over ``epsilon_steps`` steps, as DQN does; a small final ε
   also keeps small the bias of uncorrected n-step targets towards the
   exploratory behaviour) and store (s, a, r, s', terminated, truncated)
   in a :class:`fastpg.PrioritizedReplayBuffer` (new transitions at the
   maximum priority);
2. every ``train_every`` steps (after ``learning_starts``), sample a batch
   with n-step returns: y = G^(n) + discount · max_a' Q_target(s_{t+m}, a')
   where the buffer gives G^(n), the bootstrap observation s_{t+m} and
   discount = γ^m (0 after a termination; a truncation bootstraps);
3. semi-gradient step on the importance-weighted squared TD error,
   W[:, a_i] += lr · w_i · δ_i · φ(s_i) / B with δ_i = y_i − Q(s_i, a_i);
4. ``update_priorities(batch.indices, |δ|)``; the target weights are copied
   every ``target_update`` steps; β is annealed linearly to 1.

On ``fastpg/GridWorld-v0`` (300 episodes, the defaults) the greedy policy
takes the 5-step shortest path for 7 of 8 seeds and a 7-step path for the
other. Linear Q on CartPole does not learn (as is known for linear
function approximation with off-policy bootstrapping); this agent shows the
replay loop, it is not a strong control method.

Features φ: a one-hot state for Discrete observations (then W is a Q table:
tabular Q-learning from replay), the observation plus a constant 1 for Box
observations (linear Q).
"""
from __future__ import annotations

import time

import numpy as np

from .. import _checks as C
from ..replay import PrioritizedReplayBuffer
from ._common import GreedyRun, History, Progress, run_length, spaces


class ReplayQ(GreedyRun):
    """Q-learning from an n-step prioritized replay buffer (see the module doc)."""

    def __init__(self, env, *, lr=0.5, gamma=0.9, n_step=3, epsilon=1.0, epsilon_min=0.1,
                 epsilon_steps=1_000, capacity=10_000,
                 batch_size=32, learning_starts=100, train_every=1, target_update=100,
                 alpha=0.6, beta=0.4, beta_steps=10_000, seed=None, backend=None):
        space, act_space = spaces(env, "ReplayQ")
        self.tabular = hasattr(space, "n")
        if not hasattr(act_space, "n"):
            raise TypeError(f"ReplayQ needs Discrete actions; got {act_space}")
        self.A = int(act_space.n)
        lr = C.real_number(lr, "lr", 0.0, lo_open=True)
        gamma = C.real_number(gamma, "gamma", 0.0, 1.0)
        epsilon = C.real_number(epsilon, "epsilon", 0.0, 1.0)
        epsilon_min = C.real_number(epsilon_min, "epsilon_min", 0.0, 1.0)
        beta = C.real_number(beta, "beta", 0.0, 1.0)
        n_step, epsilon_steps, batch_size, train_every, target_update, beta_steps = (
            C.positive_int(v, n) for v, n in ((n_step, "n_step"), (epsilon_steps, "epsilon_steps"),
                                              (batch_size, "batch_size"),
                                              (train_every, "train_every"),
                                              (target_update, "target_update"),
                                              (beta_steps, "beta_steps")))
        learning_starts = C.positive_int(learning_starts, "learning_starts", lo=0)
        if self.tabular:
            self.d = int(space.n)
            obs_shape, obs_dtype = (), np.int64
        else:
            if len(space.shape) != 1:
                raise TypeError(f"ReplayQ needs Discrete or 1-D Box observations; got {space}")
            self.d = int(space.shape[0]) + 1
            obs_shape, obs_dtype = space.shape, np.float32
        self.W = np.zeros((self.d, self.A))
        self.W_target = self.W.copy()
        self.lr, self.gamma, self.n_step = lr, gamma, n_step
        self.epsilon0, self.epsilon_min, self.epsilon_steps = epsilon, epsilon_min, epsilon_steps
        self.batch_size, self.learning_starts = batch_size, learning_starts
        self.train_every, self.target_update = train_every, target_update
        self.beta0, self.beta_steps = beta, beta_steps
        self.buffer = PrioritizedReplayBuffer(capacity, obs_shape, obs_dtype, alpha=alpha,
                                              beta=beta, backend=C.backend(backend))
        self.rng = np.random.default_rng(seed)
        self.steps = 0
        self.updates = 0

    def q(self, obs, W=None):
        """Q(s, ·) for one observation, or Q of a batch (B, A)."""
        W = self.W if W is None else W
        if self.tabular:
            return W[np.asarray(obs, np.int64)]
        x = np.asarray(obs, np.float64)
        return x @ W[:-1] + W[-1]

    @property
    def epsilon(self):
        """ε after ``steps``: linear from ``epsilon`` to ``epsilon_min`` over ``epsilon_steps``."""
        frac = min(1.0, self.steps / self.epsilon_steps) if self.epsilon_steps else 1.0
        return self.epsilon0 + (self.epsilon_min - self.epsilon0) * frac

    def act(self, obs, greedy=False):
        if not greedy and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.A))
        q = self.q(obs)
        best = np.flatnonzero(q == q.max())  # ties at random
        return int(best[0] if len(best) == 1 else self.rng.choice(best))

    def learn(self):
        """One minibatch update from the buffer; returns the TD errors."""
        buf = self.buffer
        buf.beta = min(1.0, self.beta0 + (1.0 - self.beta0) * self.steps / self.beta_steps)
        b = buf.sample(self.batch_size, self.rng, n_step=self.n_step, gamma=self.gamma)
        y = b.reward + b.discount * self.q(b.next_obs, self.W_target).max(axis=1)
        delta = y - self.q(b.obs)[np.arange(len(y)), b.action]
        coef = self.lr * b.weights * delta / len(y)
        if self.tabular:
            np.add.at(self.W, (b.obs, b.action), coef)  # duplicates add up: a batch gradient
        else:
            phi = np.concatenate([b.obs, np.ones((len(y), 1), b.obs.dtype)], axis=1)
            np.add.at(self.W.T, b.action, coef[:, None] * phi)
        buf.update_priorities(b.indices, np.abs(delta))
        self.updates += 1
        return delta

    def train(self, env, episodes=None, steps=None, seed=None, progress=None):
        """Collect and learn for ``episodes`` episodes or ``steps`` steps; a History."""
        if episodes is None and steps is None:
            raise TypeError("pass episodes=... or steps=...")
        episodes, steps = run_length(episodes, steps)
        hist = History()
        t0 = time.perf_counter()
        prog = Progress(episodes, progress)
        s, _ = env.reset(seed=seed)
        ret, length = 0.0, 0
        while True:
            a = self.act(s)
            s2, r, term, trunc, _ = env.step(a)
            self.buffer.add(np.asarray(s, self.buffer.fields["obs"][1]), a, float(r),
                            np.asarray(s2, self.buffer.fields["obs"][1]), bool(term),
                            bool(trunc))
            self.steps += 1
            hist.steps += 1
            if self.steps >= self.learning_starts and self.steps % self.train_every == 0:
                self.learn()
            if self.steps % self.target_update == 0:
                self.W_target[...] = self.W
            ret += r
            length += 1
            if term or trunc:
                done = hist.end_episode(ret, length, prog, episodes)
                ret, length = 0.0, 0
                s, _ = env.reset()
                if done:
                    break
            else:
                s = s2
            if steps is not None and hist.steps >= steps:
                break
        hist.updates = self.updates
        hist.wall_time = time.perf_counter() - t0
        return hist
