"""The general rules: arrays and their dtypes, numbers and intervals, per-item
values, indices, output arrays, tables, distributions, generators and
backend names (the package docstring, fastpg._checks, states the conventions)."""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from .. import _backend

__all__ = [
    "real_array", "float_dtype", "no_nan", "interval", "real_number", "per_item_array",
    "per_item", "item_flags", "distributions", "start_distribution", "inplace_table",
    "no_alias", "mask", "INT_MAX", "positive_int", "out_array", "out_group", "float_array",
    "all_finite", "ndim_is", "index_array", "shape_tuple", "numeric_dtype", "generator",
    "common_length", "backend"]


def _kind_error(name, arr, what):
    return TypeError(f"{name} must be {what}; got an array of dtype {arr.dtype}")


def real_array(x, name, allow_bool=True):
    """np.asarray(x) with a bool, integer or floating dtype (bools refused with
    allow_bool=False: for numbers such as a discount, True is not 1.0)."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists, unconvertible objects
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.dtype.kind not in ("biuf" if allow_bool else "iuf"):
        raise _kind_error(name, arr, "real numbers (bool, integer or float)" if allow_bool
                          else "numbers (integer or float; not bool)")
    return arr


def float_dtype(*arrays):
    """np.result_type of the inputs, as float32 or float64.

    Integers and bools compute in float64 (as NumPy would); float16 in
    float32 (the kernels exist for float32 and float64 only).
    """
    dt = np.result_type(*arrays)
    if dt.kind != "f" or dt.itemsize > 4:
        return np.dtype(np.float64)  # native byte order: big-endian input is converted
    return np.dtype(np.float32)


def no_nan(arr, name):
    if arr.dtype.kind == "f" and arr.size and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")


def interval(lo, hi, lo_open=False, hi_open=False):
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def real_number(x, name, lo=-math.inf, hi=math.inf, *, lo_open=False, hi_open=False):
    """A finite real number (int or float; bools, strings and arrays refused)
    in the interval [lo, hi] (open at an end with lo_open / hi_open), as float."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or \
            isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a real number; got {x!r}")
    v = float(x)
    if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or \
            (hi_open and v == hi):
        raise ValueError(f"{name} must lie in {interval(lo, hi, lo_open, hi_open)} "
                         f"(a finite number); got {x!r}")
    return v


def per_item_array(x, name, N, dtype, *, per="item", broadcast=True, allow_bool=True):
    """A value per item (per transition, per row): a scalar or shape (N,), as a
    contiguous array of dtype; a scalar is broadcast to (N,), or with
    broadcast=False kept as shape (1,) (the kernels broadcast it)."""
    arr = real_array(x, name, allow_bool)
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (N,)) if broadcast else arr.reshape(1)
    elif arr.shape != (N,):
        raise ValueError(f"{name} must be a scalar or have shape ({N},) (one per {per}); "
                         f"got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def per_item(x, name, N, dtype, lo, hi, *, lo_open=False, per="item"):
    """A number per item in [lo, hi] (open at lo with lo_open): per_item_array
    without broadcasting, bools refused, NaN refused by the interval."""
    arr = per_item_array(x, name, N, dtype, per=per, broadcast=False, allow_bool=False)
    ok = (arr > lo) if lo_open else (arr >= lo)
    ok &= arr <= hi
    if arr.size and not ok.all():
        raise ValueError(f"{name} must lie in {interval(lo, hi, lo_open)}; got "
                         f"{arr[~ok][0]!r}")
    return arr


def item_flags(x, name, N, per="item"):
    """Episode flags per item (nonzero = true; NaN refused) -> uint8 (N,); None: all false."""
    if x is None:
        return np.zeros(N, np.uint8)
    arr = per_item_array(x, name, N, None, per=per)
    no_nan(arr, name)
    return np.ascontiguousarray(arr != 0, dtype=np.uint8)


def distributions(p, name, where=None, tol=1e-6):
    """Probability distributions along the last axis of the float array p:
    finite, non-negative, summing to 1 within tol (only the rows where the
    boolean ``where`` of shape p.shape[:-1] is true need to sum to 1)."""
    all_finite(p, name)
    if p.size and p.min() < 0:
        bad = tuple(int(i) for i in np.argwhere(p < 0)[0])
        raise ValueError(f"{name} must be non-negative (probabilities); {name}"
                         f"[{', '.join(map(str, bad))}] = {float(p[bad])!r}")
    sums = p.sum(axis=-1)
    off = np.abs(sums - 1.0) > tol
    if where is not None:
        off &= where
    if off.any():
        i = tuple(int(k) for k in np.argwhere(off)[0]) if off.ndim else ()
        at = f"{name}[{', '.join(map(str, i + (':',)))}]" if off.ndim else name
        raise ValueError(f"{at} must sum to 1 (a probability distribution); it sums to "
                         f"{float(sums[i])!r}")


def start_distribution(x, name, S):
    """A start state: an index in [0, S), or a probability distribution over
    the S states -> float64 (S,) probabilities."""
    if np.ndim(x) == 0:
        s = index_array([x], name, 1, S, "the number of states S", allow_float=False)[0]
        p = np.zeros(S)
        p[s] = 1.0
        return p
    p = float_array(x, name, np.float64)
    if p.shape != (S,):
        raise ValueError(f"{name} must be a state in [0, {S}) or a distribution over the {S} "
                         f"states; got shape {p.shape}")
    distributions(p, name)
    return p


def inplace_table(Q, name, ndim=2):
    """A table the caller's call updates in place: a writeable float32/float64
    numpy array of ndim dimensions, none of them empty."""
    if not isinstance(Q, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray (it is updated in place); "
                        f"got {type(Q).__name__}")
    if Q.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must have dtype float32 or float64 (it is updated in place); "
                        f"got {Q.dtype}")
    if Q.ndim != ndim:
        what = "(n_states, n_actions)" if ndim == 2 else "(n_states,)"
        raise ValueError(f"{name} must have shape {what}; got {Q.shape}")
    if not Q.flags.writeable:
        raise ValueError(f"{name} is read-only; the update writes it in place")
    if 0 in Q.shape:
        raise ValueError(f"{name} must have at least one state and action; got {Q.shape}")
    return Q


