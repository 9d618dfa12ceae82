"""Input validation shared by every public function.

Each helper names the argument it checks, says what was expected and what
it got, and returns the array in the layout the kernels take (see
fastpg.reference.returns): time-major ``(T, B)`` C-contiguous, float32 or
float64, flags as uint8. Non-contiguous and read-only inputs are accepted
(copied only when the layout requires it); nothing a caller passes is ever
written except ``out=``.
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np


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


def axis_index(axis, ndim, name="axis", of="rewards"):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {axis!r}") from None
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for {of} with {ndim} dimension(s)")
    return axis % ndim


def batch_size(shape, axis):
    """Product of the non-time dimensions (1 for a flat stream)."""
    return math.prod(s for i, s in enumerate(shape) if i != axis)


def to_tb(arr, axis, dtype):
    """(T, *batch) with time first -> C-contiguous (T, B) of dtype (a view when possible)."""
    # The Python-level overhead matters: at T=2048, B=64 a kernel takes ~0.2 ms,
    # so the common cases (axis 0, already contiguous) skip np.moveaxis.
    if axis != 0:
        arr = np.moveaxis(arr, axis, 0)
    T = arr.shape[0]
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr.reshape(T, batch_size(arr.shape, 0))


def same_shape(arr, name, shape, ref_name="rewards"):
    if arr.shape != shape:
        raise ValueError(f"{name} must have the shape of {ref_name} {shape}; got {arr.shape}")


def no_nan(arr, name):
    if arr.dtype.kind == "f" and arr.size and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")


def flags(x, name, shape, axis):
    """Episode flags -> uint8 (T, B), nonzero meaning true; None -> (0, B)."""
    if x is None:
        return np.zeros((0, batch_size(shape, axis)), dtype=np.uint8)
    arr = real_array(x, name)
    same_shape(arr, name, shape)
    no_nan(arr, name)
    if arr.dtype == np.bool_ or arr.dtype == np.uint8:
        return to_tb(arr, axis, arr.dtype).view(np.uint8)
    return to_tb(arr != 0, axis, np.bool_).view(np.uint8)


def coef(x, name, shape, axis, dtype, lo=0.0, hi=1.0):
    """A discount-like coefficient: scalar or array broadcastable to shape.

    Checked to lie in [lo, hi] (NaN rejected). Returned as (1, B) when it is
    constant along time, else (T, B).
    """
    B = batch_size(shape, axis)
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, (bool, np.bool_)):
        # scalar fast path (the usual gamma=0.99)
        if not lo <= x <= hi:
            raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}]; got {x!r}")
        return np.full((1, B), x, dtype=dtype)
    arr = real_array(x, name, allow_bool=False)
    if arr.size and not (np.all(arr >= lo) and np.all(arr <= hi)):
        bad = arr[~((arr >= lo) & (arr <= hi))].ravel()[0]
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}]; got {bad!r}")
    T = shape[axis]
    try:
        full = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {arr.shape} cannot be broadcast to rewards "
                         f"of shape {shape}") from None
    full = np.moveaxis(full, axis, 0)
    if T == 0:
        return np.zeros((1, B), dtype=dtype)
    if T == 1 or full.strides[0] == 0:
        return np.ascontiguousarray(full[:1], dtype=dtype).reshape(1, B)
    return np.ascontiguousarray(full, dtype=dtype).reshape(T, B)


def real_number(x, name, lo=-math.inf, hi=math.inf, *, lo_open=False, hi_open=False):
    """A finite real number (int or float; bools, strings and arrays refused)
    in the interval [lo, hi] (open at an end with lo_open / hi_open), as float."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or \
            isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a real number; got {x!r}")
    v = float(x)
    if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or \
            (hi_open and v == hi):
        raise ValueError(f"{name} must lie in {'(' if lo_open else '['}{lo:g}, "
                         f"{hi:g}{')' if hi_open else ']'} (a finite number); got {x!r}")
    return v


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


def kernel_out(out, axis, T, B, dtype, inputs):
    """The (T, B) array a kernel writes: out itself when its layout allows and
    it overlaps no input, else a fresh array (copied into out afterwards)."""
    if out is not None:
        view = out if axis == 0 else np.moveaxis(out, axis, 0)
        if view.flags.c_contiguous and not any(np.may_share_memory(view, a) for a in inputs):
            return view.reshape(T, B), False
    return np.empty((T, B), dtype=dtype), out is not None


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
    # is not, or (rarely, harmlessly) it overflowed: then look element-wise
    if arr.size and not np.isfinite(arr.sum()):
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
    if n:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= upper:
            bad = lo if lo < 0 else hi
            i = int(np.flatnonzero(arr == bad)[0])
            raise ValueError(f"{name}[{i}] = {bad} is out of range: {name} must lie in "
                             f"[0, {upper}) ({upper_name} = {upper})")
    return arr


def generator(rng, name="rng"):
    """A numpy.random.Generator from a Generator, a seed (int / SeedSequence) or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"{name} must be a numpy.random.Generator, a seed (int) or None; "
                    f"got {type(rng).__name__}")
