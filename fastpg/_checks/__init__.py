"""Input validation shared by every public function.

Each helper names the argument it checks, says what was expected and what
it got, and returns the array in the layout the kernels take (see
fastpg.reference.returns): time-major ``(T, B)`` C-contiguous, float32 or
float64, flags as uint8. Non-contiguous and read-only inputs are accepted
(copied only when the layout requires it); nothing a caller passes is ever
written except ``out=``.

The rules are in two modules, re-exported here: :mod:`.core` (every
family) and :mod:`.time_major` (returns and off-policy corrections).
"""
from .core import (
    real_array, float_dtype, no_nan, interval, real_number, per_item_array, per_item,
    item_flags, distributions, start_distribution, inplace_table, no_alias, mask, INT_MAX,
    positive_int, out_array, out_group, float_array, all_finite, ndim_is, index_array,
    shape_tuple, numeric_dtype, generator, common_length, backend)
from .time_major import (
    axis_index, batch_size, to_tb, same_shape, flags, coef, clip_threshold, log_ratios,
    kernel_out)

__all__ = [
    "real_array", "float_dtype", "no_nan", "interval", "real_number", "per_item_array",
    "per_item", "item_flags", "distributions", "start_distribution", "inplace_table",
    "no_alias", "mask", "INT_MAX", "positive_int", "out_array", "out_group", "float_array",
    "all_finite", "ndim_is", "index_array", "shape_tuple", "numeric_dtype", "generator", "common_length",
    "backend", "axis_index", "batch_size", "to_tb", "same_shape", "flags", "coef",
    "clip_threshold", "log_ratios", "kernel_out"]
