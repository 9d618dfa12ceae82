"""The other RL libraries on fastpg's workloads (`fastpg bench --peers`, and
the peer cases of bench/): rlax (jax.jit + vmap over the batch),
Stable-Baselines3, Tianshou, cpprb and PyTorch autograd, each on the same
inputs as fastpg in the same process, each result checked against fastpg's
once before it is timed (the env workloads' peers: fastpg.bench.peers_envs). A peer that is not installed, or that has no
equivalent of a workload, raises :class:`Unavailable` with the reason.

Install them with ``pip install "fastpg[peers]"`` (torch comes with
Stable-Baselines3; jax with rlax).
"""
from __future__ import annotations

import importlib

import numpy as np

from .run import _agree
from .workloads import REPLAY_BATCH, REPLAY_SIZES

GAMMA, LAM = 0.99, 0.95
T_B = (2048, 64)


class Unavailable(Exception):
    """The peer cannot run this workload here (the reason is the message)."""


def need(module):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"{module} is not installed ({exc})") from None


def _close(got, want, what):
    """The bench's float32 agreement (every workload here is float32; a peer
    may return a tensor or a float64 array)."""
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    if not _agree(got, want):
        diff = np.max(np.abs(got - want)) if got.shape == want.shape else "shapes differ"
        raise AssertionError(f"{what} disagrees with fastpg ({got.shape} vs {want.shape}, "
                             f"max |diff| {diff})")


# ------------------------------------------------------------------ returns
def returns_data(seed=0, T=T_B[0], B=T_B[1]):
    """Rewards, values (T + 1 rows: the last is the value after the last
    step), terminations (0.4% of steps) and log ratios, float32."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return dict(r=rng.standard_normal((T, B)).astype(f32),
                v=rng.standard_normal((T + 1, B)).astype(f32),
                term=rng.random((T, B)) < 0.004,
                log_rhos=(rng.standard_normal((T, B)) * 0.3).astype(f32))


def fastpg_returns(kernel, d, backend=None):
    """The fastpg call of a return workload (discounted returns bootstrap from
    nothing at the end of the data, as rlax with a zero value)."""
    import fastpg
    r, v, term = d["r"], d["v"], d["term"]
    if kernel == "discounted_returns":
        return lambda: fastpg.discounted_returns(r, GAMMA, term, backend=backend)
    if kernel == "lambda_returns":
        return lambda: fastpg.lambda_returns(r, v[1:], GAMMA, LAM, term, backend=backend)
    if kernel == "gae":
        return lambda: fastpg.gae(r, v[:-1], v[-1], GAMMA, LAM, term, backend=backend)
    if kernel == "vtrace":  # at lambda = 1, where rlax's definition and fastpg's agree
        return lambda: fastpg.vtrace(r, v[:-1], v[1:], d["log_rhos"], GAMMA, 1.0, term,
                                     backend=backend)
    raise ValueError(kernel)


def rlax_returns(kernel, d):
    """rlax's function for the workload, jitted and vmapped over the batch;
    checked against fastpg's reference first."""
    rlax, jax = need("rlax"), need("jax")
    r, v, term = d["r"], d["v"], d["term"]
    disc = np.where(term, 0.0, GAMMA).astype(np.float32)
    vm = lambda f: jax.jit(jax.vmap(f, in_axes=1, out_axes=1))  # noqa: E731
    if kernel == "discounted_returns":
        f, args = vm(lambda r_, d_, v_: rlax.discounted_returns(r_, d_, v_)), \
            (r, disc, np.zeros_like(r))
    elif kernel == "lambda_returns":
        f, args = vm(lambda r_, d_, v_: rlax.lambda_returns(r_, d_, v_, LAM)), (r, disc, v[1:])
    elif kernel == "gae":
        f, args = vm(lambda r_, d_, v_: rlax.truncated_generalized_advantage_estimation(
            r_, d_, LAM, v_)), (r, disc, v)
    elif kernel == "vtrace":
        f = vm(lambda v0, v1, r_, d_, p: rlax.vtrace_td_error_and_advantage(
            v0, v1, r_, d_, p, lambda_=1.0))
        args = (v[:-1], v[1:], r, disc, np.exp(d["log_rhos"]))
    else:
        raise Unavailable(f"rlax has no {kernel}")

    def fn():
        return jax.block_until_ready(f(*args))

    out, want = fn(), fastpg_returns(kernel, d, "numpy")()
    if kernel == "gae":
        _close(out, want[0], "rlax gae")
    elif kernel == "vtrace":
        _close(np.asarray(out.errors) + v[:-1], want[0], "rlax vtrace targets")
        _close(out.pg_advantage, want[1], "rlax vtrace advantages")
    else:
        _close(out, want, f"rlax {kernel}")
    return fn


