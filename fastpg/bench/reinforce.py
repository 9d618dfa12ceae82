"""The REINFORCE end-to-end run of ``fastpg bench --full``: fastpg's agent
against the same agent written as a plain NumPy tutorial loop, on
CartPole-v1 (env steps per second of whole training runs)."""
import numpy as np

E2E_EPISODES = 300


def numpy_reinforce(env, episodes, seed, lr=0.05, gamma=0.99, episodes_per_update=5):
    """The same agent as fastpg.agents.Reinforce (linear softmax, Adam, return
    normalisation, 5 episodes per update) written as a straight NumPy tutorial
    loop: per-step softmax, rng.choice, and the seed's per-step gradient
    ``state.T @ (dsoftmax / p[a])``. Returns (episode returns, steps)."""
    from fastpg.reference.policy import seed_per_step_grad
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    d = obs.size + 1
    A = env.action_space.n
    W = np.zeros((d, A))
    m, v, t_adam = np.zeros_like(W), np.zeros_like(W), 0
    returns_hist, steps = [], 0
    batch_grads, batch_rewards = [], []
    while len(returns_hist) < episodes:
        grads, rewards = [], []
        done = False
        while not done:
            x = np.append(obs, 1.0)
            z = x @ W
            p = np.exp(z - z.max())
            p /= p.sum()
            a = rng.choice(A, p=p)
            grads.append(seed_per_step_grad(x, p, a))
            obs, r, term, trunc, _ = env.step(int(a))
            rewards.append(r)
            steps += 1
            done = term or trunc
        obs, _ = env.reset()
        returns_hist.append(sum(rewards))
        batch_grads.append(grads)
        batch_rewards.append(rewards)
        if len(batch_grads) == episodes_per_update:
            disc = []
            for rs in batch_rewards:
                g, acc = np.zeros(len(rs)), 0.0
                for t in range(len(rs) - 1, -1, -1):
                    acc = rs[t] + gamma * acc
                    g[t] = acc
                disc.append(g)
            flat = np.concatenate(disc)
            mu, sd = flat.mean(), flat.std() or 1.0
            grad = sum(((g - mu) / sd) @ np.array(gs).reshape(len(gs), -1)
                       for g, gs in zip(disc, batch_grads)).reshape(W.shape) / episodes_per_update
            t_adam += 1
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad * grad
            W += lr * (m / (1 - 0.9 ** t_adam)) / (np.sqrt(v / (1 - 0.999 ** t_adam)) + 1e-8)
            batch_grads, batch_rewards = [], []
    return returns_hist, steps


def reinforce_steps_per_second(episodes=E2E_EPISODES, seeds=(0,)):
    """Env steps per second of a full training run (acting + updates), fastpg vs NumPy."""
    import time

    import gymnasium as gym

    from fastpg.agents import Reinforce
    res = {"fastpg": 0.0, "numpy": 0.0}
    tot = {"fastpg": [0, 0.0], "numpy": [0, 0.0]}
    for seed in seeds:
        env = gym.make("CartPole-v1")
        agent = Reinforce(env, seed=seed)
        hist = agent.train(env, episodes=episodes, seed=seed, progress=False)
        tot["fastpg"][0] += hist.steps
        tot["fastpg"][1] += hist.wall_time
        env = gym.make("CartPole-v1")
        t0 = time.perf_counter()
        _, steps = numpy_reinforce(env, episodes, seed)
        tot["numpy"][0] += steps
        tot["numpy"][1] += time.perf_counter() - t0
    for k in res:
        res[k] = tot[k][0] / tot[k][1]
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    t0 = time.perf_counter()
    n = 0
    while n < 50_000:
        _, _, te, tr, _ = env.step(env.action_space.sample())
        n += 1
        if te or tr:
            env.reset()
    res["env_only"] = n / (time.perf_counter() - t0)
    return res
