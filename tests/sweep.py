"""A generated bad-input sweep over every public kernel and replay entry point.

Each entry point has one valid call. Every argument has a *kind* (a discount,
an index array, a table updated in place, ...) and each kind a list of bad
values; a case is the valid call with one argument replaced by one bad value.
A case passes ("ok") when it raises ValueError or TypeError whose message
names the argument, and leaves every array it was given (tables updated in
place included) and every buffer unchanged. Otherwise it is one of:

- ``accepted``: no error (the bad value was used);
- ``wrong-type``: another exception (IndexError, ZeroDivisionError, a numba
  TypingError, ...);
- ``unnamed``: ValueError/TypeError whose message does not name the argument;
- ``state-changed``: refused, but after writing into a table or buffer;
- ``crash``: the process died (found by ``python -m tests.sweep_report``,
  which runs the cases in a child process and resumes after a death).

A second list, *extremes*, holds valid but extreme inputs (NaN and inf in
the data, float32 underflow): a compiled backend must give the reference's
result there (NaN where it has NaN) or raise what it raises, else the case is
``disagrees`` (a silent wrong result).

tests/test_sweep.py asserts that every case is "ok" on every backend;
``python -m tests.sweep_report [--fastpg DIR]`` prints the counts per family
(used to compare two versions of fastpg).
"""
from __future__ import annotations

import inspect
import re

import numpy as np

from .kernel_calls import CALLS

NAN, INF = float("nan"), float("inf")

#: bad values of a number in [0, 1] (discounts, lambda, exploration rates)
_UNIT = [("-0.1", -0.1), ("1.5", 1.5), ("nan", NAN), ("inf", INF), ("True", True),
         ("str", "0.9"), ("None", None), ("complex", 0.5j)]


def _longer(v):
    v = np.asarray(v)
    return np.concatenate([v, v[:1]]) if v.ndim else np.full(3, v)


def _floats(required):
    bad = [("str array", lambda v: np.full(np.shape(v), "a")),
           ("complex", lambda v: np.asarray(v) + 1j),
           ("ragged", [[1.0], [1.0, 2.0]]),
           ("str", "x")]
    return bad + ([("None", None)] if required else [])


def _data(required=True, first=False):
    return _floats(required) + ([] if first else [("longer", _longer)])


_INDEX = [("-1", lambda v: np.where(np.arange(np.size(v)) == 0, -1, v)),
          ("10**6", lambda v: np.where(np.arange(np.size(v)) == 0, 10**6, v)),
          ("1.5", lambda v: np.asarray(v) + 0.5),
          ("nan", lambda v: np.where(np.arange(np.size(v)) == 0, NAN, v)),
          ("bool", lambda v: np.asarray(v) > 0),
          ("str", lambda v: np.full(np.shape(v), "a")),
          ("uint64 max", lambda v: np.full(np.shape(v), 2**64 - 1, np.uint64)),
          ("1e20", lambda v: np.full(np.shape(v), 1e20)),
          ("longer", _longer)]
_FLAGS = [("nan", lambda v: np.where(np.arange(np.size(v)).reshape(np.shape(v)) == 0, NAN, 0.0)),
          ("str", lambda v: np.full(np.shape(v), "yes")),
          ("longer", _longer), ("ragged", [[1.0], [1.0, 2.0]])]
_COUNT = [("0", 0), ("-1", -1), ("1.5", 1.5), ("True", True), ("str", "3"), ("2**63", 2**63),
          ("nan", NAN), ("None", None)]
_TABLE = [("list", lambda v: v.tolist()),
          ("int dtype", lambda v: v.astype(np.int64)),
          ("read-only", lambda v: _readonly(v)),
          ("wrong ndim", lambda v: v[..., None]),
          ("nan", lambda v: np.full_like(v, NAN)),
          ("empty", lambda v: v[:0])]


def _readonly(v):
    v = v.copy()
    v.flags.writeable = False
    return v


def _out(want):
    return [("list", lambda v: np.asarray(want()).tolist()),
            ("wrong shape", lambda v: np.empty(np.shape(want()) + (2,), np.asarray(want()).dtype)),
            ("wrong dtype", lambda v: np.empty(np.shape(want()), np.float64 if np.asarray(
                want()).dtype.kind in "iu" else np.int64)),
            ("read-only", lambda v: _readonly(np.empty_like(np.asarray(want()))))]


