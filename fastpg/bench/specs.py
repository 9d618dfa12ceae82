"""The kernel table: one :class:`KernelSpec` per registered kernel.

Each spec says how to build a call of the kernel at a named size and dtype
and how to make it on a given backend. The table drives the generic parity
test (every compiled backend against the NumPy reference, every array
argument and the result compared after the call), the completeness test
(every name of ``_backend.REGISTRY`` has exactly one spec), the call-path
tests (tensors and read-only arrays in, at size ``"tiny"``) and the
per-kernel benchmarks (``bench/bench_kernels.py`` and ``fastpg bench
--kernels``).

Public kernels are called through their public function (``fastpg.<name>(...,
backend=b)``: validation included, as users call them); the replay kernels,
which users reach through the buffers, through the registry
(``_backend.kernel("replay", name, b)``) with arguments laid out as the
buffers lay them out.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import _backend

#: named sizes: "tiny" and "small" for the tests, "bench" for the benchmarks
RETURNS_DIMS = {"tiny": dict(T=7, B=2), "small": dict(T=67, B=9),
                "bench": dict(T=2048, B=64)}
POLICY_DIMS = {"tiny": dict(N=6, A=3, D=4), "small": dict(N=101, A=5, D=7),
               "bench": dict(N=100_000, A=4, D=8)}
TABULAR_DIMS = {"tiny": dict(S=4, A=3, N=6), "small": dict(S=30, A=5, N=400),
                "bench": dict(S=500, A=6, N=1_000_000)}
MDP_DIMS = {"tiny": dict(S=4, A=3, N=100), "small": dict(S=12, A=4, N=2_000),
            "bench": dict(S=500, A=6, N=1_000_000)}
REPLAY_DIMS = {"tiny": dict(C=10, B=4, R=16), "small": dict(C=1000, B=64, R=40),
               "bench": dict(C=1_000_000, B=256, R=48)}
ENV_DIMS = {"tiny": dict(N=6, K=2, T=5), "small": dict(N=200, K=3, T=30),
            "bench": dict(N=1024, K=128, T=100)}  # K > T: whole rollouts
TABULAR_ENV_DIMS = {"tiny": dict(N=6, K=3, S=4, A=3), "small": dict(N=200, K=4, S=12, A=4),
                    "bench": dict(N=1024, K=256, S=90, A=4)}


@dataclass(frozen=True)
class KernelSpec:
    """How to call kernel ``name`` of ``family``.

    ``make(dims, dtype, rng)`` returns ``(args, kwargs)`` for one call at the
    dimensions ``dims`` (a value of ``sizes``): for a public function the
    arrays positionally and everything else by keyword; ``dtypes`` are the float
    dtypes the kernel is exercised in (the first is the benchmark's);
    ``public``: called through ``fastpg.<name>`` (else the registry kernel);
    ``reference_loop``: the NumPy reference is a Python loop over the items
    (sequential updates, simulations), so benchmarks time it only at the
    small size; ``between(args, result)``: what the caller does between two
    calls (the env kernels: refill the banks a call used up), for
    :meth:`again`.
    """
    name: str
    family: str
    make: Callable[[dict, np.dtype, np.random.Generator], tuple[tuple, dict]]
    sizes: dict
    dtypes: tuple = (np.float32, np.float64)
    public: bool = True
    reference_loop: bool = False
    between: Callable[[tuple, object], None] | None = None

    def args(self, size, dtype, seed=0):
        """(args, kwargs) at the named size."""
        return self.make(self.sizes[size], np.dtype(dtype), np.random.default_rng(seed))

    def call(self, args, kwargs, backend):
        """The call on ``backend``: its return value."""
        if self.public:
            import fastpg
            return getattr(fastpg, self.name)(*args, backend=backend, **kwargs)
        return _backend.kernel(self.family, self.name, backend)(*args, **kwargs)

    def again(self, args, kwargs, backend):
        """The call as a benchmark repeats it on the same arguments: ``call``,
        then the caller's share of the kernel's contract (``between``)."""
        result = self.call(args, kwargs, backend)
        if self.between is not None:
            self.between(args, result)
        return result

    def outcome(self, args, kwargs, backend):
        """Everything a call leaves behind, on a private copy of the inputs:
        the return value and every array argument after the call (tables
        updated in place, outputs, inputs that must be unchanged)."""
        args, kwargs = copy.deepcopy((args, kwargs))
        result = self.call(args, kwargs, backend)
        if self.family == "replay":
            result = None  # a status: the outputs are the arrays
        return result, [a for a in args if isinstance(a, np.ndarray)]


# ---------------------------------------------------------------- returns
def _returns(kind):
    def make(d, dt, rng):
        T, B = d["T"], d["B"]
        r = rng.standard_normal((T, B)).astype(dt)
        v = rng.standard_normal((T, B)).astype(dt)
        term = rng.random((T, B)) < 0.1
        trunc = (rng.random((T, B)) < 0.05) & ~term
        kw = dict(terminated=term, truncated=trunc)
        if kind == "discounted_returns":
            return (r,), dict(kw, gamma=0.97, next_values=v)
        if kind == "gae":
            return (r, v, v), dict(kw, gamma=0.97, lam=0.9)
        if kind == "lambda_returns":
            return (r, v), dict(kw, gamma=0.97, lam=0.9)
        return (r, v), dict(kw, gamma=0.97, n=5)
    return make


# -------------------------------------------------------------- offpolicy
def _offpolicy(kind):
    def make(d, dt, rng):
        T, B = d["T"], d["B"]
        r, q, nv = (rng.standard_normal((T, B)).astype(dt) for _ in range(3))
        log_rhos = (rng.standard_normal((T, B)) * 0.5).astype(dt)
        log_rhos[rng.random((T, B)) < 0.02] = -np.inf  # actions the target policy never takes
        term = rng.random((T, B)) < 0.1
        trunc = (rng.random((T, B)) < 0.05) & ~term
        kw = dict(terminated=term, truncated=trunc, gamma=0.97, lam=0.9)
        if kind == "vtrace":
            return (r, q, nv, log_rhos), dict(kw, rho_clip=1.0, c_clip=0.9, pg_rho_clip=2.0)
        return (r, q, nv, log_rhos), dict(kw, c_clip=1.0)
    return make


# ----------------------------------------------------------------- policy
def _policy(kind):
    def make(d, dt, rng):
        N, A, D = d["N"], d["A"], d["D"]
        if kind in ("compatible_features", "action_feature_grad"):
            N = max(1, N // 10)  # phi is (N, A, D)
        z = (rng.standard_normal((N, A)) * 2).astype(dt)
        acts = rng.integers(0, A, N)
        w = rng.standard_normal(N).astype(dt)
        X = rng.standard_normal((N, D)).astype(dt)
        W = (rng.standard_normal((D, A)) * 0.5).astype(dt)
        phi = rng.standard_normal((N, A, D)).astype(dt)
        theta = (rng.standard_normal(D) * 0.5).astype(dt)
        p = np.exp(z - z.max(1, keepdims=True))
        p = (p / p.sum(1, keepdims=True)).astype(dt)
        return {"softmax": ((z,), {}), "log_softmax": ((z,), {}), "entropy": ((z,), {}),
                "softmax_jacobian": ((p[:max(1, N // 10)],), {}),
                "softmax_jvp": ((p, z), {}),
                "log_prob_grad": ((z, acts), {}),
                "linear_policy_probs": ((X, W), {}),
                "linear_policy_grad": ((X, acts, w, W), {}),
                "compatible_features": ((phi, theta), {}),
                "action_feature_grad": ((phi, acts, w, theta), {}),
                "sample_categorical": ((z,), dict(rng=int(rng.integers(2**31)))),
                "policy_gradient_loss": ((z, acts, w), {})}[kind]
    return make


# ---------------------------------------------------------------- tabular
def _tabular(kind):
    def make(d, dt, rng):
        S, A, N = d["S"], d["A"], d["N"]
        s, a = rng.integers(0, S, N), rng.integers(0, A, N)
        s2, a2 = rng.integers(0, S, N), rng.integers(0, A, N)
        r = rng.standard_normal(N).astype(dt)
        term = rng.random(N) < 0.1
        Q = rng.standard_normal((S, A)).astype(dt)
        kw = dict(gamma=0.9, alpha=0.1)
        if kind == "q_learning":
            return (Q, s, a, r, s2, term), kw
        if kind == "sarsa":
            return (Q, s, a, r, s2, a2, term), kw
        if kind == "expected_sarsa":
            return (Q, s, a, r, s2, term), dict(kw, epsilon=0.1)
        if kind == "double_q_learning":
            return (Q, rng.standard_normal((S, A)).astype(dt), s, a, r, s2,
                    rng.integers(0, 2, N), term), kw
        if kind == "td0":
            return (Q[:, 0].copy(), s, r, s2, term), kw
        Q[rng.random((S, A)) < 0.2] = -np.inf  # epsilon_greedy: impossible actions
        Q[:, 0] = np.where(np.isinf(Q[:, 0]), 0.0, Q[:, 0])  # at least one possible
        return (Q, s), dict(epsilon=0.3, rng=int(rng.integers(2**31)))
    return make


def _mdp(kind):
    def make(d, dt, rng):
        S, A = d["S"], d["A"]
        P = rng.random((S, A, S)) ** 4
        P /= P.sum(-1, keepdims=True)
        R = rng.standard_normal((S, A))
        if kind == "value_iteration":
            return (P, R), dict(gamma=0.9)
        return (np.zeros((S, A)), P, R), dict(
            n_steps=d["N"], epsilon=0.2, alpha=0.1, gamma=0.9, terminal_states=(S - 1,),
            rng=int(rng.integers(2**31)))
    return make


# ----------------------------------------------------------------- replay
def _tree(C, rng):
    from ..replay.sumtree import SumTree
    t = SumTree(C)
    p = rng.random(C) + 0.01
    p[rng.random(C) < 0.1] = 0.0
    p[0] = 1.0  # a positive total
    t.update(np.arange(C), p)
    return t


def _replay(kind):
    def make(d, dt, rng):
        C, B, R = d["C"], d["B"], d["R"]
        idx = rng.integers(0, C, B)
        rec = rng.integers(0, 256, (C, R), dtype=np.uint8)
        if kind in ("tree_update", "tree_sample", "importance_weights"):
            t = _tree(C, rng)
            if kind == "tree_update":
                p = rng.random(B)
                p[rng.random(B) < 0.2] = 0.0
                return (t.tree, t.depth, idx, p), {}
            if kind == "tree_sample":
                return (t.tree, t.depth, rng.random(B), np.empty(B, np.int64)), {}
            live = np.flatnonzero(t.priorities > 0)
            return (t.tree, t.depth, live[idx % live.size], 0.4,
                    np.empty(B, np.float64)), {}
        if kind == "ring_write":
            return (rec, rng.integers(0, 256, (B, R), dtype=np.uint8),
                    int(rng.integers(0, C))), {}
        if kind == "gather_rows":
            return (rec, idx, np.empty((B, R), np.uint8)), {}
        if kind == "uniform_sample":
            return (rng.random(B), C, np.empty(B, np.int64)), {}
        if kind == "uniform_gather":
            return (np.random.default_rng(int(rng.integers(2**31))), C, rec,
                    np.empty(B, np.int64), np.empty((B, R), np.uint8)), {}
        stride = 2  # nstep_gather: two interleaved env streams
        C -= C % stride
        term = (rng.random(C) < 0.1).astype(np.uint8)
        cut = (rng.random(C) < 0.05).astype(np.uint8)
        return (rng.standard_normal(C).astype(dt), term, cut, idx % C, stride,
                int(rng.integers(0, C // stride)), 3, 0.97, np.empty(B, dt), np.empty(B, dt),
                np.empty(B, np.int64)), {}
    return make


# ------------------------------------------------------------------- envs
def _refill(args, at, need):
    """An env kernel caller's refill (``args[at]`` the bank, then the
    cursor): each bank with fewer than ``need`` records left (what a call
    may draw) starts again from its first (the same draws again)."""
    bank, cursor = args[at], args[at + 1]
    cursor[cursor > bank.shape[1] - need] = 0


def _step_between(args, rc):
    """A step kernel's caller: refill after -2 (a call draws one record)."""
    if rc == -2:
        _refill(args, 2, 1)


