"""The env workloads of `fastpg bench --peers` (and bench/bench_envs.py):
fastpg/CartPole-v1 against gymnasium's NumPy ``CartPoleVectorEnv``, EnvPool
(C++ threads) and gymnax (jax.jit + vmap + scan), stepped with the same
random actions, and the fused rollout of a linear softmax policy against
the same policy run beside each of them. Peers start from their own random
states (there is no shared seed), so a peer's result is checked by its
shapes and CartPole's rewards.
"""
from __future__ import annotations

import numpy as np

from .peers import Unavailable, need
from .workloads import ROLLOUT_W


def env_actions(n_envs, steps, seed=0):
    """The random CartPole actions every side of the env workload steps with."""
    return np.random.default_rng(seed).integers(0, 2, (steps, n_envs))


def fastpg_env(actions, backend=None):
    """fastpg/CartPole-v1 stepped through the gymnasium API, ``actions`` (T, N)."""
    import gymnasium as gym

    from .. import envs  # noqa: F401  (registers fastpg/CartPole-v1)
    env = gym.make_vec("fastpg/CartPole-v1", num_envs=actions.shape[1], backend=backend)
    env.reset(seed=0)
    return _stepper(env, actions)


def _stepper(env, actions):
    def fn():
        for a in actions:
            out = env.step(a)
        return out
    return fn


def _check_cartpole(obs, rewards, what):
    """A peer's CartPole after the same actions from its own random starts (no
    shared seed: the check is the shapes and CartPole's reward of 1 a step,
    0 for a next-step reset)."""
    obs, rewards = np.asarray(obs), np.asarray(rewards)
    if obs.shape[1:] != (4,) or not np.isfinite(obs).all() or \
            not np.isin(rewards, (0.0, 1.0)).all() or rewards.mean() < 0.9:
        raise AssertionError(f"{what} does not step CartPole as fastpg does "
                             f"(obs {obs.shape}, mean reward {rewards.mean():.3f})")


def env_peer(peer, actions):
    """(fn, env steps per call) of a peer's CartPole-v1 on ``actions`` (T, N):
    gymnasium's NumPy ``CartPoleVectorEnv``, EnvPool (C++ threads) or gymnax
    (jax.jit + vmap + scan: the whole run in one call, as gymnax is used)."""
    T, N = actions.shape
    if peer == "gymnasium":
        from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
        env = CartPoleVectorEnv(num_envs=N)
        env.reset(seed=0)
        fn = _stepper(env, actions)
        out = fn()
    elif peer == "envpool":
        envpool = need("envpool")
        env = envpool.make_gymnasium("CartPole-v1", num_envs=N, seed=0)
        env.reset()
        fn = _stepper(env, actions)
        out = fn()
    elif peer == "gymnax":
        jax, gymnax = need("jax"), need("gymnax")
        genv, params = gymnax.make("CartPole-v1")
        step = jax.vmap(genv.step, in_axes=(0, 0, 0, None))
        acts = jax.numpy.asarray(actions, dtype=jax.numpy.int32)

        @jax.jit
        def run(state, key):
            def body(carry, a):
                st, k = carry
                k, sub = jax.random.split(k)
                o, st, r, *_ = step(jax.random.split(sub, N), st, a, params)
                return (st, k), None
            (st, _), _ = jax.lax.scan(body, (state, key), acts[:-1])
            o, st, r, *_ = step(jax.random.split(key, N), st, acts[-1], params)
            return st, o, r

        _, state = jax.vmap(genv.reset, in_axes=(0, None))(
            jax.random.split(jax.random.PRNGKey(0), N), params)
        box = {"state": state}

        def fn():
            box["state"], o, r = run(box["state"], jax.random.PRNGKey(1))
            r.block_until_ready()
            return o, r

        out = fn()
    else:
        raise Unavailable(f"no CartPole peer {peer!r}")
    _check_cartpole(out[0], out[1], peer)
    return fn, T * N


