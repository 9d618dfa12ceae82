"""The time-major rules of the return and off-policy functions: an ``axis`` of
time, arrays brought to the kernels' C-contiguous ``(T, B)``, episode flags,
discount-like coefficients, clipping thresholds and log importance ratios."""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from .core import interval, no_nan, real_array, real_number

__all__ = [
    "axis_index", "batch_size", "to_tb", "same_shape", "flags", "coef", "clip_threshold",
    "log_ratios", "kernel_out"]


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
            raise ValueError(f"{name} must lie in {interval(lo, hi)}; got {x!r}")
        return np.full((1, B), x, dtype=dtype)
    arr = real_array(x, name, allow_bool=False)
    if arr.size and not (np.all(arr >= lo) and np.all(arr <= hi)):
        bad = arr[~((arr >= lo) & (arr <= hi))].ravel()[0]
        raise ValueError(f"{name} must lie in {interval(lo, hi)}; got {bad!r}")
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


def clip_threshold(x, name):
    """A clipping threshold: a real number >= 0, or inf (no clipping), as float."""
    if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and x == math.inf:
        return math.inf
    return real_number(x, name, 0.0)


def log_ratios(arr, name):
    """Log importance ratios log π - log μ: -inf (π = 0) is allowed; NaN and
    +inf (μ = 0: the behaviour policy cannot have taken that action) are not.
    One streaming max first; the elements are inspected only on failure."""
    if arr.dtype.kind != "f" or not arr.size:
        return
    top = arr.max()
    if np.isnan(top) or top == np.inf:
        flat = arr.ravel()
        idx = np.unravel_index(np.flatnonzero(np.isnan(flat) | (flat == np.inf))[0], arr.shape)
        raise ValueError(f"{name} must not be NaN or +inf (log pi - log mu, with mu > 0 for the "
                         f"actions taken); {name}[{', '.join(map(str, idx))}] = "
                         f"{arr[idx].item()!r}")


def kernel_out(out, axis, T, B, dtype, inputs):
    """The (T, B) array a kernel writes: out itself when its layout allows and
    it overlaps no input, else a fresh array (copied into out afterwards)."""
    if out is not None:
        view = out if axis == 0 else np.moveaxis(out, axis, 0)
        if view.flags.c_contiguous and not any(np.may_share_memory(view, a) for a in inputs):
            return view.reshape(T, B), False
    return np.empty((T, B), dtype=dtype), out is not None