def _rollout_between(args, done):
    """Banks for a whole rollout (an env draws at most T + 1 records)."""
    _refill(args, 3, args[1].shape[0] + 1)


def _mdp_between(args, rc):
    """Refilled banks after -2 (a call draws up to two records), and actions
    possible in each env's new state (the spec's call draws possible ones):
    an agent's share of a step."""
    if rc == -2:
        _refill(args, 10, 2)
    mask, state, actions = args[3], args[8], args[9]
    actions[:] = mask[state].argmax(axis=1)


def _cartpole(d, dt, rng):
    """A mid-episode batch: states from calm to past the thresholds, some
    envs pending a reset, some at the step limit, some banks nearly used up."""
    N, K = d["N"], d["K"]
    state = rng.uniform(-1, 1, (N, 4)) * [2.6, 2.0, 0.23, 2.0]
    steps = rng.integers(0, 500, N)
    steps[rng.random(N) < 0.2] = 499
    cursor = rng.integers(0, K, N)
    reset = (rng.random(N) < 0.2).astype(np.uint8)
    out = (np.zeros((N, 4), np.float32), np.zeros(N), np.zeros(N, np.uint8),
           np.zeros(N, np.uint8), np.zeros((N, 4), np.float32))
    return (state, rng.integers(0, 2, N), rng.random((N, K, 4)), cursor, steps, reset, 500,
            int(rng.integers(0, 2)), *out), {}


