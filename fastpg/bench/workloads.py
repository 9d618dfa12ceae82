"""Workloads shared by bench/ (pytest-benchmark) and `fastpg bench`: inputs
and calls per family and size, and the seed-style loops they are compared with."""
import numpy as np

#: name -> (T, B, dtype); "quick" ones run in the default `fastpg bench`
SIZES = {
    "T2048xB64-f32": (2048, 64, np.float32),
    "flat1M-f32": (1_000_000, 1, np.float32),
    "flat16M-f32": (16_000_000, 1, np.float32),
    "T2048xB64-f64": (2048, 64, np.float64),
}
#: the default `fastpg bench` runs one size per family (it must finish in ~30 s)
QUICK = ("T2048xB64-f32",)


def make(size, seed=0):
    """Episodes of mean length 200 (p_end = 0.005), a few truncations."""
    T, B, dt = SIZES[size]
    rng = np.random.default_rng(seed)
    shape = (T,) if B == 1 else (T, B)
    r = rng.standard_normal(shape, dtype=np.float32).astype(dt, copy=False)
    v = rng.standard_normal(shape, dtype=np.float32).astype(dt, copy=False)
    term = rng.random(shape, dtype=np.float32) < 0.004
    trunc = rng.random(shape, dtype=np.float32) < 0.001
    nv = np.roll(v, -1, axis=0)
    # log pi(a|x) - log mu(a|x) for the off-policy kernels: ratios mostly near 1
    log_rhos = (rng.standard_normal(shape, dtype=np.float32) * 0.3).astype(dt, copy=False)
    return dict(rewards=r, values=v, next_values=nv, terminated=term, truncated=trunc,
                log_rhos=log_rhos)


def call(kernel, d, backend):
    import fastpg
    kw = dict(terminated=d["terminated"], truncated=d["truncated"], backend=backend)
    if kernel == "discounted_returns":
        return lambda: fastpg.discounted_returns(d["rewards"], 0.99, next_values=d["next_values"], **kw)
    if kernel == "gae":
        return lambda: fastpg.gae(d["rewards"], d["values"], d["next_values"], 0.99, 0.95, **kw)
    if kernel == "lambda_returns":
        return lambda: fastpg.lambda_returns(d["rewards"], d["next_values"], 0.99, 0.95, **kw)
    return lambda: fastpg.nstep_returns(d["rewards"], d["next_values"], 0.99, 5, **kw)


def call_offpolicy(kernel, d, backend):
    """V-trace (lam 1, the clips at 1) or Retrace (lam 0.95) on a returns workload."""
    import fastpg
    kw = dict(terminated=d["terminated"], truncated=d["truncated"], backend=backend)
    fn = getattr(fastpg, kernel)
    lam = 1.0 if kernel == "vtrace" else 0.95
    return lambda: fn(d["rewards"], d["values"], d["next_values"], d["log_rhos"], 0.99, lam, **kw)


def seed_style_loop(d, gamma=0.99):
    """The seed notebooks' per-element Python loop (flat stream, terminations only)."""
    r = d["rewards"].ravel()
    term = d["terminated"].ravel()
    out = np.empty_like(r)
    acc = 0.0
    for t in range(len(r) - 1, -1, -1):
        if term[t]:
            acc = 0.0
        acc = r[t] + gamma * acc
        out[t] = acc
    return out


# ---- policy kernels -----------------------------------------------------------

#: name -> (N, d, A, dtype); the action-feature kernels use N_PHI rows at most
#: (phi is (N, A, d): 100k x 18 x 64 float32 would be 460 MB per copy)
POLICY_SIZES = {
    "N100k-d4-A2-f32": (100_000, 4, 2, np.float32),
    "N100k-d64-A18-f32": (100_000, 64, 18, np.float32),
}
POLICY_QUICK = ("N100k-d4-A2-f32",)
N_PHI = 10_000


