"""REINFORCE on CartPole-v1 with a small PyTorch MLP; actions are drawn by
fastpg.sample_categorical and the discounted returns come from
fastpg.discounted_returns (tensors in give tensors out, no copy).

Each update uses a batch of episodes as one flat stream: the ``terminated``
and ``truncated`` flags delimit the episodes, so one call computes every
episode's returns (a time-limit end is treated as the end of the data: no
value function here to bootstrap from). Returns are normalised over the
batch, as in PyTorch's own REINFORCE example.

    python examples/torch_reinforce.py [--episodes 400] [--seed 0]
"""
import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import fastpg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--episodes-per-update", type=int, default=4)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    env = gym.make("CartPole-v1")
    policy = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=args.lr)
    returns_hist = []
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    obs, _ = env.reset(seed=args.seed)
    while len(returns_hist) < args.episodes:
        observations, actions, rewards, terms, truncs = [], [], [], [], []
        for _ in range(args.episodes_per_update):
            start, done = len(rewards), False
            while not done:
                with torch.no_grad():  # acting needs no graph: one batched pass per update
                    logits = policy(torch.from_numpy(obs))
                action = int(fastpg.sample_categorical(logits, rng))
                observations.append(obs)
                actions.append(action)
                obs, reward, terminated, truncated, _ = env.step(action)
                rewards.append(reward)
                terms.append(terminated)
                truncs.append(truncated)
                done = terminated or truncated
            returns_hist.append(float(sum(rewards[start:])))
            obs, _ = env.reset()
        # G_t = r_t + gamma G_{t+1} within each episode of the flat stream (a
        # truncated episode bootstraps from next_values, here none: 0)
        G = fastpg.discounted_returns(torch.tensor(rewards, dtype=torch.float32), args.gamma,
                                      terminated=torch.tensor(terms),
                                      truncated=torch.tensor(truncs))
        G = (G - G.mean()) / (G.std() + 1e-8)
        logp = torch.log_softmax(policy(torch.from_numpy(np.array(observations))), dim=1)
        logp = logp.gather(1, torch.tensor(actions)[:, None])[:, 0]
        loss = -(logp * G).sum() / args.episodes_per_update
        opt.zero_grad()
        loss.backward()
        opt.step()
        if len(returns_hist) % 100 == 0:
            print(f"episode {len(returns_hist):4d}: mean return of the last 100 "
                  f"{np.mean(returns_hist[-100:]):6.1f}", flush=True)
    wall = time.perf_counter() - t0
    print(f"REINFORCE (MLP, returns from fastpg.discounted_returns): {args.episodes} episodes "
          f"in {wall:.1f} s; mean return of the last 100: {np.mean(returns_hist[-100:]):.1f} "
          "(max 500)")


if __name__ == "__main__":
    main()