def _stochastic(P):
    P = np.array(P, float)
    bad = [("negative", lambda v: np.where(np.arange(P.size).reshape(P.shape) == 0, -0.5, P)),
           ("rows not summing to 1", lambda v: P * 0.5),
           ("nan", lambda v: np.full_like(P, NAN)),
           ("str", lambda v: np.full(P.shape, "a")),
           ("wrong shape", lambda v: np.concatenate([P, P[..., :1]], -1)),
           ("2-D", lambda v: P[0])]
    return bad


#: argument name -> kind: each kind is a function of (entry point, valid call)
#: giving the list of (label, bad value or function of the valid value)
KINDS = {
    "unit": lambda e: _UNIT,
    "rate": lambda e: [x for x in _UNIT if x[0] != "1.5"] + [("0", 0.0) if e in (
        "q_learning_rollout",) else ("-1", -1.0)],
    "data": lambda e: _data(),
    "first": lambda e: _data(first=True),
    "optional data": lambda e: _data(required=False),
    "index": lambda e: _INDEX,
    "flags": lambda e: _FLAGS,
    "count": lambda e: _COUNT,
    "count0": lambda e: [x for x in _COUNT if x[0] != "0"],
    "which": lambda e: [x for x in _INDEX if x[0] != "bool"],
    "state list": lambda e: [x for x in _INDEX if x[0] not in ("longer", "bool")],
    "table": lambda e: _TABLE,
    "axis": lambda e: [("5", 5), ("1.5", 1.5), ("str", "0")],
    "rng": lambda e: [("str", "seed"), ("1.5", 1.5), ("-1", -1)],
    "backend": lambda e: [("bogus", "bogus"), ("list", ["numba"]), ("int", 3)],
    "tol": lambda e: [("-1", -1.0), ("nan", NAN), ("True", True), ("str", "1e-3"),
                      ("None", None)],
    "nonneg": lambda e: [("-1", -1.0), ("nan", NAN), ("inf", INF), ("True", True),
                         ("str", "0")],
    "nonneg int": lambda e: [("-1", -1), ("1.5", 1.5), ("True", True), ("str", "0")],
    "state": lambda e: [("-1", -1), ("10**6", 10**6), ("1.5", 1.5), ("True", True),
                        ("str", "0")],
    "mask": lambda e: [("nan", lambda v: np.where(np.eye(*np.shape(v)) > 0, NAN, 1.0)),
                       ("wrong shape", lambda v: np.ones((1, 1))),
                       ("str", lambda v: np.full(np.shape(v), "a"))],
}

#: the kind of each argument of the kernel functions (tests/kernel_calls.py)
PARAM_KIND = {
    "gamma": "unit", "lam": "unit", "epsilon": "unit", "alpha": "rate",
    "rewards": "first", "values": "data", "next_values": "optional data", "v": "data",
    "logits": "first", "probs": "first", "X": "first", "W": "data", "phi": "first",
    "theta": "data", "advantages": "data", "weights": "optional data", "R": "data",
    "terminated": "flags", "truncated": "flags",
    "states": "index", "actions": "index", "next_states": "index", "next_actions": "index",
    "which": "which", "terminal_states": "state list",
    "n": "count", "n_steps": "count0", "max_iter": "count",
    "Q": "table", "Q1": "table", "Q2": "table", "V": "table",
    "axis": "axis", "rng": "rng", "backend": "backend", "tol": "tol",
    "alpha_decay": "nonneg", "step_offset": "nonneg int", "start_state": "state",
    "state": "state", "action_mask": "mask",
}

#: arguments whose bad values depend on the call (kernel, argument) -> kind
SPECIAL = {("value_iteration", "P"), ("q_learning_rollout", "P"),
           ("value_iteration", "R"), ("q_learning_rollout", "R")}

FAMILY = {
    "discounted_returns": "returns", "gae": "returns", "lambda_returns": "returns",
    "nstep_returns": "returns", "q_learning": "tabular", "sarsa": "tabular",
    "expected_sarsa": "tabular", "double_q_learning": "tabular", "td0": "tabular",
    "epsilon_greedy": "tabular", "value_iteration": "tabular",
    "q_learning_rollout": "tabular",
}

#: default-valued arguments worth sweeping (a valid value to start from)
EXTRA_ARGS = {
    "q_learning_rollout": dict(action_mask=np.ones((4, 3)), terminal_states=[3],
                               start_state=0, epsilon=0.5, alpha=0.5, alpha_decay=0.1,
                               gamma=0.9, step_offset=0, state=None),
    "value_iteration": dict(tol=1e-8, max_iter=1000, action_mask=np.ones((4, 3))),
    "discounted_returns": dict(truncated=np.zeros((7, 2), bool)),
}