def make_policy(size, seed=0):
    N, d, A, dt = POLICY_SIZES[size]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d), dtype=np.float32).astype(dt, copy=False)
    W = (rng.standard_normal((d, A), dtype=np.float32) / np.sqrt(d)).astype(dt, copy=False)
    logits = X @ W
    n_phi = min(N, N_PHI)
    return dict(X=X, W=W, logits=logits, probs=np.exp(logits - logits.max(1, keepdims=True)) /
                np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True),
                v=rng.standard_normal((N, A), dtype=np.float32).astype(dt, copy=False),
                actions=rng.integers(0, A, N), weights=rng.standard_normal(N).astype(dt),
                phi=rng.standard_normal((n_phi, A, d), dtype=np.float32).astype(dt, copy=False),
                theta=(rng.standard_normal(d) / np.sqrt(d)).astype(dt))


def policy_rows(kernel, size):
    """Rows (state-action pairs) one call processes."""
    N = POLICY_SIZES[size][0]
    return min(N, N_PHI) if kernel in ("compatible_features", "action_feature_grad") else N


def call_policy(kernel, d, backend):
    import fastpg.policy as P
    b = dict(backend=backend)
    n_phi = len(d["phi"])
    f = {
        "softmax": lambda: P.softmax(d["logits"], **b),
        "log_softmax": lambda: P.log_softmax(d["logits"], **b),
        "softmax_jacobian": lambda: P.softmax_jacobian(d["probs"], **b),
        "softmax_jvp": lambda: P.softmax_jvp(d["probs"], d["v"], **b),
        "log_prob_grad": lambda: P.log_prob_grad(d["logits"], d["actions"], **b),
        "linear_policy_probs": lambda: P.linear_policy_probs(d["X"], d["W"], **b),
        "linear_policy_grad": lambda: P.linear_policy_grad(d["X"], d["actions"], d["weights"],
                                                           d["W"], **b),
        "compatible_features": lambda: P.compatible_features(d["phi"], d["theta"], **b),
        "action_feature_grad": lambda: P.action_feature_grad(
            d["phi"], d["actions"][:n_phi], d["weights"][:n_phi], d["theta"], **b),
        "sample_categorical": lambda: P.sample_categorical(d["logits"], 0, **b),
        "entropy": lambda: P.entropy(d["logits"], **b),
        "policy_gradient_loss": lambda: P.policy_gradient_loss(d["logits"], d["actions"],
                                                               d["weights"], **b),
    }
    return f[kernel]


def seed_policy_loop(d):
    """The seed notebook's per-sample REINFORCE gradient loop (softmax_grad, dlog, state.T @ dlog)."""
    from fastpg.reference.policy import seed_per_step_grad
    X, W, a, w = d["X"], d["W"], d["actions"], d["weights"]
    grad = np.zeros(W.shape)
    for i in range(len(X)):
        z = X[i] @ W
        p = np.exp(z - z.max())
        p /= p.sum()
        grad += w[i] * seed_per_step_grad(X[i], p, a[i])
    return grad


# ---- tabular kernels -----------------------------------------------------------

#: name -> (S, A, N transitions, dtype)
TABULAR_SIZES = {
    "S500xA6-N1M-f64": (500, 6, 1_000_000, np.float64),
    "S500xA6-N1M-f32": (500, 6, 1_000_000, np.float32),
    "S10000xA4-N1M-f64": (10_000, 4, 1_000_000, np.float64),
    "S10000xA4-N1M-f32": (10_000, 4, 1_000_000, np.float32),
}
TABULAR_QUICK = ("S500xA6-N1M-f64",)
#: the reference's Python loop runs on this many transitions (rates are compared);
#: N_REF_QUICK in the default `fastpg bench`
N_REF = 50_000
N_REF_QUICK = 5_000
TABULAR_UPDATES = ("q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0")
#: value iteration: (S, A, K); K = None is a dense P, else K next states per (s, a)
VI_SIZES = {"VI-S500xA6": (500, 6, None), "VI-S5000xA8-K10": (5000, 8, 10)}
VI_QUICK = ("VI-S5000xA8-K10",)


