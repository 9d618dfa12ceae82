"""`fastpg bench`: every kernel x backend x size against the NumPy reference
(one size per family by default, all with --full), the fused rollout, cold
starts; --e2e runs the Stable-Baselines3 comparison (fastpg.bench.e2e)."""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

import numpy as np

from .. import __version__, _backend
from ..cli import _fail
from .auto import auto_pick, auto_summary, print_summary
from .plot import plot_rows


def _median_time(fn, min_time=0.2, max_rounds=50, warmup=True, slow=2.0):
    """Median wall time of fn() over rounds that run until min_time has passed
    (at least 3 rounds, unless one round takes more than ``slow`` seconds)."""
    if warmup:
        fn()  # JIT compilation and first-touch page faults are not timed
    times = []
    start = time.perf_counter()
    while len(times) < max_rounds and (time.perf_counter() - start < min_time or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > slow:
            break
    return float(np.median(times))


def _first(fn):
    """A workload's callable (the call helpers return fn or (fn, elements))."""
    return fn[0] if isinstance(fn, tuple) else fn


def copy_bandwidth(nbytes=256 << 20):
    """Bytes moved per second (read + write) by a large np.copyto."""
    src = np.ones(nbytes, np.uint8)
    dst = np.empty_like(src)
    t = _median_time(lambda: np.copyto(dst, src), min_time=0.3, max_rounds=7)
    return 2 * nbytes / t


def cold_start(backend):
    """Seconds for `import fastpg` + first kernel call in a fresh process.

    The process imports this same fastpg: it runs outside the current directory
    (a source checkout there would shadow an installed package) with this
    package's parent first on its path."""
    import os
    import tempfile

    import fastpg

    code = ("import time; t0 = time.perf_counter(); import fastpg, numpy as np; "
            f"fastpg.gae(np.ones((64, 8), np.float32), np.zeros((64, 8), np.float32), "
            f"np.zeros(8, np.float32), 0.99, 0.95, backend={backend!r}); "
            "print(time.perf_counter() - t0)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastpg.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tempfile.gettempdir(), env=env)
    if res.returncode:
        return None
    return float(res.stdout.strip().splitlines()[-1])


def _bytes_per_element(kernel, dtype):
    f = np.dtype(dtype).itemsize
    # inputs read + outputs written, flags are 1 byte each
    return {"discounted_returns": 3 * f + 2, "gae": 5 * f + 2,
            "lambda_returns": 3 * f + 2, "nstep_returns": 3 * f + 2}[kernel]


def _pick(csv, known, flag):
    names = [x.strip() for x in csv.split(",") if x.strip()]
    bad = [x for x in names if x not in known]
    if bad or not names:
        _fail(f"{flag} takes a comma-separated list from {', '.join(known)}; got {csv!r}")
    return names


def _cases(args):
    """(kernel, size, elements per call, dtype, make, call, skip the numpy reference).

    The default run takes one size per family (QUICK); --full or --sizes
    choose among all of them.
    """
    from . import workloads as W

    every = args.full or args.sizes
    cases = []
    for kernel in _backend.REGISTRY["returns"]:
        for size in W.SIZES if every else W.QUICK:
            T, B, dt = W.SIZES[size]
            slow = B == 1 and T > (2_000_000 if args.full else 100_000)
            cases.append((kernel, size, T * B, dt, W.make, W.call, slow))
    for kernel in _backend.REGISTRY["offpolicy"]:
        for size in W.SIZES if every else W.QUICK:
            T, B, dt = W.SIZES[size]
            # the reference loops over time in Python: not on the flat streams
            cases.append((kernel, size, T * B, dt, W.make, W.call_offpolicy, B == 1))
    for kernel in _backend.REGISTRY["policy"]:
        for size in W.POLICY_SIZES if every else W.POLICY_QUICK:
            dt = W.POLICY_SIZES[size][3]
            cases.append((kernel, size, W.policy_rows(kernel, size), dt, W.make_policy,
                          W.call_policy, False))
    n_ref = W.N_REF if every else W.N_REF_QUICK
    for kernel in list(W.TABULAR_UPDATES) + ["epsilon_greedy"]:
        for size in W.TABULAR_SIZES if every else W.TABULAR_QUICK:
            dt = W.TABULAR_SIZES[size][3]
            cases.append((kernel, size, W.TABULAR_SIZES[size][2], dt, W.make_tabular,
                          lambda k, d, b: W.call_tabular(k, d, b, n_ref), False))
    for size in W.VI_SIZES if every else W.VI_QUICK:
        cases.append(("value_iteration", size, 1, np.float64, W.make_vi,
                      lambda k, d, b: W.call_vi(d, b), False))
    for workload, sizes in W.REPLAY_WORKLOADS.items():
        for size in sizes:
            if every or size in W.REPLAY_QUICK:
                cases.append((workload, size, W.REPLAY_BATCH, W.REPLAY_SIZES[size][2],
                              W.make_replay, W.call_replay, False))
    if args.kernels:
        keep = _pick(args.kernels, sorted({c[0] for c in cases}), "--kernels")
        cases = [c for c in cases if c[0] in keep]
    if args.sizes:
        keep = _pick(args.sizes, sorted({c[1] for c in cases}), "--sizes")
        cases = [c for c in cases if c[1] in keep]
    return cases


_WARM = {}


def _warm_case(opts, kernel, size):
    """Worker of _warm_numba: one numba call of a case (compiles, or loads from the cache)."""
    from . import workloads as W

    if kernel == "q_learning_rollout":
        W.rollout_steps_per_second(1000, backends=("numba",))
        return
    for k, s, _, _, make, call, _ in _cases(argparse.Namespace(**opts)):
        if (k, s) == (kernel, size):
            if _WARM.get("key") != (make.__name__, s):
                _WARM.clear()
                _WARM.update(key=(make.__name__, s), data=make(s))
            fn = call(k, _WARM["data"], "numba")
            _first(fn)()
            return


def _warm_numba(args, cases):
    """Compile the cases' numba kernels in two processes at once, into numba's
    disk cache (seconds per kernel on the first run on a machine, then loaded
    from the cache); the timed runs then find them compiled. None: no cache."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .. import _numba

    if _numba.cache_dir() is None or _backend.threads() < 2:
        return None
    jobs = [(c[0], c[1]) for c in cases]
    if not (args.kernels or args.sizes):
        jobs.append(("q_learning_rollout", ""))
    opts = dict(full=args.full, kernels=args.kernels, sizes=args.sizes)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        list(ex.map(_warm_case, [opts] * len(jobs), *zip(*jobs)))
    return time.perf_counter() - t0


def bench_table(args):
    """`fastpg bench --table`: every kernel of the kernel table (specs.py) on
    every available backend at its "bench" size and first dtype, the result
    of each compiled backend checked against the reference first (on the
    "small" size)."""
    from .specs import SPECS

    specs = list(SPECS)
    if args.kernels:
        keep = _pick(args.kernels, [s.name for s in specs], "--kernels")
        specs = [s for s in specs if s.name in keep]
    backends = [b for b in _backend.BACKENDS if _backend.available(b)]
    print(f"fastpg {__version__} bench --table | backends: {', '.join(backends)} | every "
          "registered kernel at the kernel table's bench size")
    header = f"{'kernel':<22}{'size':<30}{'dtype':<9}{'backend':<9}{'median':>12}{'vs numpy':>10}"
    print(header)
    print("-" * len(header))
    rows = []
    for spec in specs:
        dt = spec.dtypes[0]
        small = spec.args("small", dt)
        want = spec.outcome(*small, "numpy")
        args_, kwargs = spec.args("bench", dt)
        dims = ",".join(f"{k}{v}" for k, v in spec.sizes["bench"].items())
        base = None
        for b in backends:
            if b == "numpy" and spec.reference_loop:
                continue  # a Python loop over a million items: the per-family runs time it
            if b != "numpy" and not _agree(spec.outcome(*small, b), want):
                _fail(f"{spec.name} on {b} differs from the reference; run the tests")
            med = _median_time(lambda: spec.again(args_, kwargs, b),
                               min_time=0.2 if b != "numpy" else 0.05,
                               slow=2.0 if args.full else 0.25)
            base = med if b == "numpy" else base
            rows.append(dict(kernel=spec.name, size=dims, dtype=np.dtype(dt).name, backend=b,
                             median_s=med, speedup_vs_numpy=base / med if base else None))
            sp = f"{base / med:.1f}x" if base else "-"
            print(f"{spec.name:<22}{dims:<30}{np.dtype(dt).name:<9}{b:<9}{med * 1e6:>10.1f}us"
                  f"{sp:>10}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(version=__version__, results=rows), fh, indent=2)
        print(f"wrote {args.json}")
    return 0


def _agree(a, b):
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_agree(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        tol = 2e-4 if a.dtype == np.float32 else 1e-9
        return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return bool(np.array_equal(a, b))


def bench(args):
    from . import workloads as W

    if args.e2e:
        from .e2e import bench_e2e
        return bench_e2e(args, _fail)
    if args.table:
        return bench_table(args)
    if args.peers:
        from .peers_table import bench_peers
        return bench_peers(args)
    cases = _cases(args)
    backends = [b for b in _backend.BACKENDS if _backend.available(b)]
    warm = _warm_numba(args, cases) if "numba" in backends else None
    # the roofline of the memory-bound scans (the "% bw" column of the flat streams)
    streams = any(c[0] in _backend.REGISTRY["returns"] and c[2] >= 1_000_000 for c in cases)
    bw = copy_bandwidth() if streams else None
    isa, cython_isa = "", None
    if "cython" in backends:
        from .. import _cy
        cython_isa = dict(loaded=_cy.ISA, cpu=_cy.CPU_ISA, modules=_cy.ISA_MODULES)
        isa = f" (Cython for {_cy.ISA}" + (f": {', '.join(_cy.ISA_MODULES)})" if _cy.ISA_MODULES
                                            else ")")
    print(f"fastpg {__version__} bench | backends: {', '.join(backends)}{isa}"
          + (f" | copy bandwidth {bw / 1e9:.1f} GB/s (read+write)" if bw else ""))
    if warm is not None:
        from .. import _numba
        print(f"numba kernels compiled or loaded from the cache in {warm:.1f} s (two processes; "
              f"compiled once per machine, cached in {_numba.cache_dir()})")
    rows = []
    header = (f"{'kernel':<22}{'size':<19}{'backend':<15}{'median':>12}{'M elem/s':>10}"
              f"{'vs numpy':>10}{'% bw':>7}")
    print(header)
    print("-" * len(header))
    data = {}
    for kernel, size, n, dt, make, call, skip_ref in cases:
        if size not in data:
            data = {}  # one workload in memory at a time (drop it before building the next)
            data = {size: make(size)}
        d = data[size]
        base = None  # the reference's rate (elements per second)
        picked = auto_pick(_first(call(kernel, d, "auto")))
        variants = [(b, b) for b in backends]
        if kernel == "q_learning" and make is W.make_tabular:
            variants.append(("np.add.at*", "add.at"))
        for label, backend in variants:
            if backend == "numpy" and skip_ref:
                continue
            if backend == "add.at":
                fn, n_run = W.add_at_q_learning(d)
            else:
                fn = call(kernel, d, backend)
                fn, n_run = fn if isinstance(fn, tuple) else (fn, n)
            if backend in ("numpy", "add.at"):  # no JIT: no warm-up; slow loops once
                med = _median_time(fn, min_time=0.05, max_rounds=3, warmup=False,
                                   slow=0.25 if args.full else 0.1)
            else:
                med = _median_time(fn, min_time=0.2 if args.full else 0.05,
                                   slow=2.0 if args.full else 0.1)
            rate = n_run / med
            if backend == "numpy":
                base = rate
            frac = None
            if kernel in _backend.REGISTRY["returns"] and n >= 1_000_000:
                frac = n * _bytes_per_element(kernel, dt) / med / bw
            row = dict(kernel=kernel, size=size, backend=label, median_s=med, elements=n_run,
                       elements_per_s=rate, speedup_vs_numpy=(rate / base) if base else None,
                       fraction_of_copy_bandwidth=frac, auto=backend in picked)
            rows.append(row)
            sp = f"{row['speedup_vs_numpy']:.1f}x" if base else "-"
            fr = f"{100 * frac:.0f}%" if frac is not None else ""
            label += " (auto)" if backend in picked else ""
            print(f"{kernel:<22}{size:<19}{label:<15}{med * 1e6:>10.1f}us"
                  f"{rate / 1e6:>10.2f}{sp:>10}{fr:>7}", flush=True)
    summary = auto_summary(rows)
    print_summary(summary)
    n_ref = W.N_REF if (args.full or args.sizes) else W.N_REF_QUICK
    e2e = None
    if args.full and not args.kernels:
        from .reinforce import E2E_EPISODES, reinforce_steps_per_second
        e2e = reinforce_steps_per_second()
        print("REINFORCE on CartPole-v1, env steps/s end to end (same agent, seed 0, "
              f"{E2E_EPISODES} episodes): fastpg {e2e['fastpg']:,.0f}, plain NumPy "
              f"{e2e['numpy']:,.0f} ({e2e['fastpg'] / e2e['numpy']:.1f}x); "
              f"env alone with random actions {e2e['env_only']:,.0f}")
    if not (args.kernels or args.sizes):
        n_steps = 2_000_000 if args.full else 500_000
        ro = W.rollout_steps_per_second(n_steps, [b for b in backends if b != "numpy"])
        print("fused TabularMDP + epsilon-greedy + Q-learning on the HOML MDP "
              f"({n_steps:,} steps): "
              + ", ".join(f"{b} {v / 1e6:.1f} M steps/s" for b, v in ro.items()))
        e2e = dict(e2e or {}, q_learning_rollout_steps_per_s=ro)
    if args.full and not (args.kernels or args.sizes):
        compiled = [b for b in backends if b != "numpy"] + ["auto"]
        envs = {}
        for n_envs in (64, 1024):
            envs[n_envs] = W.env_steps_per_second("fastpg/CartPole-v1", n_envs, compiled)
            print(f"CartPole-v1 vector env step, {n_envs} envs, random actions, M steps/s: "
                  + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in envs[n_envs].items())
                  + " (gymnasium: its NumPy CartPoleVectorEnv)")
        others = {}
        for env_id in list(W.COMPILED_ENVS)[1:]:
            others[env_id] = W.env_steps_per_second(env_id, 64, compiled)
            print(f"{env_id} vector env step, 64 envs, random actions, M steps/s: "
                  + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in others[env_id].items())
                  + f" (gymnasium: SyncVectorEnv of {W.COMPILED_ENVS[env_id][0]})")
        fused = {}
        for n_envs in (64, 1024):
            fused[n_envs] = W.cartpole_rollout_steps_per_second(n_envs, compiled)
            print(f"CartPole-v1 fused rollout (linear softmax policy + env, 500 steps x {n_envs} "
                  "envs per call, into the same out= arrays), M steps/s: "
                  + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in fused[n_envs].items()))
        e2e = dict(e2e or {}, cartpole_vector_env_steps_per_s=envs,
                   other_vector_envs_64_steps_per_s=others,
                   cartpole_fused_rollout_steps_per_s=fused)
    print("elements: steps (returns, vtrace, retrace), rows (policy), transitions (tabular; "
          f"the numpy reference loop is timed on the first {n_ref:,}), solves (value_iteration), "
          "transitions sampled or added (replay: per_sample_update = prioritized sample 256 + "
          "update 256 priorities; add_one does not call kernels, so its backends only differ "
          "by noise); * np.add.at: batch semantics, not sequential")
    cold = {b: cold_start(b) for b in backends}
    print("cold start (import fastpg + first gae call, fresh process): "
          + ", ".join(f"{b} {t:.2f}s" if t is not None else f"{b} failed" for b, t in cold.items()))
    result = dict(version=__version__, machine=platform.machine(), python=platform.python_version(),
                  copy_bandwidth_bytes_per_s=bw, results=rows, cold_start_s=cold,
                  numba_warmup_s=warm, cython_isa=cython_isa, auto=summary,
                  end_to_end=e2e)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}")
    if args.plot:
        plot_rows(rows, args.plot)
    return 0