def sb3_gae(d):
    """Stable-Baselines3's RolloutBuffer.compute_returns_and_advantage (its
    Python loop over time) on the same rollout."""
    need("stable_baselines3")
    th = need("torch")
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    r, v, term = d["r"], d["v"], d["term"]
    T, B = r.shape
    buf = RolloutBuffer(T, spaces.Box(-1, 1, (1,)), spaces.Discrete(2), device="cpu",
                        gae_lambda=LAM, gamma=GAMMA, n_envs=B)
    buf.rewards[:] = r
    buf.values[:] = v[:-1]
    buf.episode_starts[:] = 0
    buf.episode_starts[1:] = term[:-1]  # SB3 marks the step after a termination
    last, dones = th.as_tensor(v[-1]), term[-1].astype(np.float32)

    def fn():
        buf.compute_returns_and_advantage(last, dones)
        return buf.advantages

    _close(fn(), fastpg_returns("gae", d, "numpy")()[0], "Stable-Baselines3 gae")
    return fn


# ------------------------------------------------------------------- policy
def policy_data(seed=0, N=100_000, d=4, A=2):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return dict(X=rng.standard_normal((N, d)).astype(f32),
                W=(rng.standard_normal((d, A)) * 0.5).astype(f32),
                a=rng.integers(0, A, N), w=rng.standard_normal(N).astype(f32))


def fastpg_policy(d, backend=None):
    import fastpg
    return lambda: fastpg.linear_policy_grad(d["X"], d["a"], d["w"], d["W"], backend=backend)


def torch_policy(d):
    """∇_W Σ w_i log π(a_i | x_i) by PyTorch autograd (forward and backward)."""
    th = need("torch")
    X, a, w = th.from_numpy(d["X"]), th.from_numpy(d["a"]), th.from_numpy(d["w"])
    W = th.from_numpy(d["W"].copy()).requires_grad_(True)

    def fn():
        W.grad = None
        logp = th.log_softmax(X @ W, dim=1)
        (w * logp.gather(1, a[:, None])[:, 0]).sum().backward()
        return W.grad

    _close(fn().numpy(), fastpg_policy(d, "numpy")(), "torch autograd")
    return fn


# ------------------------------------------------------------------- replay
def replay_peer(peer, workload, size, small=False):
    """(fn, transitions per call) of a replay workload in a peer's buffer,
    filled as fastpg's (bench/bench_replay.py times fastpg's on the same)."""
    make = {"cpprb": _cpprb, "sb3": _sb3, "tianshou": _tianshou}[peer]
    return make(workload, size, small)