def make_tabular(size, seed=0):
    S, A, N, dt = TABULAR_SIZES[size]
    rng = np.random.default_rng(seed)
    return dict(Q=rng.standard_normal((S, A)).astype(dt), V=rng.standard_normal(S).astype(dt),
                states=rng.integers(0, S, N), actions=rng.integers(0, A, N),
                rewards=rng.standard_normal(N).astype(dt), next_states=rng.integers(0, S, N),
                next_actions=rng.integers(0, A, N), terminated=rng.random(N) < 0.01,
                which=rng.integers(0, 2, N))


def _head(d, n):
    return {k: (v[:n] if k not in ("Q", "V") else v) for k, v in d.items()}


def call_tabular(kernel, d, backend, n_ref=N_REF):
    """A callable for one timing, and the transitions it processes (the
    reference runs on the first n_ref transitions only: it is a Python loop)."""
    import fastpg.tabular as T
    if backend == "numpy":
        d = _head(d, n_ref)
    n = len(d["states"])
    Q, Q2, V = d["Q"].copy(), d["Q"].copy(), d["V"].copy()
    c = (d["states"], d["actions"], d["rewards"], d["next_states"])
    b = dict(gamma=0.99, alpha=0.1, backend=backend)
    f = {
        "q_learning": lambda: T.q_learning(Q, *c, d["terminated"], **b),
        "sarsa": lambda: T.sarsa(Q, *c, d["next_actions"], d["terminated"], **b),
        "expected_sarsa": lambda: T.expected_sarsa(Q, *c, d["terminated"], epsilon=0.1, **b),
        "double_q_learning": lambda: T.double_q_learning(Q, Q2, *c, d["which"], d["terminated"], **b),
        "td0": lambda: T.td0(V, d["states"], d["rewards"], d["next_states"], d["terminated"], **b),
        "epsilon_greedy": lambda: T.epsilon_greedy(Q, d["states"], 0.1, 0, backend=backend),
    }[kernel]
    return f, n


def add_at_q_learning(d):
    """The np.add.at batch variant (different semantics: every TD error is taken
    from the table before the batch, and duplicates add up)."""
    Q = d["Q"].copy()
    s, a, s2 = d["states"], d["actions"], d["next_states"]
    n = len(s)

    def run():
        target = d["rewards"] + 0.99 * (~d["terminated"]) * Q[s2].max(axis=1)
        np.add.at(Q, (s, a), 0.1 * (target - Q[s, a]))
    return run, n


def make_vi(size, seed=0):
    S, A, K = VI_SIZES[size]
    rng = np.random.default_rng(seed)
    if K is None:
        P = rng.random((S, A, S)) ** 8  # mass concentrated on a few next states
        P /= P.sum(axis=2, keepdims=True)
    else:  # sparse-ish: K next states per pair (a dense P would be S*A*S*8 = 1.6 GB)
        probs = rng.random((S, A, K))
        probs /= probs.sum(axis=2, keepdims=True)
        P = (rng.integers(0, S, (S, A, K)), probs)
    return dict(P=P, R=rng.standard_normal((S, A)))


def call_vi(d, backend):
    import fastpg.tabular as T
    return lambda: T.value_iteration(d["P"], d["R"], 0.95, tol=1e-8, backend=backend)


def rollout_steps_per_second(n_steps=2_000_000, backends=("numba", "cython")):
    """The fused TabularMDP + ε-greedy + Q-learning kernel on the HOML MDP (the
    chapter's settings: uniform exploration, α_k = 0.05 / (1 + 0.005 k), γ 0.9)."""
    import time

    import fastpg.tabular as T
    from fastpg.envs.tabular_mdp import HOML_P, HOML_POSSIBLE_ACTIONS, HOML_R
    mask = np.zeros((3, 3), bool)
    for s, acts in enumerate(HOML_POSSIBLE_ACTIONS):
        mask[s, acts] = True
    res = {}
    for be in backends:
        Q = np.where(mask, 0.0, -np.inf)
        T.q_learning_rollout(Q, HOML_P, HOML_R, 1000, action_mask=mask, rng=0, backend=be)
        t0 = time.perf_counter()
        T.q_learning_rollout(Q, HOML_P, HOML_R, n_steps, action_mask=mask, alpha=0.05,
                             alpha_decay=0.005, gamma=0.9, rng=0, backend=be)
        res[be] = n_steps / (time.perf_counter() - t0)
    return res


