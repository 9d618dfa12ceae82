"""Backends, the kernel registry, and dispatch by kernel name.

A kernel is a name: ``fastpg.reference.<family>.<name>``,
``fastpg._numba.<family>.<name>`` and ``fastpg._cy.<family>.<name>`` share
one positional signature. The public functions validate and normalise, then
call ``kernel(family, name, backend)``.

The kernel contract (every family, every backend):

* Arguments are positional, in the reference's order and names. The public
  layer has validated and normalised them (dtypes, C-contiguity, shapes,
  ranges) before the call; kernels check nothing the public layer checks.
* Results go into caller-provided output arrays, written in full; a kernel
  allocates only scratch. Inputs are never written, except the tables a
  kernel updates in place by design (tabular updates, replay storage and
  the sum tree).
* Return value: a return kernel returns its output array(s), so that a
  caller's own ``@njit`` or Cython code can use the call as an expression.
  Every other kernel returns an integer status: -1 when done, or i >= 0, the
  first input row it could not use (the policy kernels: a row with no
  possible action, a non-finite logit); the public layer turns that into a
  ValueError naming the argument and the row. Two kernels return a scalar
  result instead: ``value_iteration`` (the sweeps run) and
  ``q_learning_rollout`` (the state the simulation ended in).
* Out of memory for scratch: numba raises MemoryError itself; so do the
  Cython wrappers that allocate a kernel's scratch with NumPy (tabular,
  off-policy, policy: their ``*_c`` kernels take the scratch as arguments
  and cannot fail). Compiled code that allocates with malloc (returns,
  replay) returns -2 to its wrapper, which raises
  ``MemoryError("fastpg: out of memory in a <family> kernel")``. No caller
  sees -2.
* Compiled kernels release the GIL.

Choosing a backend: the ``backend=`` keyword of a public function, then
``use_backend(...)`` (a context variable: per thread / task), then
``set_backend(...)``, then the ``FASTPG_BACKEND`` environment variable, then
``"auto"``. ``auto`` picks per kernel the fastest available backend according
to ``AUTO_PREFERENCE`` (from ``fastpg bench`` on the project's reference
machine), and by size where ``AUTO_WIDE`` says so: both tables, and where
their figures come from, are in fastpg._auto. Asking for an unavailable
backend by name raises with the reason: there is no silent fallback.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import os
import threading

from ._auto import AUTO_WIDE, DEFAULT_PREFERENCE, auto_preference
from ._tuning import PARALLEL_MIN, PARALLEL_MIN_BY_KERNEL

BACKENDS = ("numpy", "numba", "cython")
_MODULE_ROOT = {"numpy": "fastpg.reference", "numba": "fastpg._numba", "cython": "fastpg._cy"}

#: every kernel of every family; tests and benchmarks iterate over this
REGISTRY = {
    "returns": ("discounted_returns", "gae", "lambda_returns", "nstep_returns"),
    "policy": ("softmax", "log_softmax", "softmax_jacobian", "softmax_jvp", "log_prob_grad",
               "linear_policy_probs", "linear_policy_grad", "compatible_features",
               "action_feature_grad", "sample_categorical", "entropy", "policy_gradient_loss"),
    "tabular": ("q_learning", "sarsa", "expected_sarsa", "double_q_learning", "td0",
                "epsilon_greedy", "value_iteration", "q_learning_rollout"),
    "offpolicy": ("vtrace", "retrace"),
    "replay": ("tree_update", "tree_sample", "importance_weights", "ring_write", "gather_rows",
               "uniform_sample", "uniform_gather", "nstep_gather"),
    "envs": ("cartpole_step", "cartpole_rollout", "mountaincar_step", "acrobot_step"),
    "tabular_envs": ("mdp_step",),
}

AUTO_PREFERENCE = auto_preference(REGISTRY)


_default: str | None = None
_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("fastpg_backend", default=None)
_modules: dict[tuple[str, str], object] = {}
_unavailable: dict[str, str] = {}

#: Replaced by a new object whenever the backend in force may change for some
#: caller (set_backend, a use_backend block opened or closed in any thread),
#: and None while any use_backend block is open (the backend in force then
#: differs between threads). Code that runs a kernel once per training step
#: may keep ``kernel(...)``'s result next to the stamp it was got under and
#: reuse it while ``_stamp`` is that same (non-None) object: an identity test
#: instead of a lookup that costs ~5 us when the caches are cold.
_stamp: object | None = object()
_open_overrides = 0
_stamp_lock = threading.Lock()


def kept_kernel(memo: dict, family: str, name: str, backend: str | None = None):
    """``kernel(family, name, backend)``, kept in the caller's dict ``memo``
    while ``_stamp`` is unchanged (for code that runs it once per step)."""
    key = (name, backend)
    hit = memo.get(key)
    stamp = _stamp
    if hit is not None and stamp is not None and hit[0] is stamp:
        return hit[1]
    fn = kernel(family, name, backend)
    memo[key] = (stamp, fn)
    return fn


def _new_stamp(opened: int) -> None:
    global _stamp, _open_overrides
    with _stamp_lock:
        _open_overrides += opened
        _stamp = object() if _open_overrides == 0 else None


def _check_name(name, what="backend"):
    if not isinstance(name, str):
        raise TypeError(f"{what} must be one of 'auto', " + ", ".join(repr(b) for b in BACKENDS)
                        + f" (a str); got {name!r}")
    if name != "auto" and name not in BACKENDS:
        raise ValueError(f"{what} must be one of 'auto', " + ", ".join(repr(b) for b in BACKENDS)
                         + f"; got {name!r}")
    return name


def get_backend() -> str:
    """The backend in force here: 'auto', 'numpy', 'numba' or 'cython'."""
    over = _override.get()
    if over is not None:
        return over
    if _default is not None:
        return _default
    if _env_value is None:
        return _read_env()
    return _env_value


_env_value: str | None = None


def _read_env() -> str:
    # FASTPG_BACKEND is read once, on first use (os.environ lookups cost
    # microseconds, and a public call on small inputs must not); change the
    # backend at run time with set_backend / use_backend.
    global _env_value
    value = os.environ.get("FASTPG_BACKEND", "").strip().lower() or "auto"
    _check_name(value, "FASTPG_BACKEND")
    _env_value = value
    return value


def set_backend(name: str) -> None:
    """Set the process-wide default backend ('auto' restores per-kernel choice)."""
    global _default
    name = _check_name(str(name).lower())
    if name != "auto":
        require(name)
    _default = name
    _new_stamp(0)


@contextlib.contextmanager
def use_backend(name: str):
    """``with use_backend('numba'): ...`` — scoped to this thread/task."""
    name = _check_name(str(name).lower())
    if name != "auto":
        require(name)
    token = _override.set(name)
    _new_stamp(1)
    try:
        yield name
    finally:
        _override.reset(token)
        _new_stamp(-1)


def _load(backend: str, family: str):
    key = (backend, family)
    mod = _modules.get(key)
    if mod is None:
        if backend in _unavailable:
            raise BackendUnavailable(backend, _unavailable[backend])
        try:
            mod = importlib.import_module(f"{_MODULE_ROOT[backend]}.{family}")
        except ImportError as exc:  # numba missing, extension not built, ...
            why = f"{type(exc).__name__}: {exc}"
            if backend == "cython" and "FASTPG_ISA" not in why:  # else built, but refused
                why += " (build it with `pip install .` or `python setup.py build_ext --inplace`)"
            _unavailable[backend] = why
            raise BackendUnavailable(backend, why) from exc
        _modules[key] = mod
    return mod


class BackendUnavailable(RuntimeError):
    def __init__(self, backend, why):
        super().__init__(f"fastpg backend {backend!r} is not available: {why}")
        self.backend = backend
        self.why = why


def why_unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot be used (the import error, with what to do), or
    None when it can; imports it to find out."""
    _check_name(backend)
    try:
        for family in REGISTRY:
            _load(backend, family)
    except BackendUnavailable as exc:
        return exc.why
    return None