def _mountaincar(d, dt, rng):
    """A mid-episode batch: positions over the whole track (walls and the
    goal included), speeds up to the limit, pending resets, step limits."""
    N, K = d["N"], d["K"]
    state = np.stack([rng.uniform(-1.2, 0.6, N), rng.uniform(-0.07, 0.07, N)], axis=1)
    state[rng.random(N) < 0.1, 0] = -1.2
    steps = rng.integers(0, 200, N)
    steps[rng.random(N) < 0.2] = 199
    out = (np.zeros((N, 2), np.float32), np.zeros(N), np.zeros(N, np.uint8),
           np.zeros(N, np.uint8), np.zeros((N, 2), np.float32))
    return (state, rng.integers(0, 3, N), rng.random((N, K, 1)), rng.integers(0, K, N), steps,
            (rng.random(N) < 0.2).astype(np.uint8), 200, int(rng.integers(0, 2)), *out), {}


def _acrobot(d, dt, rng):
    """A mid-episode batch: any angles (some beyond ±pi after the step), fast
    links, pending resets, step limits; bank records as the env makes them."""
    from ..envs import AcrobotVectorEnv
    N, K = d["N"], d["K"]
    state = rng.uniform(-1, 1, (N, 4)) * [3.2, 3.2, 13.0, 29.0]
    steps = rng.integers(0, 500, N)
    steps[rng.random(N) < 0.2] = 499
    out = (np.zeros((N, 6), np.float32), np.zeros(N), np.zeros(N, np.uint8),
           np.zeros(N, np.uint8), np.zeros((N, 6), np.float32))
    bank = AcrobotVectorEnv.bank_records(rng.random((N, K, 4)))
    return (state, rng.integers(0, 3, N), bank, rng.integers(0, K, N), steps,
            (rng.random(N) < 0.2).astype(np.uint8), 500, int(rng.integers(0, 2)), *out), {}