#: fastpg's compiled env ids -> (the peer that `fastpg bench --full` times them
#: against, its number of actions): gymnasium's NumPy CartPoleVectorEnv, else
#: gymnasium's SyncVectorEnv of gymnasium's env or of fastpg's Python env
COMPILED_ENVS = {"fastpg/CartPole-v1": ("CartPoleVectorEnv", 2),
                 "fastpg/MountainCar-v0": ("MountainCar-v0", 3),
                 "fastpg/Acrobot-v1": ("Acrobot-v1", 3),
                 "fastpg/GridWorld-v0": ("fastpg/GridWorld-v0", 4),
                 "fastpg/ThreeStateMDP-v0": ("fastpg/ThreeStateMDP-v0", 3)}


def env_steps_per_second(env_id, n_envs, backends, steps=300):
    """A compiled vector env stepped through the gymnasium API with random
    actions drawn beforehand, on each backend, and its peer (``COMPILED_ENVS``,
    key "gymnasium"), best of 3 runs of ``steps`` steps (a third of them for a
    SyncVectorEnv, which is slow)."""
    import time

    import gymnasium as gym
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

    import fastpg.envs  # noqa: F401  (registers the fastpg/ ids)
    peer, n_actions = COMPILED_ENVS[env_id]
    makers = {b: (lambda b=b: gym.make_vec(env_id, num_envs=n_envs, backend=b))
              for b in backends}
    makers["gymnasium"] = (lambda: CartPoleVectorEnv(num_envs=n_envs)) \
        if peer == "CartPoleVectorEnv" else \
        (lambda: gym.make_vec(peer, num_envs=n_envs, vectorization_mode="sync"))
    res = {}
    for name, make in makers.items():
        k = steps if name != "gymnasium" or peer == "CartPoleVectorEnv" else max(1, steps // 3)
        actions = np.random.default_rng(0).integers(0, n_actions, (k, n_envs))
        env = make()
        env.reset(seed=0)
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            for a in actions:
                env.step(a)
            best = min(best, time.perf_counter() - t0)
        res[name] = k * n_envs / best
    return res


#: the fused-rollout benchmarks' linear softmax policy (W[:4] observation
#: weights, W[4] the bias): it keeps some poles up and drops others, so that
#: episodes end and restart
ROLLOUT_W = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 8.0], [0.0, 2.0], [0.0, 0.0]])


def cartpole_rollout_steps_per_second(n_envs, backends, steps=500):
    """fastpg/CartPole-v1's fused rollout of ROLLOUT_W, ``steps`` x ``n_envs``
    steps per call into the same ``out=`` arrays (a training loop's steady
    state: fresh arrays add their first-touch page faults, ~40% more time at
    64 envs), best of 3."""
    import time

    from fastpg.envs import CartPoleVectorEnv
    res = {}
    for b in backends:
        env = CartPoleVectorEnv(n_envs, backend=b)
        env.reset(seed=0)
        out = env.rollout(ROLLOUT_W, steps, rng=0)  # compiled or loaded before timing
        best = np.inf
        for k in range(3):
            t0 = time.perf_counter()
            env.rollout(ROLLOUT_W, steps, rng=k, out=out)
            best = min(best, time.perf_counter() - t0)
        res[b] = steps * n_envs / best
    return res


# ------------------------------------------------------------------ replay
#: name -> (capacity, obs_shape, obs_dtype, store_next_obs). (b) is the Atari
#: shape: frames are large, so next_obs is read from the next slot.
REPLAY_SIZES = {
    "C1M-obs4f32": (1_000_000, (4,), np.float32, True),
    "C100k-obs84x84u8": (100_000, (84, 84), np.uint8, False),
}
#: workload -> the sizes it runs on
REPLAY_WORKLOADS = {
    "per_sample_update": ("C1M-obs4f32", "C100k-obs84x84u8"),  # (a), (b)
    "uniform_sample": ("C1M-obs4f32",),                         # (c)
    "add_one": ("C1M-obs4f32",),                                # (d) one at a time
    "add_chunk64": ("C1M-obs4f32",),                            # (d) chunks of 64
}
#: the default `fastpg bench` leaves out (b): filling 100k frames takes seconds
REPLAY_QUICK = ("C1M-obs4f32",)
REPLAY_BATCH = 256