def no_alias(out, name, others):
    """out= must not share memory with an array the kernel reads while it writes out."""
    for other_name, other in others:
        if np.may_share_memory(out, other):
            raise ValueError(f"{name} shares memory with {other_name}: the results would be "
                             f"written into it; pass a separate array")


def mask(x, name, shape):
    """A boolean mask of the given shape (nonzero = true; NaN refused) -> uint8;
    None: all true."""
    if x is None:
        return np.ones(shape, np.uint8)
    m = real_array(x, name)
    if m.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {m.shape}")
    no_nan(m, name)
    return np.ascontiguousarray(m != 0, dtype=np.uint8)


#: integers the compiled kernels take (int64)
INT_MAX = 2**63 - 1


def positive_int(x, name, lo=1):
    if type(x) is int and lo <= x <= INT_MAX:  # the common case, without the ABC checks
        return x
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {lo}; got {x!r}")
    if x < lo:
        raise ValueError(f"{name} must be >= {lo}; got {x}")
    if x > INT_MAX:
        raise ValueError(f"{name} must be at most 2**63 - 1; got {x}")
    return int(x)


def out_array(out, name, shape, dtype):
    """Check a caller's out= array: exact shape and dtype, writeable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)} (the result dtype); "
                        f"got {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def out_group(out, name, fields):
    """Check a caller's out= tuple of arrays that a kernel writes in place:
    one array per ``fields`` entry (field name, shape, dtype), each as
    :func:`out_array` and C-contiguous, no two sharing memory."""
    if not isinstance(out, tuple) or len(out) != len(fields):
        got = f"{len(out)} items" if isinstance(out, tuple) else type(out).__name__
        raise TypeError(f"{name} must be a tuple of {len(fields)} arrays "
                        f"({', '.join(f for f, _, _ in fields)}); got {got}")
    named = []
    for arr, (field, shape, dtype) in zip(out, fields):
        what = f"{name}.{field}"
        out_array(arr, what, shape, dtype)
        if not arr.flags.c_contiguous:
            raise ValueError(f"{what} must be C-contiguous (the kernel writes it in place)")
        no_alias(arr, what, named)
        named.append((what, arr))
    return out


def float_array(x, name, dtype=None):
    """A real array as float32/float64 (its own float dtype, or dtype)."""
    arr = real_array(x, name)
    return np.ascontiguousarray(arr, dtype=dtype if dtype is not None else float_dtype(arr))


def all_finite(arr, name):
    """Raise if arr holds NaN or +-inf. Streams (a sum) before any temporary:
    only when the sum is not finite are the elements inspected."""
    if arr.dtype.kind != "f":
        return  # integers and bools are always finite
    # the native-dtype sum is a fast SIMD pass; it is not finite iff an element
    # is not, or (rarely, harmlessly: values near the dtype's max) it
    # overflowed: then look element-wise
    if not arr.size:
        return
    if arr.size <= 4096:  # small: the element test costs less than errstate's context
        if np.isfinite(arr).all():
            return
        total = np.inf
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum()
    if not np.isfinite(total):
        if not np.isfinite(arr).all():
            flat = np.flatnonzero(~np.isfinite(arr.ravel()))[0]
            idx = np.unravel_index(flat, arr.shape)
            raise ValueError(f"{name} must be finite; {name}[{', '.join(map(str, idx))}] = "
                             f"{arr[idx].item()!r}")


def ndim_is(arr, name, ndims, what):
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must be {what}; got an array of shape {arr.shape}")


def index_array(x, name, n, upper, upper_name, allow_float=True):
    """Integer indices of shape (n,) in [0, upper) -> int64 (a view when possible).

    allow_float: accept integer-valued floats (2.0); never 2.5, NaN or bools.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{name} must be an array of integers: {exc}") from None
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold integers; got dtype bool")
    if arr.dtype.kind == "f" and not allow_float and arr.size:
        raise TypeError(f"{name} must hold integers (indices); got dtype {arr.dtype}")
    if arr.dtype.kind in "uf" and arr.size and not (np.abs(arr) <= INT_MAX).all():
        # before any cast to int64: 2**64 - 1 would read as -1, 1e20 as -2**63
        i = int(np.flatnonzero(~(np.abs(arr.ravel()) <= INT_MAX))[0])
        raise ValueError(f"{name}[{i}] = {arr.ravel()[i].item()!r} is out of range: {name} must "
                         f"lie in [0, {upper}) ({upper_name} = {upper})")
    if arr.dtype.kind == "f" and arr.size and np.all(np.mod(arr, 1) == 0):
        arr = arr.astype(np.int64)  # 2.0 is an index; 2.5 is not
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind in "f" and arr.size == 0):
        raise TypeError(f"{name} must hold integers; got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one per row); got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    # one pass: as unsigned integers a negative index is huge, so every index
    # lies in [0, upper) exactly when the unsigned maximum is below upper;
    # the two-pass search below only runs to name the bad one
    if n and (upper <= 0 or int(arr.view(np.uint64).max()) >= upper):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= upper:
            bad = lo if lo < 0 else hi
            i = int(np.flatnonzero(arr == bad)[0])
            raise ValueError(f"{name}[{i}] = {bad} is out of range: {name} must lie in "
                             f"[0, {upper}) ({upper_name} = {upper})")
    return arr


def shape_tuple(x, name):
    """An array shape: an int or a sequence of ints >= 0 (not bools, not 2.5) -> tuple."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        x = (int(x),)
    try:
        if isinstance(x, (str, bytes)) or any(isinstance(v, (bool, np.bool_)) for v in x):
            raise TypeError
        shape = tuple(operator.index(v) for v in x)  # 2.5 is not a size
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints; got {x!r}") from None
    if any(v < 0 for v in shape):
        raise ValueError(f"{name} must not have negative sizes; got {shape}")
    return shape


def numeric_dtype(x, name):
    """A bool, integer or float numpy dtype (not structured, complex or object)."""
    try:
        dt = np.dtype(x)
    except TypeError as exc:
        raise TypeError(f"{name}: {exc}") from None
    if dt.kind not in "biuf" or dt.fields is not None:
        raise TypeError(f"{name} must be a bool, integer or float dtype; got {dt}")
    return dt


def generator(rng, name="rng"):
    """A numpy.random.Generator from a Generator, a seed (int >= 0 /
    SeedSequence) or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)) or not (
            rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence))):
        raise TypeError(f"{name} must be a numpy.random.Generator, a seed (int) or None; "
                        f"got {type(rng).__name__}")
    if rng is not None and not isinstance(rng, np.random.SeedSequence) and rng < 0:
        raise ValueError(f"{name} as a seed must be >= 0; got {rng}")
    return np.random.default_rng(rng)


