"""Return-kernel workloads shared by bench/ (pytest-benchmark) and `fastpg bench`."""
import numpy as np

#: name -> (T, B, dtype); "quick" ones run in the default `fastpg bench`
SIZES = {
    "T2048xB64-f32": (2048, 64, np.float32),
    "flat1M-f32": (1_000_000, 1, np.float32),
    "flat16M-f32": (16_000_000, 1, np.float32),
    "T2048xB64-f64": (2048, 64, np.float64),
}
QUICK = ("T2048xB64-f32", "flat1M-f32", "T2048xB64-f64")


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
    return dict(rewards=r, values=v, next_values=nv, terminated=term, truncated=trunc)


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