class Case:
    """One call of an entry point with one argument replaced."""

    def __init__(self, family, entry, arg, label, call, snapshot, extreme=False):
        self.family, self.entry, self.arg, self.label = family, entry, arg, label
        self.call, self.snapshot, self.extreme = call, snapshot, extreme

    @property
    def id(self):
        return f"{self.entry}:{self.arg}={self.label}"


def _copy(x):
    return x.copy() if isinstance(x, np.ndarray) else x


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)


def kernel_cases(fastpg, backend):
    """Cases for every public kernel function in tests/kernel_calls.py."""
    for name, args, kw in CALLS:
        fn = getattr(fastpg, name)
        params = inspect.signature(fn).parameters
        valid = dict(inspect.signature(fn).bind(*args, **kw).arguments)
        valid.update({k: v for k, v in EXTRA_ARGS.get(name, {}).items() if k in params})
        valid["backend"] = backend
        fam = FAMILY.get(name, "policy")

        def want(name=name, valid=valid):
            out = getattr(fastpg, name)(**{k: _copy(v) for k, v in valid.items()}
                                        | {"backend": "numpy"})
            return out[0] if isinstance(out, tuple) else out

        for arg in params:
            if (name, arg) in SPECIAL:
                bad = (_stochastic(valid["P"]) if arg == "P" else
                       [("str", lambda v: np.full(np.shape(v), "a")),
                        ("wrong shape", lambda v: np.ones((1, 1)))])
            elif name == "epsilon_greedy" and arg in ("Q", "states"):
                bad = [x for x in (_data(first=True) if arg == "Q" else _INDEX)
                       if x[0] != "longer"] + ([("nan", lambda v: np.full_like(v, NAN)),
                                                ("empty", lambda v: v[:0])] if arg == "Q" else [])
            elif arg == "out":
                if name in ("value_iteration", "q_learning_rollout"):
                    continue
                bad = _out(want)
            elif arg in PARAM_KIND:
                bad = KINDS[PARAM_KIND[arg]](name)
            else:
                continue
            if arg not in valid and PARAM_KIND.get(arg) in ("flags", "optional data"):
                # an optional array left out of the valid call: start from a
                # valid one of the right shape
                ref = next(iter(valid.values())) if name != "discounted_returns" else args[0]
                valid_arg = np.zeros(np.shape(args[0]), bool) if "flags" in PARAM_KIND[arg] \
                    else np.ones(np.shape(args[0])[:1] if arg == "weights" else np.shape(ref))
            else:
                valid_arg = valid.get(arg, params[arg].default)
            for label, value in bad:
                yield _kernel_case(fastpg, fam, name, valid, arg, label, value, valid_arg)


def _kernel_case(fastpg, fam, name, valid, arg, label, value, valid_arg):
    def setup():
        kw = {k: _copy(v) for k, v in valid.items()}
        kw[arg] = value(_copy(valid_arg)) if callable(value) else value
        return kw

    def call(kw):
        return getattr(fastpg, name)(**kw)

    def snapshot(kw):
        return {k: _copy(v) for k, v in kw.items() if isinstance(v, np.ndarray)}

    return Case(fam, name, arg, label, (setup, call), snapshot)


def _names(arg):
    return re.compile(r"(?<![A-Za-z_])" + re.escape(arg) + r"(?![A-Za-z_])")


def run_case(case):
    """The outcome of one case: "ok" or the kind of failure, and a detail."""
    setup, call = case.call
    kw = setup()
    before = case.snapshot(kw)
    try:
        call(kw)
    except (ValueError, TypeError) as exc:
        if type(exc).__module__.startswith("numba"):
            return "wrong-type", f"{type(exc).__name__}: {str(exc)[:120]}"
        after = case.snapshot(kw)
        if not _same(before, after):
            return "state-changed", str(exc)[:160]
        if not _names(case.arg).search(str(exc)):
            return "unnamed", f"{type(exc).__name__}: {str(exc)[:160]}"
        return "ok", ""
    except Exception as exc:  # noqa: BLE001 (what is being classified)
        return "wrong-type", f"{type(exc).__name__}: {str(exc)[:160]}"
    return "accepted", ""


# -- replay buffers and the sum tree ------------------------------------------

def all_cases(fastpg, backend):
    yield from kernel_cases(fastpg, backend)
    from .sweep_buffers import buffer_cases
    yield from buffer_cases(fastpg, backend)
    if backend != "numpy":  # the extremes compare a backend with the reference
        from .sweep_extremes import extreme_cases
        yield from extreme_cases(fastpg, backend)


def outcome(case):
    if case.extreme:
        from .sweep_extremes import run_extreme
        return run_extreme(case)
    return run_case(case)
