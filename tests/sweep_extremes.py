"""Valid but extreme inputs (NaN and inf in the data, float32 underflow, long
episodes where the discount product underflows): each compiled backend must
give the reference's result, NaN where it has NaN, or raise what it raises;
otherwise the case is ``disagrees``, a silent wrong result. Part of the sweep
in tests/sweep.py."""
import inspect

import numpy as np

from .kernel_calls import CALLS
from .sweep import FAMILY, INF, NAN, PARAM_KIND, Case, _copy


_EXTREME = [("nan", NAN), ("inf", INF), ("-inf", -INF), ("1e300", 1e300)]
_RANDOM = {"sample_categorical", "epsilon_greedy", "q_learning_rollout"}


def _results(out, kw):
    """What a call produced: its return value(s) and the tables it updates."""
    vals = list(out) if isinstance(out, tuple) else [out]
    # an iteration count may differ by rounding where values converge at 1e300
    return [np.asarray(v) for v in vals if v is not None and not isinstance(v, int)] + \
        [v for k, v in kw.items() if k in ("Q", "Q1", "Q2", "V")]


def _agree(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return False
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            tol = 1e-4 if np.float32 in (x.dtype, y.dtype) else 1e-9
            with np.errstate(invalid="ignore"):
                if not np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True):
                    return False
        elif not np.array_equal(x, y):
            return False
    return True


def _extreme_case(fastpg, fam, name, kw_of, label, arg="data"):
    def setup():
        return kw_of()

    @np.errstate(all="ignore")
    def call(kw):
        ref = {k: _copy(v) for k, v in kw.items()} | {"backend": "numpy"}
        try:
            want = _results(getattr(fastpg, name)(**ref), ref)
        except (ValueError, TypeError) as exc:
            want = exc
        try:
            got = _results(getattr(fastpg, name)(**kw), kw)
        except (ValueError, TypeError) as exc:
            if isinstance(want, Exception) and type(exc) is type(want):
                return
            raise _Disagrees(f"raised {type(exc).__name__} ({str(exc)[:80]}); the reference "
                             f"{'raised ' + type(want).__name__ if isinstance(want, Exception) else 'did not'}")
        if isinstance(want, Exception):
            raise _Disagrees(f"returned; the reference raised {type(want).__name__}")
        if not _agree(want, got):
            raise _Disagrees("results differ from the reference")

    return Case(fam, name, arg, label, (setup, call), lambda kw: None, extreme=True)


class _Disagrees(Exception):
    pass


def extreme_cases(fastpg, backend):
    for name, args, kw in CALLS:
        if name in _RANDOM:
            continue
        fn = getattr(fastpg, name)
        valid = dict(inspect.signature(fn).bind(*args, **kw).arguments)
        valid["backend"] = backend
        fam = FAMILY.get(name, "policy")
        for arg, v in valid.items():
            if PARAM_KIND.get(arg) not in ("first", "data", "optional data"):
                continue
            for dt in (np.float64, np.float32):
                for label, x in _EXTREME:
                    def kw_of(arg=arg, v=v, dt=dt, x=x, valid=valid):
                        kw = {k: _copy(w) for k, w in valid.items()}
                        a = np.array(v, dt)
                        with np.errstate(over="ignore"):
                            a.reshape(-1)[a.size // 2] = x
                        kw[arg] = a
                        for k in ("Q", "Q1", "Q2", "V"):  # the tables in the data's dtype
                            if k in kw:
                                kw[k] = kw[k].astype(dt)
                        return kw
                    yield _extreme_case(fastpg, fam, name, kw_of,
                                        f"{np.dtype(dt).name} {label}", arg)
    # long episodes: the discount product underflows long before the end
    for dt in (np.float64, np.float32):
        for name in ("discounted_returns", "gae", "lambda_returns", "nstep_returns"):
            for label, x in (("nan", NAN), ("inf", INF)):
                def long(name=name, dt=dt, x=x):
                    r = np.zeros(1200, dt)  # 0.5**1075 is 0 in float64
                    r[-1] = x
                    v = np.zeros(1200, dt)
                    return {"discounted_returns": dict(rewards=r, gamma=0.5),
                            "gae": dict(rewards=r, values=v, next_values=v, gamma=0.5, lam=0.9),
                            "lambda_returns": dict(rewards=r, next_values=v, gamma=0.5, lam=0.9),
                            "nstep_returns": dict(rewards=r, next_values=v, gamma=0.5, n=64)
                            }[name] | {"backend": backend}
                yield _extreme_case(fastpg, "returns", name, long,
                                    f"{np.dtype(dt).name} T=1200 gamma=0.5 {label} at the end",
                                    "rewards")
        def sparse_inf(dt=dt):
            r = np.zeros(50, dt)
            r[4] = r[40] = INF
            return dict(rewards=r, next_values=np.zeros(50, dt), gamma=0.05, n=61,
                        backend=backend)
        yield _extreme_case(fastpg, "returns", "nstep_returns", sparse_inf,
                            f"{np.dtype(dt).name} inf rewards, gamma**k underflows", "rewards")


def run_extreme(case):
    setup, call = case.call
    try:
        call(setup())
    except _Disagrees as exc:
        return "disagrees", str(exc)
    except Exception as exc:  # noqa: BLE001
        return "wrong-type", f"{type(exc).__name__}: {str(exc)[:160]}"
    return "ok", ""