# ------------------------------------------------------------------ rollouts
def fastpg_rollout(n_envs, steps, backend=None):
    """(fn, env steps per call): fastpg/CartPole-v1's fused rollout of
    ROLLOUT_W, ``steps`` x ``n_envs`` a call, into the same arrays (a
    training loop's steady state)."""
    from ..envs import CartPoleVectorEnv
    env = CartPoleVectorEnv(n_envs, backend=backend)
    env.reset(seed=0)
    g = np.random.default_rng(1)
    out = env.rollout(ROLLOUT_W, steps, rng=g)
    _check_cartpole(out.observations[-1], out.rewards, "fastpg's rollout")

    def fn():
        return env.rollout(ROLLOUT_W, steps, rng=g, out=out)
    return fn, steps * n_envs


def _numpy_policy(env, obs, steps, n_envs):
    """The rollout as a NumPy user writes it around a vector env: ROLLOUT_W's
    logits, an action drawn by ``sample_categorical``'s rule, its
    log-probability, and every step's outputs kept in (T, N) arrays."""
    W, g, rows = ROLLOUT_W, np.random.default_rng(1), np.arange(n_envs)
    O = np.empty((steps, n_envs, 4), np.float32)
    A = np.empty((steps, n_envs), np.int64)
    R, LP = np.empty((steps, n_envs)), np.empty((steps, n_envs))
    TE, TR = np.empty((steps, n_envs), bool), np.empty((steps, n_envs), bool)
    box = {"obs": obs}

    def fn():
        obs = box["obs"]
        for t in range(steps):
            O[t] = obs
            z = np.asarray(obs, np.float64) @ W[:4] + W[4]
            m = z.max(axis=1)
            e = np.exp(z - m[:, None])
            total = e[:, 0] + e[:, 1]
            A[t] = a = (e[:, 0] <= g.random(n_envs) * total).astype(np.int64)
            LP[t] = z[rows, a] - m - np.log(total)
            obs, R[t], TE[t], TR[t], _ = env.step(a)
        box["obs"] = obs
        return obs, R
    return fn


def rollout_peer(peer, n_envs, steps):
    """(fn, env steps per call) of the rollout workload on a peer's CartPole:
    gymnasium's NumPy ``CartPoleVectorEnv`` or EnvPool with the policy in
    NumPy (:func:`_numpy_policy`), or gymnax with the policy in the same
    jax.jit + vmap + scan as the env (float32, jax.random's draws)."""
    if peer == "gymnasium":
        from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
        env = CartPoleVectorEnv(num_envs=n_envs)
        fn = _numpy_policy(env, env.reset(seed=0)[0], steps, n_envs)
    elif peer == "envpool":
        env = need("envpool").make_gymnasium("CartPole-v1", num_envs=n_envs, seed=0)
        fn = _numpy_policy(env, env.reset()[0], steps, n_envs)
    elif peer == "gymnax":
        fn = _gymnax_rollout(n_envs, steps)
    else:
        raise Unavailable(f"no CartPole peer {peer!r}")
    out = fn()
    _check_cartpole(out[0], out[1], f"{peer}'s rollout")
    return fn, steps * n_envs


def _gymnax_rollout(n_envs, steps):
    jax, gymnax = need("jax"), need("gymnax")
    jnp = jax.numpy
    genv, params = gymnax.make("CartPole-v1")
    step = jax.vmap(genv.step, in_axes=(0, 0, 0, None))
    W4 = jnp.asarray(ROLLOUT_W[:4], jnp.float32)
    b = jnp.asarray(ROLLOUT_W[4], jnp.float32)
    rows = jnp.arange(n_envs)

    @jax.jit
    def run(state, obs, key):
        def body(carry, _):
            st, o, k = carry
            k, ka, ks = jax.random.split(k, 3)
            z = o @ W4 + b
            a = jax.random.categorical(ka, z)
            lp = jax.nn.log_softmax(z)[rows, a]
            o2, st, r, d = step(jax.random.split(ks, n_envs), st, a, params)[:4]
            return (st, o2, k), (o, a, r, d, lp)
        (st, o, k), traj = jax.lax.scan(body, (state, obs, key), None, length=steps)
        return st, o, k, traj

    obs, state = jax.vmap(genv.reset, in_axes=(0, None))(
        jax.random.split(jax.random.PRNGKey(0), n_envs), params)
    box = {"s": state, "o": obs, "k": jax.random.PRNGKey(1)}

    def fn():
        box["s"], box["o"], box["k"], traj = run(box["s"], box["o"], box["k"])
        traj[2].block_until_ready()
        return box["o"], traj[2]
    return fn
