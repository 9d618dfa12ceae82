"""Prioritized DQN on CartPole-v1: SB3's DQN with proportional prioritized
replay (Schaul et al., 2016), which SB3 itself lacks, and 3-step returns.

The loss is weighted by the importance weights, |TD errors| are written back
as priorities after each gradient step, and beta is annealed to 1 over the
run. Hyper-parameters: RL-Zoo's for CartPole-v1, with a smaller network and
fewer steps so that the example runs in well under a minute.

    python examples/sb3_dqn_per.py [--steps 20000] [--seed 0]
"""
import argparse
import time

from stable_baselines3.common.evaluation import evaluate_policy

from fastpg.integrations.sb3 import PrioritizedDQN


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = PrioritizedDQN("MlpPolicy", "CartPole-v1", alpha=0.6, beta=0.4, n_steps=3,
                           learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                           learning_starts=1000, gamma=0.99, target_update_interval=10,
                           train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                           exploration_final_eps=0.04, policy_kwargs={"net_arch": [64, 64]},
                           seed=args.seed, device="cpu")
    t0 = time.perf_counter()
    model.learn(args.steps)
    wall = time.perf_counter() - t0
    mean, std = evaluate_policy(model, model.get_env(), n_eval_episodes=10)
    buf = model.replay_buffer.buffer
    print(f"PrioritizedDQN (3-step): {args.steps:,} steps in {wall:.1f} s; greedy return "
          f"{mean:.1f} +- {std:.1f} (max 500); {len(buf):,} transitions, largest priority "
          f"{buf.max_priority:.2f}, beta {model.replay_buffer.beta:.2f}")


if __name__ == "__main__":
    main()