def make_replay(size, seed=0, capacity=None):
    """A filled PrioritizedReplayBuffer of the given size (capacity may be cut for CI)."""
    from ..replay import PrioritizedReplayBuffer

    cap, shape, dt, store = REPLAY_SIZES[size]
    cap = capacity or cap
    rng = np.random.default_rng(seed)
    buf = PrioritizedReplayBuffer(cap, shape, dt, store_next_obs=store)
    chunk = min(cap, 1000 if np.prod(shape) > 100 else 100_000)
    if dt == np.uint8:
        pool = rng.integers(0, 256, (chunk + 1,) + shape, dtype=np.uint8)
    else:
        pool = rng.normal(size=(chunk + 1,) + shape).astype(dt)
    for start in range(0, cap, chunk):
        m = min(chunk, cap - start)
        buf.extend(pool[:m], rng.integers(0, 4, m), rng.normal(size=m), pool[1:m + 1],
                   rng.random(m) < 0.01, rng.random(m) < 0.01)
    buf.update_priorities(np.arange(cap), rng.random(cap))
    return dict(buf=buf, rng=rng, shape=shape, dtype=dt, size=size)


def touch_pages(buf, shape, dtype):
    """Write every slot of a new buffer once, then empty it: the adds are
    timed in memory the OS has mapped, as in a buffer in use. In a fresh
    buffer each call of an add workload writes new pages (80k transitions
    a call into 1M slots), whose first-touch faults made one backend's row
    2-5x another's, depending on which allocation reused freed memory."""
    n = buf.capacity
    chunk = min(n, 1 << 16)
    o = np.zeros((chunk,) + shape, dtype)
    a, r, f = np.ones(chunk, np.int64), np.zeros(chunk, np.float32), np.zeros(chunk, bool)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        buf.extend(o[:m], a[:m], r[:m], o[:m], f[:m], f[:m])
    buf.clear()


def call_replay(workload, d, backend, n_add=20_000):
    """(fn, transitions per call) for a replay workload on one backend."""
    from ..replay import ReplayBuffer

    buf, rng, B = d["buf"], d["rng"], REPLAY_BATCH
    buf.backend = backend
    if workload == "per_sample_update":
        pr = rng.random(B)

        def fn():
            b = buf.sample(B, rng)
            buf.update_priorities(b.indices, pr)
        return fn, B
    if workload == "uniform_sample":
        uni = d.get("uniform")
        if uni is None:  # the same data in a uniform buffer (shares no memory)
            uni = d["uniform"] = ReplayBuffer(buf.capacity, d["shape"], d["dtype"])
            f = buf._f
            uni.extend(f["obs"].data, f["action"].data, f["reward"].data, f["next_obs"].data,
                       f["terminated"].data, f["truncated"].data)
        uni.backend = backend
        return (lambda: uni.sample(B, rng)), B
    # adds into an empty buffer of the same capacity (writes wrap after it fills)
    new = ReplayBuffer(buf.capacity, d["shape"], d["dtype"], backend=backend)
    touch_pages(new, d["shape"], d["dtype"])
    o = np.zeros(d["shape"], d["dtype"])
    if workload == "add_one":
        def fn():
            add = new.add
            for i in range(n_add):
                add(o, 1, 0.5, o, False, False)
        fn.buffer = new  # what the benchmark checks: every transition written as given
        return fn, n_add
    O = np.zeros((64,) + d["shape"], d["dtype"])
    A, R, D = np.ones(64, np.int64), np.full(64, 0.5, np.float32), np.zeros(64, bool)
    reps = n_add // 64 * 4

    def fn():
        ext = new.extend
        for _ in range(reps):
            ext(O, A, R, O, D, D)
    fn.buffer = new  # what the benchmark checks: every transition written as given
    return fn, reps * 64
