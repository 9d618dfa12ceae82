"""The multi-seed CartPole-v1 run for Reinforce's documented defaults.

    python bench/cartpole_seeds.py [--seeds 0,1,2,3,4] [--episodes 1000]
                                   [--env CartPole-v1 | fastpg/CartPole-v1] [--num-envs N]

For each seed: episodes until the mean return over 100 consecutive episodes
first reaches 475 (CartPole-v1's reward threshold), or "not solved", with the
steps and the wall time of the run. The issue's bar: solved within 1,000
episodes for at least 4 of 5 seeds. ``--env fastpg/CartPole-v1`` runs the
same agent on fastpg's compiled env (fused rollouts of the policy and the
env; one warm-up episode first, so that compilation is not timed).
"""
import argparse
import sys

import gymnasium as gym

from fastpg.agents import CARTPOLE, Reinforce


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--episodes", type=int, default=1000)
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--num-envs", type=int, default=1)
    args = ap.parse_args(argv)

    def make():
        if args.env.startswith("fastpg/"):
            import fastpg.envs  # noqa: F401  (registers fastpg/CartPole-v1)
            return gym.make_vec(args.env, num_envs=args.num_envs)
        return gym.make(args.env)
    if args.env.startswith("fastpg/"):  # compile the kernels before timing
        Reinforce(make(), seed=0).train(make(), episodes=1, seed=0, progress=False)
    seeds = [int(s) for s in args.seeds.split(",")]
    solved = 0
    for seed in seeds:
        env = make()
        agent = Reinforce(env, seed=seed, **CARTPOLE)
        hist = agent.train(env, episodes=args.episodes, seed=seed, progress=False, target=475,
                           stop_at_target=True)
        ok = hist.solved_at is not None
        solved += ok
        print(f"seed {seed}: " + (f"solved after {hist.solved_at} episodes" if ok else
                                  f"not solved in {args.episodes} episodes") +
              f" ({hist.steps} steps in {hist.wall_time:.2f} s, "
              f"{hist.steps / hist.wall_time:,.0f} steps/s)", flush=True)
    print(f"{solved} of {len(seeds)} seeds solved within {args.episodes} episodes on {args.env} "
          f"({CARTPOLE})")
    return 0 if solved >= 0.8 * len(seeds) else 1


if __name__ == "__main__":
    sys.exit(main())
