"""IMPALA-style actor-critic on CartPole-v1: an actor acts with a stale copy of
the policy, the learner corrects for the lag with fastpg.vtrace (Espeholt et
al., 2018). One process, no threads: the actor's parameters are refreshed
only every ``--lag`` updates, so the behaviour policy really differs from the
one being learned, as with remote actors.

Each update takes a (T, N) batch from N envs (gymnasium's vector env with
same-step autoreset, so a truncated episode's final observation is in
``info["final_obs"]`` and bootstraps through ``next_values``), computes
``log_rhos = log pi(a|x) - log mu(a|x)``, and gets the value targets ``vs``
and the policy-gradient advantages from one ``fastpg.vtrace`` call on torch
tensors (tensors in, tensors out).

    python examples/torch_vtrace.py [--updates 300] [--lag 4] [--seed 0]
"""
import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import nn

import fastpg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=300)
    ap.add_argument("--lag", type=int, default=4, help="updates between actor refreshes")
    ap.add_argument("--steps", type=int, default=32, help="T, steps per env per update")
    ap.add_argument("--envs", type=int, default=8, help="N")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--lr", type=float, default=3e-3)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    T, N = args.steps, args.envs
    env = gym.make_vec("CartPole-v1", num_envs=N, vectorization_mode="sync",
                       vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
    net = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 3))  # 2 logits, 1 value
    actor = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 3))
    actor.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    obs, _ = env.reset(seed=args.seed)
    ep_return = np.zeros(N)
    finished = []
    t0 = time.perf_counter()
    for update in range(args.updates):
        if update % args.lag == 0:
            actor.load_state_dict(net.state_dict())
        X = np.empty((T + 1, N, 4), np.float32)
        final = np.empty((T, N, 4), np.float32)  # the observation each step led to
        acts = np.empty((T, N), np.int64)
        mu_logp = np.empty((T, N), np.float32)
        rew = np.empty((T, N), np.float32)
        term = np.empty((T, N), bool)
        trunc = np.empty((T, N), bool)
        for t in range(T):
            X[t] = obs
            with torch.no_grad():
                logits = actor(torch.from_numpy(X[t]))[:, :2]
            acts[t] = fastpg.sample_categorical(logits, rng).numpy()
            mu_logp[t] = torch.log_softmax(logits, 1).numpy()[np.arange(N), acts[t]]
            obs, rew[t], term[t], trunc[t], info = env.step(acts[t])
            done = term[t] | trunc[t]
            final[t] = obs
            if done.any():
                final[t, done] = np.stack(info["final_obs"][done])
            ep_return += rew[t]
            finished += list(ep_return[done])
            ep_return[done] = 0
        X[T] = obs
        out = net(torch.from_numpy(X[:T]).reshape(T * N, 4)).reshape(T, N, 3)
        logp_all = torch.log_softmax(out[..., :2], -1)
        logp = logp_all.gather(-1, torch.from_numpy(acts)[..., None])[..., 0]
        values = out[..., 2]
        with torch.no_grad():
            next_values = net(torch.from_numpy(final).reshape(T * N, 4))[:, 2].reshape(T, N)
            log_rhos = logp - torch.from_numpy(mu_logp)
            vs, pg_adv = fastpg.vtrace(torch.from_numpy(rew), values.detach(), next_values,
                                       log_rhos, args.gamma, 1.0, torch.from_numpy(term),
                                       torch.from_numpy(trunc))
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        loss = (-(logp * pg_adv).mean() + 0.5 * ((vs - values) ** 2).mean()
                - 0.01 * entropy.mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (update + 1) % 50 == 0 and finished:
            print(f"update {update + 1:4d}: mean return of the last 20 episodes "
                  f"{np.mean(finished[-20:]):6.1f}", flush=True)
    wall = time.perf_counter() - t0
    print(f"V-trace actor-critic (actor lag {args.lag} updates): {args.updates} updates, "
          f"{args.updates * T * N} steps in {wall:.1f} s; mean return of the last 20: "
          f"{np.mean(finished[-20:]):.1f} (max 500)")


if __name__ == "__main__":
    main()