def available(backend: str) -> bool:
    """Whether ``backend`` can be used ('numpy' always can); the reason when
    it cannot: :func:`why_unavailable`."""
    return why_unavailable(backend) is None


def available_backends() -> list[str]:
    return [b for b in BACKENDS if available(b)]


def require(backend: str) -> None:
    why = why_unavailable(backend)
    if why is not None:
        raise BackendUnavailable(backend, why)


def _wide(name: str, width: int) -> bool:
    rule = AUTO_WIDE.get(name)
    return rule is not None and width >= rule[0]


def resolve(name: str, backend: str | None = None, width: int = 0) -> str:
    """The concrete backend that runs kernel ``name`` for this call (``width``:
    see AUTO_WIDE)."""
    chosen = get_backend() if backend is None else _check_name(str(backend).lower())
    if chosen != "auto":
        return chosen
    prefs = AUTO_WIDE[name][1] if _wide(name, width) else AUTO_PREFERENCE.get(
        name, DEFAULT_PREFERENCE)
    for cand in prefs:
        if cand == "numpy" or available(cand):
            return cand
    return "numpy"


_dispatch: dict[tuple, object] = {}


def kernel(family: str, name: str, backend: str | None = None, size: int = 0, width: int = 0,
           rows: bool = False, writeable: bool = False):
    """The function to call: backend's ``name`` (or ``name_parallel`` for big work;
    ``auto`` may choose by ``width``, see AUTO_WIDE). ``rows``: the arrays are
    wide (B >= ROW_MIN_B), so a backend's ``name_rows`` variant, which compiles
    only that path, serves where it has one.

    ``writeable``: the caller passes only writeable arrays (an env's own
    state), so a numba kernel is returned without the read-only check
    (``_writeable_inputs``, ~50 ns an array argument).

    Memoised per (family, name, requested backend, parallel?, wide?, rows?,
    writeable?): a public call on small inputs must cost microseconds, not a
    registry walk.
    """
    choice = get_backend() if backend is None else backend
    par = parallel(name, size)
    wide = _wide(name, width)
    key = (family, name, choice, par, wide, rows, writeable)
    try:
        fn = _dispatch.get(key)
    except TypeError:  # an unhashable backend=, e.g. a list: say what is expected
        _check_name(choice)
        raise
    if fn is None:
        chosen = resolve(name, choice, width)
        mod = _load(chosen, family)
        if rows and hasattr(mod, name + "_rows"):
            name += "_rows"
        fn = getattr(mod, name)
        if par:
            fn = getattr(mod, name + "_parallel", fn)
        if chosen == "numba" and not writeable:
            fn = _writeable_inputs(fn)
        _dispatch[key] = fn
    return fn


