"""Record layout of the replay buffers: the batch type, the fields' strided
views of the record array, the one-transition fast path's arrays, the input
casting rule."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

_FLAG_TYPES = (bool, np.bool_, int)
#: records up to this many bytes are gathered whole, then split per field (one
#: cache miss per transition); wider ones (image observations) are gathered
#: field by field so that each byte is copied once
_RECORD_GATHER_MAX = 512


class Batch(dict):
    """A sampled batch: a dict of NumPy arrays, also readable as attributes.

    Always: ``obs, action, reward, next_obs, terminated, truncated, indices``
    and the buffer's extra fields. With ``gamma`` (n-step sampling): also
    ``discount`` (γ^m, 0 after a termination) and ``steps`` (m). From a
    prioritized buffer: also ``weights``.
    """

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return list(self.keys()) + dir(dict)


def _cast_error(name, src, dst, arr):
    """None when ``arr`` (dtype src) can be stored as dst without changing a value."""
    if src.kind not in "biuf":
        return f"{name} must hold real numbers of dtype {dst}; got dtype {src}"
    if dst.kind == "b":  # flags: nonzero means true; NaN means nothing
        if src.kind == "f" and arr.size and np.isnan(arr).any():
            return f"{name} contains NaN (a flag must be a bool or a number, nonzero = true)"
        return None
    if src.kind == "b":
        return (f"{name} must hold numbers of dtype {dst}; got bool (convert it explicitly if "
                "that is intended)")
    if dst.kind in "iu":
        if src.kind == "f":
            return (f"{name} must be stored as {dst}; got floating-point dtype {src} "
                    f"(convert it explicitly if rounding is intended)")
        if src.kind in "iu" and not np.can_cast(src, dst) and arr.size:
            info = np.iinfo(dst)
            if arr.min() < info.min or arr.max() > info.max:
                return f"{name} has values outside the range of {dst} [{info.min}, {info.max}]"
    return None


def c_strides(shape, itemsize):
    """The byte strides of a C-ordered ``shape`` of items (a field's elements
    within its record, the strides of a layout spec)."""
    return tuple(itemsize * int(np.prod(shape[i + 1:], dtype=np.int64))
                 for i in range(len(shape)))


class _Field:
    """One field of the record array: a strided view of its bytes and of its values."""

    __slots__ = ("name", "shape", "dtype", "offset", "width", "rows", "data", "spec")

    def __init__(self, name, shape, dtype, rec, offset):
        capacity = rec.shape[0]
        self.name, self.shape, self.dtype, self.offset = name, shape, dtype, offset
        self.width = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        self.rows = rec[:, offset:offset + self.width]  # (C, width) uint8, strided
        if self.width:
            data = self.rows.view(dtype)
            data.shape = (capacity,) + shape  # a view (raises rather than copy)
        else:
            data = np.zeros((capacity,) + shape, dtype)
        self.data = data
        # its spec in a layout of gather_fields / record_fields
        self.spec = (shape, dtype, offset, c_strides(shape, dtype.itemsize), None) \
            if self.width else None

    def take(self, rec):
        """This field of gathered records ``rec`` (B, record bytes), contiguous."""
        B = rec.shape[0]
        if not self.width:
            return np.zeros((B,) + self.shape, self.dtype)
        # typed view first: numpy then copies items, not single bytes (3.6 -> ~1 us)
        out = np.array(rec[:, self.offset:self.offset + self.width].view(self.dtype))
        out.shape = (B,) + self.shape
        return out


class _FastAdd(NamedTuple):
    """The field arrays one transition is written to without conversion, each
    a ``(capacity, ...)`` view of the records."""
    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    cut: np.ndarray


_F32_MAX = float(np.finfo(np.float32).max)


def _add_one(fast, x, obs, action, reward, next_obs, terminated, truncated):
    """Write one transition into row ``x`` of the ``fast`` arrays (a
    :class:`_FastAdd`) when it needs no conversion that could change a value;
    otherwise write nothing and return False (the general path then converts
    or says which argument is wrong and why).

    Accepted: obs and next_obs ndarrays of the field's exact dtype and shape,
    C-contiguous; a Python int action for a scalar integer action field, or
    an ndarray action of the exact dtype and shape; a Python float/int reward
    that is finite and fits the reward dtype (float32 or float64); Python or
    NumPy bool, or Python int, flags. ``cut`` gets ``truncated``.
    """
    od, ad, rd, nd, td, trd, cut = fast
    if not 0 <= x < od.shape[0]:
        raise IndexError(f"add_one: row {x} is outside the buffer")
    if not (_row_array(obs, od) and _row_array(next_obs, nd)):
        return False
    scalar_action = type(action) is int and ad.ndim == 1 and ad.dtype.kind in "iu"
    if not (scalar_action or _row_array(action, ad)):
        return False
    if type(reward) not in (float, int):
        return False
    try:
        r = float(reward)
    except OverflowError:
        return False
    if not (r - r == 0 and (rd.dtype == np.float64
                            or (rd.dtype == np.float32 and abs(r) <= _F32_MAX))):
        return False
    if type(terminated) not in _FLAG_TYPES or type(truncated) not in _FLAG_TYPES:
        return False
    try:
        ad[x] = action  # first: an out-of-range int fails before any write
    except OverflowError:
        return False
    od[x] = obs
    nd[x] = next_obs
    rd[x] = r
    td[x] = bool(terminated)
    trd[x] = cut[x] = bool(truncated)
    return True


def _add_rows(fast, x, obs, action, reward, next_obs, terminated, truncated):
    """Write m transitions (m = len(reward) >= 1) into rows x .. x + m - 1 of
    the ``fast`` arrays, without wrapping, when none needs a conversion that
    could change a value; otherwise write nothing and return False (the
    general path converts, wraps, or names the bad argument).

    Accepted: obs, next_obs and action ndarrays of the field's exact dtype
    and shape (m, ...), C-contiguous; a C-contiguous (m,) reward of the
    reward dtype, or float64 for a float32 field, every value finite (and
    within float32 when converted); C-contiguous (m,) bool or uint8 flags
    (``truncated`` None: all False). ``cut`` gets ``truncated``.
    """
    od, ad, rd, nd, td, trd, cut = fast
    if not (type(reward) is np.ndarray and reward.ndim == 1 and reward.flags.c_contiguous):
        return False
    m = reward.shape[0]
    if m < 1 or x < 0 or x + m > od.shape[0]:
        return False
    if not (reward.dtype == rd.dtype or (reward.dtype == np.float64 and rd.dtype == np.float32)) \
            or rd.dtype not in (np.float32, np.float64):
        return False
    if not (_rows_array(obs, od, m) and _rows_array(next_obs, nd, m)
            and _rows_array(action, ad, m)):
        return False
    if terminated is None or not (_flag_rows(terminated, m) and _flag_rows(truncated, m)):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        if not (np.isfinite(reward).all() and (reward.dtype == rd.dtype
                                               or np.abs(reward).max() <= _F32_MAX)):
            return False
    od[x:x + m] = obs
    nd[x:x + m] = next_obs
    ad[x:x + m] = action
    rd[x:x + m] = reward
    td[x:x + m] = terminated != 0
    trd[x:x + m] = cut[x:x + m] = False if truncated is None else truncated != 0
    return True


def _rows_array(a, field, m):
    return (type(a) is np.ndarray and a.dtype == field.dtype
            and a.shape == (m,) + field.shape[1:] and a.flags.c_contiguous)


def _flag_rows(a, m):
    return a is None or (type(a) is np.ndarray and a.shape == (m,) and a.flags.c_contiguous
                         and a.dtype in (np.bool_, np.uint8))


def _row_array(a, field):
    return (type(a) is np.ndarray and a.dtype == field.dtype and a.shape == field.shape[1:]
            and a.flags.c_contiguous)


def _record_fields(rec, layout):
    """The field arrays of a gathered block of records.

    ``rec``: ``(B, R)`` uint8, C-contiguous, each row one record's bytes. ``layout``: one
    ``(shape, dtype, offset, strides, cast)`` per field: with ``cast`` None,
    a ``(B, *shape)`` view of ``rec`` whose row i starts at byte ``offset`` of
    record i with element strides ``strides``; with ``cast`` float32 (for a
    one-byte flag), a new ``(B, *shape)`` float32 array of its 0/1 values.
    """
    B, R = rec.shape
    out = []
    for shape, dtype, offset, strides, cast in layout:
        a = np.ndarray((B,) + shape, dtype, rec, offset, (rec.strides[0],) + strides)
        out.append(a if cast is None else a.astype(cast))
    return out


def _uniform_gather_fields(rng, size, src, indices_out, layout, gather=None):
    """``uniform_gather(rng, size, src, indices_out, rec)`` (``gather``: that
    kernel, by default the reference's), then :func:`_record_fields` of the
    gathered block."""
    if gather is None:
        from ..reference.replay import uniform_gather as gather
    rec = np.empty((indices_out.shape[0], src.shape[1]), np.uint8)
    gather(rng, size, src, indices_out, rec)
    return _record_fields(rec, layout)


def _gather_fields(src, indices, layout):
    """Records ``indices`` of ``src`` (each must lie in [0, len(src))), as one
    new C-contiguous array per field of ``layout`` (the flags of a cast
    field as float32): ``gather_rows`` and a copy of each field."""
    indices = np.asarray(indices, np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= src.shape[0]):
        raise IndexError(f"gather_fields: an index is outside [0, {src.shape[0]})")
    if not indices.size:  # (an empty block has no bytes for the views to start at)
        return [np.zeros((0,) + shape, cast or dtype) for shape, dtype, _, _, cast in layout]
    rec = np.ascontiguousarray(src[indices])
    return [np.array(a, order="C") if spec[4] is None else a
            for a, spec in zip(_record_fields(rec, layout), layout)]


try:  # one C call per transition or batch where the Cython replay module is built
    from .._cy.replay_io import add_one, add_rows, gather_fields, record_fields
    from .._cy.replay_io import gather_rows as _cy_gather_rows
    from .._cy.replay_io import uniform_gather as _cy_uniform_gather
    from .._cy.replay_io import uniform_gather_fields
except ImportError:
    add_one, add_rows, record_fields = _add_one, _add_rows, _record_fields
    gather_fields = _gather_fields
    _cy_gather_rows = _cy_uniform_gather = uniform_gather_fields = None