def _cpprb(workload, size, small):
    cpprb = need("cpprb")
    cap, shape, dt, store = REPLAY_SIZES[size]
    cap = 10_000 if small else cap
    env = {"obs": {"shape": shape, "dtype": dt}, "act": {"shape": 1, "dtype": np.int64},
           "rew": {}, "done": {}}
    kw = {} if store else {"next_of": "obs"}
    if store:
        env["next_obs"] = {"shape": shape, "dtype": dt}
    rng = np.random.default_rng(0)
    if workload in ("per_sample_update", "uniform_sample"):
        cls = (cpprb.PrioritizedReplayBuffer if workload == "per_sample_update"
               else cpprb.ReplayBuffer)
        buf = cls(cap, env, **kw)
        chunk = 1000
        obs = (rng.integers(0, 256, (chunk,) + shape) if dt == np.uint8
               else rng.normal(size=(chunk,) + shape)).astype(dt)
        for _ in range(0, cap, chunk):
            buf.add(obs=obs, act=np.zeros(chunk, np.int64), rew=np.zeros(chunk),
                    done=np.zeros(chunk), next_obs=obs)
        if workload == "uniform_sample":
            return (lambda: buf.sample(REPLAY_BATCH)), REPLAY_BATCH
        pr = rng.random(REPLAY_BATCH) + 0.1

        def fn():
            b = buf.sample(REPLAY_BATCH, beta=0.4)
            buf.update_priorities(b["indexes"], pr)
        return fn, REPLAY_BATCH
    buf = cpprb.ReplayBuffer(cap, env, **kw)
    # every slot written once, then emptied: adds timed in mapped memory
    # (fastpg.bench.workloads.touch_pages does the same to fastpg's)
    z = np.zeros((min(cap, 1 << 16),) + shape, dt)
    for start in range(0, cap, len(z)):
        m = min(len(z), cap - start)
        buf.add(obs=z[:m], act=np.zeros(m, np.int64), rew=np.zeros(m), next_obs=z[:m],
                done=np.zeros(m))
    buf.clear()
    o = np.zeros(shape, dt)
    if workload == "add_one":
        n = 2_000 if small else 20_000

        def fn():
            for _ in range(n):
                buf.add(obs=o, act=1, rew=0.5, next_obs=o, done=0)
        return fn, n
    O = np.zeros((64,) + shape, dt)
    A, R, D = np.ones(64, np.int64), np.full(64, 0.5), np.zeros(64)
    reps = 100

    def fn():
        for _ in range(reps):
            buf.add(obs=O, act=A, rew=R, next_obs=O, done=D)
    return fn, reps * 64


def _sb3(workload, size, small):
    need("stable_baselines3")
    from gymnasium import spaces
    from stable_baselines3.common.buffers import ReplayBuffer as SB3Buffer

    if workload not in ("add_one", "add_chunk64", "uniform_sample"):
        raise Unavailable("Stable-Baselines3 has no prioritized buffer")
    cap, shape, dt, _ = REPLAY_SIZES[size]
    cap = 10_000 if small else cap
    n_envs = 64 if workload == "add_chunk64" else 1
    obs_space = spaces.Box(-np.inf, np.inf, shape, dt)
    buf = SB3Buffer(cap, obs_space, spaces.Discrete(4), device="cpu", n_envs=n_envs)
    o = np.zeros((n_envs,) + shape, dt)
    a, r, d = np.ones((n_envs, 1)), np.full(n_envs, 0.5), np.zeros(n_envs)
    infos = [{}] * n_envs
    if workload == "uniform_sample":
        for _ in range(cap):
            buf.add(o, o, a, r, d, infos)
        return (lambda: buf.sample(REPLAY_BATCH)), REPLAY_BATCH
    n = (2_000 if small else 20_000) // n_envs * (4 if n_envs > 1 else 1)
    # its arrays' pages touched, as fastpg's buffer's (workloads.touch_pages)
    for arr in (buf.observations, getattr(buf, "next_observations", None), buf.actions,
                buf.rewards, buf.dones, buf.timeouts):
        if isinstance(arr, np.ndarray):
            arr.fill(0)

    def fn():
        for _ in range(n):
            buf.add(o, o, a, r, d, infos)
    return fn, n * n_envs


def _tianshou(workload, size, small):
    ts = need("tianshou")
    if workload not in ("per_sample_update", "uniform_sample"):
        raise Unavailable("Tianshou's add takes a Batch per step; not comparable here")
    cap, shape, dt, _ = REPLAY_SIZES[size]
    cap = 10_000 if small else cap
    cls = (ts.data.PrioritizedReplayBuffer if workload == "per_sample_update"
           else ts.data.ReplayBuffer)
    kw = dict(alpha=0.6, beta=0.4) if workload == "per_sample_update" else {}
    buf = cls(cap, **kw)
    o = np.zeros(shape, dt)
    for _ in range(cap):
        buf.add(ts.data.Batch(obs=o, act=1, rew=0.5, terminated=False, truncated=False,
                              obs_next=o, info={}))
    pr = np.random.default_rng(0).random(REPLAY_BATCH) + 0.1
    if workload == "uniform_sample":
        return (lambda: buf.sample(REPLAY_BATCH)), REPLAY_BATCH

    def fn():
        _, idx = buf.sample(REPLAY_BATCH)
        buf.update_weight(idx, pr)
    return fn, REPLAY_BATCH