def common_length(arrays, prefer):
    """The number of items T shared by the leading axes of ``arrays`` (a
    {name: array-like} of inputs with a leading per-item axis; None entries
    and scalars skipped). When they disagree the length most of them share
    (ties: that of ``prefer``) is taken and the odd one out is named."""
    lengths = {}
    for n, x in arrays.items():
        if x is None:
            continue
        shape = real_array(x, n).shape if not isinstance(x, np.ndarray) else x.shape
        if shape:
            lengths[n] = shape[0]
    if not lengths:
        return None
    counts = list(lengths.values())
    if counts.count(counts[0]) == len(counts):  # the usual case: they agree
        return counts[0]
    T = max(counts, key=lambda k: (counts.count(k), k == lengths.get(prefer)))
    if len(set(counts)) > 1:
        odd = next(n for n, k in lengths.items() if k != T)
        same = ", ".join(n for n, k in lengths.items() if k == T)
        raise ValueError(f"{odd} must have {T} item(s) along its first axis, as {same}; "
                         f"got {lengths[odd]}")
    return T


def backend(x, name="backend"):
    """A backend= argument given to a constructor: checked now, including that a
    concrete backend is available, rather than at the first kernel call."""
    if x is None:
        return None
    x = _backend._check_name(x if not isinstance(x, str) else x.lower(), name)
    if x != "auto":
        _backend.require(x)
    return x
