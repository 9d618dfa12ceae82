"""DQN on CartPole-v1 in one file (CleanRL style), with fastpg's prioritized
n-step replay: the replay-based deep Q-learning of the Neuromatch and HOML
tutorials, with the parts they leave out done properly.

* Transitions keep gymnasium's two flags: ``terminated`` (no bootstrap) and
  ``truncated`` (the 500-step time limit: bootstrap from the final
  observation), so the target never treats a time limit as a terminal state.
* n-step returns are summed at sample time and never cross an episode end:
  ``target = batch.reward + batch.discount * max_a Q_target(batch.next_obs, a)``
  with ``discount`` = gamma^m, or 0 after a termination.
* Proportional prioritized replay: the loss is weighted by ``batch.weights``,
  |TD errors| go back with ``update_priorities``, beta is annealed to 1.

    python examples/torch_dqn.py [--steps 30000] [--seed 0]
"""
import argparse
import copy
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import fastpg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-step", type=int, default=3)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--learning-starts", type=int, default=1000)
    ap.add_argument("--train-every", type=int, default=2)
    ap.add_argument("--target-every", type=int, default=500)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    env = gym.make("CartPole-v1")
    env.action_space.seed(args.seed)
    n_obs, n_act = env.observation_space.shape[0], env.action_space.n
    q = nn.Sequential(nn.Linear(n_obs, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, n_act))
    q_target = copy.deepcopy(q)
    opt = torch.optim.Adam(q.parameters(), lr=args.lr)
    buf = fastpg.PrioritizedReplayBuffer(50_000, obs_shape=(n_obs,), alpha=0.6, beta=0.4)

    obs, _ = env.reset(seed=args.seed)
    ep_return, returns = 0.0, []
    t0 = time.perf_counter()
    for step in range(args.steps):
        eps = max(0.05, 1.0 - step / (0.3 * args.steps))  # linear decay over 30% of the run
        if rng.random() < eps:
            action = int(env.action_space.sample())
        else:
            with torch.no_grad():
                action = int(q(torch.from_numpy(obs)).argmax())
        nxt, reward, terminated, truncated, _ = env.step(action)
        buf.add(obs, action, float(reward), nxt, terminated, truncated)
        ep_return += reward
        if terminated or truncated:
            returns.append(ep_return)
            ep_return = 0.0
            obs, _ = env.reset()
        else:
            obs = nxt

        if step >= args.learning_starts and step % args.train_every == 0:
            buf.beta = min(1.0, 0.4 + 0.6 * step / args.steps)
            b = buf.sample(args.batch_size, rng, n_step=args.n_step, gamma=args.gamma)
            with torch.no_grad():
                next_q = q_target(torch.from_numpy(b.next_obs)).max(dim=1).values
                target = torch.from_numpy(b.reward) + torch.from_numpy(b.discount) * next_q
            q_sa = q(torch.from_numpy(b.obs)).gather(1, torch.from_numpy(b.action)[:, None])[:, 0]
            loss = (torch.from_numpy(b.weights) * F.smooth_l1_loss(q_sa, target,
                                                                   reduction="none")).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            buf.update_priorities(b.indices, (target - q_sa).abs().detach().numpy())
        if step % args.target_every == 0:
            q_target.load_state_dict(q.state_dict())
        if step % 5000 == 0 and returns:
            print(f"step {step:6d}: mean return of the last 20 episodes "
                  f"{np.mean(returns[-20:]):6.1f}, epsilon {eps:.2f}", flush=True)

    wall = time.perf_counter() - t0
    print(f"DQN + fastpg prioritized {args.n_step}-step replay: {args.steps:,} steps in "
          f"{wall:.1f} s, {len(returns)} episodes; mean return of the last 20: "
          f"{np.mean(returns[-20:]):.1f} (max 500)")


if __name__ == "__main__":
    main()