def parallel(name: str, size: int) -> bool:
    """Whether work of ``size`` goes to ``name``'s multi-threaded variant
    (where a backend has one): more than one thread, and size at least the
    kernel's threshold (fastpg._tuning)."""
    return size >= PARALLEL_MIN_BY_KERNEL.get(name, PARALLEL_MIN) and threads() > 1


def _writeable_inputs(fn):
    """The numba kernel ``fn``, called with read-only arrays (a JAX array seen
    through NumPy, a broadcast view, a read-only buffer) replaced by writeable
    views of the same memory. numba types a read-only array as another type,
    so every kernel would otherwise compile a second time (seconds each) for
    such inputs; the kernels never write their inputs."""
    import numpy as np

    ndarray = np.ndarray

    def alias(a):
        if type(a) is not ndarray or a.flags.writeable:
            return a
        holder = _Memory()
        holder.__array_interface__ = dict(a.__array_interface__, data=(a.ctypes.data, False))
        holder.owner = a  # keeps the memory alive as long as the view
        return np.asarray(holder)

    @functools.wraps(fn)
    def call(*args):
        for a in args:
            if type(a) is ndarray and not a.flags.writeable:
                return fn(*map(alias, args))
        return fn(*args)

    return call


class _Memory:
    __slots__ = ("__array_interface__", "owner")


def threads() -> int:
    """Threads the parallel kernels may use (NUMBA_NUM_THREADS / OMP_NUM_THREADS / cores)."""
    for var in ("FASTPG_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        val = os.environ.get(var)
        if val and val.isdigit():
            return max(1, int(val))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
