"""Rollout workers on Ray: actors that step a gymnasium vector env with the
policy the learner last broadcast, and ship what they collected.

:class:`RolloutWorker` (a Ray actor class; Ray restarts a killed worker and
retries its pending calls, so a run goes on) holds one vector env: fastpg's
compiled one for an id that has it (``gym.make_vec("fastpg/CartPole-v1")``),
else gymnasium's ``SyncVectorEnv``, always with same-step autoreset so that
every recorded step is a real transition.

* ``set_weights(params, version)``: the learner's broadcast (Ray puts the
  arrays in its object store once for all workers).
* ``trajectories(steps)`` (IMPALA): the linear softmax policy
  π(a | x) = softmax(xᵀ W[:-1] + W[-1]) for ``steps`` steps of every env;
  returns time-major ``(T, N)`` arrays with the behaviour log-probabilities
  and the observations after the last step (to bootstrap from). On
  fastpg's CartPole this is one fused kernel call.
* ``transitions(steps, epsilon, gamma, server=None)`` (Ape-X): ε-greedy on
  a Q table (Discrete observations, e.g. ``fastpg/GridWorld-v0``); returns the
  transitions with their initial priorities |r + γ max_a Q(s', a) - Q(s, a)|
  computed here, or adds them to a :class:`ReplayServer` directly
  (``server``: an actor handle; the arrays go to it through the object
  store without passing through the caller).

Both also return the returns of the episodes that finished.
"""
from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from .. import _checks as C
from .. import policy as P
from .. import tabular as TB
from ._ray import ray


class RolloutWorkerCore:
    """The state and methods of :class:`RolloutWorker` (see the module docstring).

    ``RolloutWorker.remote(env_id, num_envs=1, seed=None, **env_kwargs)``.
    """

    def __init__(self, env_id, num_envs=1, seed=None, **env_kwargs):
        from .. import envs  # noqa: F401  (registers the fastpg/ ids)
        spec = gym.spec(env_id)
        mode = None if spec.vector_entry_point is not None and env_id.startswith("fastpg/") \
            else "sync"
        kw = dict(vectorization_mode=mode)
        if mode == "sync":
            kw["vector_kwargs"] = {"autoreset_mode": AutoresetMode.SAME_STEP}
        else:
            env_kwargs["autoreset_mode"] = AutoresetMode.SAME_STEP
        self.env = gym.make_vec(env_id, num_envs=num_envs, **kw, **env_kwargs)
        self.n = self.env.num_envs
        self.rng = np.random.default_rng(seed)
        self.obs, _ = self.env.reset(seed=seed)
        self.params, self.version = None, -1
        self.running = np.zeros(self.n)  # the returns of the unfinished episodes

    def set_weights(self, params, version=None):
        self.params = params
        self.version = self.version + 1 if version is None else version
        return self.version

    def _need(self, what):
        if self.params is None:
            raise RuntimeError(f"{what}: call set_weights first (the learner's parameters)")
        return self.params

    def _finished(self, rewards, ends):
        """Episode returns finished in this (T, N) chunk, in finishing order."""
        out = []
        for t in range(rewards.shape[0]):
            self.running += rewards[t]
            for i in np.flatnonzero(ends[t]):
                out.append(float(self.running[i]))
                self.running[i] = 0.0
        return out

    def trajectories(self, steps, params=None):
        """(T, N) steps of the linear softmax policy (see the module docstring):
        a dict of ``obs`` (T, N, d) float32, ``actions``, ``rewards``,
        ``terminated``, ``truncated``, ``log_probs`` (behaviour), ``last_obs``
        (N, d), ``version`` and ``episode_returns``. ``params``: W for this
        call, instead of the broadcast one (a call that carries its
        parameters also completes when Ray retries it on a restarted worker)."""
        W = C.float_array(self._need("trajectories") if params is None else params, "W",
                          np.float64)
        T = C.positive_int(steps, "steps")
        if callable(getattr(self.env, "rollout", None)):  # fused: one kernel call
            r = self.env.rollout(W, T, self.rng)
            obs, actions, rewards = r.observations, r.actions, r.rewards
            term, trunc, logp = r.terminated, r.truncated, r.log_probs
            self.obs = self.env.observations
        else:
            d = W.shape[0] - 1
            obs = np.empty((T, self.n, d), np.float32)
            actions = np.empty((T, self.n), np.int64)
            rewards, logp = np.empty((T, self.n)), np.empty((T, self.n))
            term, trunc = np.empty((T, self.n), bool), np.empty((T, self.n), bool)
            for t in range(T):
                obs[t] = np.asarray(self.obs, np.float32).reshape(self.n, d)
                logits = obs[t] @ W[:-1] + W[-1]
                actions[t] = P.sample_categorical(logits, self.rng)
                logp[t] = P.log_softmax(logits)[np.arange(self.n), actions[t]]
                self.obs, rewards[t], term[t], trunc[t], _ = self.env.step(actions[t])
        return dict(obs=obs, actions=actions, rewards=rewards, terminated=term,
                    truncated=trunc, log_probs=logp,
                    last_obs=np.asarray(self.obs, np.float32).reshape(self.n, -1).copy(),
                    version=self.version, episode_returns=self._finished(rewards, term | trunc))

    def transitions(self, steps, epsilon, gamma=0.99, server=None, params=None):
        """``steps`` ε-greedy steps of every env on the broadcast Q table
        (S, A) (or ``params``, as for :meth:`trajectories`): the transitions
        (T·N of them, flat) and their initial priorities, added to ``server``
        if given (then the dict holds ``added``, the server's total, instead
        of the arrays)."""
        Q = C.float_array(self._need("transitions") if params is None else params, "Q",
                          np.float64)
        T = C.positive_int(steps, "steps")
        s = np.empty((T, self.n), np.int64)
        a, s2 = np.empty_like(s), np.empty_like(s)
        r = np.empty((T, self.n))
        term, trunc = np.empty((T, self.n), bool), np.empty((T, self.n), bool)
        for t in range(T):
            s[t] = self.obs
            a[t] = TB.epsilon_greedy(Q, s[t], epsilon, self.rng)
            self.obs, r[t], term[t], trunc[t], info = self.env.step(a[t])
            s2[t] = self.obs
            for i in np.flatnonzero(info.get("_final_obs", ())):
                s2[t, i] = info["final_obs"][i]  # the state the episode reached
        flat = [x.reshape(-1) for x in (s, a, r, s2, term, trunc)]
        boot = np.where(flat[4], 0.0, Q[flat[3]].max(axis=1))
        prio = np.abs(flat[2] + gamma * boot - Q[flat[0], flat[1]])
        out = dict(version=self.version, episode_returns=self._finished(r, term | trunc))
        if server is not None:
            out["added"] = ray.get(server.add.remote(*flat, priorities=prio))
        else:
            out.update(zip(("obs", "action", "reward", "next_obs", "terminated", "truncated"),
                           flat), priorities=prio)
        return out

    def pid(self):
        return os.getpid()


#: the Ray actor class: restarted after a crash, its pending calls retried
RolloutWorker = ray.remote(max_restarts=-1, max_task_retries=-1)(RolloutWorkerCore)
