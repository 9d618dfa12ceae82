"""IMPALA on Ray (Espeholt et al. 2018): actors that act with a stale policy,
one learner that corrects the lag with V-trace.

Two :class:`fastpg.distributed.RolloutWorker` actors step 16 compiled
CartPole-v1 envs each (``fastpg/CartPole-v1``: one fused kernel call per
trajectory of 64 steps) with the linear softmax policy W they were sent. The
learner takes whichever trajectory arrives first, sends that actor the
current W at once (so the actors keep acting while it learns: their policy
lags behind the learner's by an update or more), and learns from it:

* log ρ_t = log π_W(a_t | x_t) - log μ(a_t | x_t), with μ the actor's policy
  (its log-probabilities come with the trajectory);
* :func:`fastpg.vtrace` gives the value targets v_s and the policy-gradient
  advantages (ρ̄ = c̄ = 1) from a linear value V(x) = (x, 1)ᵀ u;
* u moves towards v_s; W takes an Adam step along
  :func:`fastpg.linear_policy_grad` with the normalised advantages.

An episode cut by the 500-step limit inside a trajectory bootstraps from the
value of its last observation (the trajectory keeps no final observation).

Run: ``python examples/ray_impala_cartpole.py`` (a local Ray with 2 CPUs). On
a cluster: ``--address auto`` on the head node, ``--actors`` as many as the
cluster has CPUs to spare; only W (10 numbers) goes out and (T, N) arrays
come back, through Ray's object store. Prints the learning curve: mean
return of the last 100 episodes against env steps, wall time and the policy
lag (updates between the W an actor used and the learner's).
"""
import argparse
import time

import numpy as np

import fastpg


def features(obs):
    return np.concatenate([obs, np.ones(obs.shape[:-1] + (1,), obs.dtype)], axis=-1)


class Adam:
    def __init__(self, shape, lr):
        self.lr, self.m, self.v, self.t = lr, np.zeros(shape), np.zeros(shape), 0

    def step(self, param, grad):
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grad
        self.v = 0.999 * self.v + 0.001 * grad * grad
        param += self.lr * (self.m / (1 - 0.9 ** self.t)) / (
            np.sqrt(self.v / (1 - 0.999 ** self.t)) + 1e-8)


def learn(traj, W, u, opt, gamma, value_lr):
    """One V-trace update of W (in place, Adam) and u (in place) from a trajectory."""
    X = features(traj["obs"].astype(np.float64))  # (T, N, 5)
    T, N = traj["actions"].shape
    logp = fastpg.log_softmax(X @ W)
    log_rhos = np.take_along_axis(logp, traj["actions"][..., None], -1)[..., 0] - \
        traj["log_probs"]
    v = X @ u
    next_v = np.concatenate([v[1:], (features(traj["last_obs"].astype(np.float64)) @ u)[None]])
    next_v = np.where(traj["truncated"], v, next_v)  # no final observation: its own value
    vs, adv = fastpg.vtrace(traj["rewards"], v, next_v, log_rhos, gamma,
                            terminated=traj["terminated"], truncated=traj["truncated"])
    u += value_lr * (X.reshape(-1, 5).T @ (vs - v).ravel()) / (T * N)
    a = (adv - adv.mean()) / (adv.std() + 1e-8)
    grad = fastpg.linear_policy_grad(X.reshape(-1, 5), traj["actions"].ravel(), a.ravel(), W)
    opt.step(W, grad / N)
    return float(np.exp(log_rhos).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--envs", type=int, default=16, help="envs per actor")
    ap.add_argument("--unroll", type=int, default=64, help="steps per trajectory")
    ap.add_argument("--updates", type=int, default=800)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--address", default=None, help="a Ray cluster (default: a local one)")
    args = ap.parse_args(argv)

    import ray

    from fastpg.distributed import RolloutWorker, init
    init(args.address)  # a cluster, or a local Ray with 2 CPUs
    try:
        W, u = np.zeros((5, 2)), np.zeros(5)
        opt = Adam(W.shape, args.lr)
        workers = [RolloutWorker.remote("fastpg/CartPole-v1", num_envs=args.envs,
                                        seed=args.seed + k) for k in range(args.actors)]
        pending = {}
        for w in workers:
            ray.get(w.set_weights.remote(W.copy(), 0))
            pending[w.trajectories.remote(args.unroll)] = w
        returns, steps, lags = [], 0, []
        t0 = time.perf_counter()
        print("update  env steps  wall s  mean return (last 100)  policy lag  mean rho")
        for update in range(1, args.updates + 1):
            [ref], _ = ray.wait(list(pending), num_returns=1)
            w = pending.pop(ref)
            traj = ray.get(ref)
            lags.append(update - 1 - traj["version"])
            rho = learn(traj, W, u, opt, args.gamma, 0.01)
            ray.get(w.set_weights.remote(W.copy(), update))  # before its next trajectory
            pending[w.trajectories.remote(args.unroll)] = w
            returns += traj["episode_returns"]
            steps += traj["actions"].size
            if update % 50 == 0 or update == args.updates:
                print(f"{update:6d} {steps:10d} {time.perf_counter() - t0:7.1f}  "
                      f"{np.mean(returns[-100:]):22.1f}  {np.mean(lags[-50:]):10.2f}"
                      f"  {rho:8.3f}", flush=True)
        print(f"IMPALA on fastpg/CartPole-v1: {len(returns)} episodes, {steps} env steps in "
              f"{time.perf_counter() - t0:.1f} s; mean return of the last 100: "
              f"{np.mean(returns[-100:]):.1f}")
        return float(np.mean(returns[-100:]))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