def _cartpole_rollout(d, dt, rng):
    """A rollout from mid-episode states with a policy that balances for a
    while; with small banks it may stop early (the step count is compared)."""
    N, K, T = d["N"], d["K"], d["T"]
    W = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 8.0], [0.0, 2.0], [0.0, 0.0]])
    W += rng.standard_normal((5, 2)) * 0.5
    state = rng.uniform(-1, 1, (N, 4)) * [2.0, 1.0, 0.15, 1.0]
    out = (np.zeros((T, N, 4), np.float32), np.zeros((T, N), np.int64), np.zeros((T, N)),
           np.zeros((T, N), np.uint8), np.zeros((T, N), np.uint8), np.zeros((T, N)))
    return (W, rng.random((T, N)), state, rng.random((N, K, 4)), rng.integers(0, K, N),
            rng.integers(0, 500, N), (rng.random(N) < 0.2).astype(np.uint8), 500, *out), {}


def _tabular_env(d, dt, rng):
    """A finite MDP with deterministic and random transitions, impossible
    actions, terminal states, a horizon or not, a random start or not; a
    batch mid-episode with pending resets, step limits and banks nearly
    used up. The actions are possible in each env's state."""
    N, K, S, A = d["N"], d["K"], d["S"], d["A"]
    nxt = np.where(rng.random((S, A)) < 0.5, rng.integers(0, S, (S, A)), -1)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.7)
    P[..., 0] += 1e-3
    cdf = np.cumsum(P / P.sum(axis=2, keepdims=True), axis=2)
    mask = (rng.random((S, A)) < 0.8).astype(np.uint8)
    mask[np.arange(S), rng.integers(0, A, S)] = 1
    state = rng.integers(0, S, N)
    actions = np.array([rng.choice(np.flatnonzero(mask[s])) for s in state])
    start_cdf = np.cumsum(rng.dirichlet(np.ones(S)))
    steps = rng.integers(0, 50, N)
    steps[rng.random(N) < 0.2] = 49
    out = (np.zeros(N, np.int64), np.zeros(N), np.zeros(N, np.uint8), np.zeros(N, np.uint8),
           np.zeros(N, np.int64))
    return (nxt, cdf, rng.standard_normal((S, A, S)), mask,
            (rng.random(S) < 0.2).astype(np.uint8), start_cdf,
            int(rng.integers(-1, S)), int(rng.integers(0, 2)) * int(rng.integers(1, 40)),
            state, actions, rng.random((N, K)), rng.integers(0, K - 1, N), steps,
            (rng.random(N) < 0.2).astype(np.uint8), 50, int(rng.integers(0, 2)), *out), {}


def _specs():
    out = []
    for name in _backend.REGISTRY["returns"]:
        out.append(KernelSpec(name, "returns", _returns(name), RETURNS_DIMS))
    for name in _backend.REGISTRY["offpolicy"]:
        out.append(KernelSpec(name, "offpolicy", _offpolicy(name), RETURNS_DIMS))
    for name in _backend.REGISTRY["policy"]:
        out.append(KernelSpec(name, "policy", _policy(name), POLICY_DIMS))
    for name in _backend.REGISTRY["tabular"]:
        if name in ("value_iteration", "q_learning_rollout"):
            out.append(KernelSpec(name, "tabular", _mdp(name), MDP_DIMS, (np.float64,),
                                  reference_loop=name == "q_learning_rollout"))
        else:
            out.append(KernelSpec(name, "tabular", _tabular(name), TABULAR_DIMS,
                                  reference_loop=True))
    env = dict(sizes=ENV_DIMS, dtypes=(np.float64,), public=False)
    out.append(KernelSpec("cartpole_step", "envs", _cartpole, between=_step_between, **env))
    out.append(KernelSpec("cartpole_rollout", "envs", _cartpole_rollout,
                          between=_rollout_between, reference_loop=True, **env))
    out.append(KernelSpec("mountaincar_step", "envs", _mountaincar, between=_step_between, **env))
    out.append(KernelSpec("acrobot_step", "envs", _acrobot, between=_step_between, **env))
    out.append(KernelSpec("mdp_step", "tabular_envs", _tabular_env, TABULAR_ENV_DIMS,
                          (np.float64,), public=False, between=_mdp_between))
    for name in _backend.REGISTRY["replay"]:
        dts = (np.float32, np.float64) if name == "nstep_gather" else (np.float64,)
        out.append(KernelSpec(name, "replay", _replay(name), REPLAY_DIMS, dts, public=False))
    return tuple(out)


#: every registered kernel, in registry order
SPECS = _specs()
BY_NAME = {s.name: s for s in SPECS}
