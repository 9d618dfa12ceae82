# The replay buffers' per-step and per-batch helpers, not kernels: no
# reference or numba twin, since numba cannot return views of several dtypes
# or take the Python objects add() accepts. fastpg.replay._layout holds their
# Python twins (the fallback where this module is not built; the tests check
# the two agree byte for byte). Included by replay_io.pyx.
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.float cimport FLT_MAX
from libc.math cimport fabs, isfinite

import numpy as np


cdef extern from "numpy/arrayobject.h":
    PyTypeObject PyArray_Type
    object _new_view "PyArray_NewFromDescr" (
        PyTypeObject* subtype, cnp.PyArray_Descr* descr, int nd, cnp.npy_intp* dims,
        cnp.npy_intp* strides, void* data, int flags, PyObject* obj)
    object _new_array "PyArray_SimpleNewFromDescr" (int nd, cnp.npy_intp* dims,
                                                     cnp.PyArray_Descr* descr)


cdef cnp.dtype _field_spec(object spec, Py_ssize_t R, int* nd, cnp.npy_intp* dims,
                           cnp.npy_intp* st, Py_ssize_t* offset, Py_ssize_t* m,
                           bint* to_float32):
    """Checks one (shape, dtype, offset, strides, cast) of a layout against
    records of R bytes: dims[1:], st[1:], the element count m; the dtype."""
    shape, dtype, off, strides, cast = spec
    cdef cnp.dtype dt = <cnp.dtype?>dtype
    cdef Py_ssize_t k, extent
    nd[0] = len(shape) + 1
    if nd[0] > 8 or len(strides) != nd[0] - 1:
        raise ValueError(f"layout: shape {shape} and strides {strides} do not match")
    offset[0] = off
    extent, m[0] = off + dt.itemsize, 1
    for k in range(1, nd[0]):
        dims[k], st[k] = shape[k - 1], strides[k - 1]
        if not (1 <= dims[k] <= R and 1 <= st[k] <= R):  # no overflow below
            raise ValueError(f"layout: shape {shape} and strides {strides} must be "
                             f"positive and within a record")
        extent += (dims[k] - 1) * st[k]
        m[0] *= dims[k]
    if off < 0 or extent > R:
        raise ValueError(f"layout: a field at byte {off} spanning {extent - off} "
                         f"bytes does not fit records of {R} bytes")
    to_float32[0] = cast is not None
    if to_float32[0] and (cast != np.float32 or dt.itemsize != 1 or extent - off != m[0]):
        raise ValueError("layout: cast must be None, or float32 for a contiguous "
                         "one-byte flag field")
    return dt


cdef object _flag_column(const char* p, Py_ssize_t stride, Py_ssize_t n, const int64_t* rows,
                         int nd, cnp.npy_intp* dims, Py_ssize_t m):
    """A new float32 (dims) array of the 0/1 values of m one-byte flags at p
    in each of n records (record i at p + rows[i] * stride, rows NULL: i)."""
    a = cnp.PyArray_SimpleNew(nd, dims, cnp.NPY_FLOAT32)
    cdef float* dst = <float*>cnp.PyArray_DATA(a)
    cdef const char* src
    cdef Py_ssize_t i, j
    for i in range(n):
        src = p + (i if rows == NULL else rows[i]) * stride
        for j in range(m):
            dst[i * m + j] = 1.0 if src[j] else 0.0
    return a


def record_fields(cnp.ndarray rec not None, tuple layout):
    """The field arrays of a gathered block of records (see
    fastpg.replay._layout.record_fields, which this equals): one C call in
    place of an ndarray constructor per field and an astype."""
    cdef Rows r
    _rows_arg(rec, "rec", False, &r)
    if not cnp.PyArray_IS_C_CONTIGUOUS(rec):
        raise ValueError("rec must be C-contiguous")
    cdef cnp.npy_intp dims[8]
    cdef cnp.npy_intp st[8]
    cdef int nd
    cdef Py_ssize_t m, offset
    cdef bint to_f32
    cdef cnp.dtype dt
    cdef int flags = cnp.NPY_ARRAY_WRITEABLE if cnp.PyArray_ISWRITEABLE(rec) else 0
    fields = []
    for spec in layout:
        dt = _field_spec(spec, r.R, &nd, dims, st, &offset, &m, &to_f32)
        dims[0], st[0] = r.n, r.s0
        if to_f32:
            a = _flag_column(r.p + offset, r.s0, r.n, NULL, nd, dims, m)
        else:
            Py_INCREF(dt)  # PyArray_NewFromDescr steals it
            a = _new_view(&PyArray_Type, <cnp.PyArray_Descr*>dt, nd, dims, st, r.p + offset,
                          flags, NULL)
            cnp.set_array_base(a, rec)
        fields.append(a)
    return fields


cdef inline bint _c_order(int nd, cnp.npy_intp* dims, cnp.npy_intp* st, Py_ssize_t itemsize):
    """Whether a field's elements (dims[1:], strides st[1:]) are C-contiguous
    within its record."""
    cdef int k
    cdef Py_ssize_t step = itemsize
    for k in range(nd - 1, 0, -1):
        if dims[k] > 1 and st[k] != step:
            return False
        step *= dims[k]
    return True


cdef int _checked_layout(tuple layout, Py_ssize_t R, str who) except -1:
    """Checks every spec of ``layout`` against records of R bytes, each field
    C-contiguous within its record unless cast (before anything changes)."""
    cdef cnp.npy_intp dims[8]
    cdef cnp.npy_intp st[8]
    cdef int nd
    cdef Py_ssize_t m, offset
    cdef bint to_f32
    cdef cnp.dtype dt
    for spec in layout:
        dt = _field_spec(spec, R, &nd, dims, st, &offset, &m, &to_f32)
        if not to_f32 and not _c_order(nd, dims, st, dt.itemsize):
            raise ValueError(f"{who}: each field must be C-contiguous within its record")
    return 0


cdef list _split_rows(Rows* s, const int64_t* idx, Py_ssize_t B, tuple layout, str who):
    """For each field of ``layout``, a new (B, *shape) array of its bytes in
    records idx[0..B) of s, or of its 0/1 values as float32 (cast). ``who``:
    check each spec here (the name in the message); None: already checked."""
    cdef cnp.npy_intp dims[8]
    cdef cnp.npy_intp st[8]
    cdef int nd
    cdef Py_ssize_t m, offset
    cdef bint to_f32
    cdef cnp.dtype dt
    fields = []
    if s.R:
        _prefetch_rows(s, idx, B)
    for spec in layout:
        dt = _field_spec(spec, s.R, &nd, dims, st, &offset, &m, &to_f32)
        if who is not None and not to_f32 and not _c_order(nd, dims, st, dt.itemsize):
            raise ValueError(f"{who}: each field must be C-contiguous within its record")
        dims[0] = B
        if to_f32:
            a = _flag_column(s.p + offset, s.s0, B, idx, nd, dims, m)
        else:
            Py_INCREF(dt)  # PyArray_SimpleNewFromDescr steals it
            a = _new_array(nd, dims, <cnp.PyArray_Descr*>dt)
            _copy_rows(<char*>cnp.PyArray_DATA(a), s.p + offset, s.s0, idx, B, m * dt.itemsize)
        fields.append(a)
    return fields


cdef inline void _copy_rows(char* dst, const char* src, Py_ssize_t stride, const int64_t* idx,
                            Py_ssize_t B, Py_ssize_t nbytes) noexcept nogil:
    """dst[i] <- the nbytes at src + idx[i] * stride. A field is a few bytes:
    a memcpy of a constant size is a move, of a variable one a call."""
    cdef Py_ssize_t i
    if nbytes == 1:
        for i in range(B):
            dst[i] = src[idx[i] * stride]
    elif nbytes == 4:
        for i in range(B):
            memcpy(dst + 4 * i, src + idx[i] * stride, 4)
    elif nbytes == 8:
        for i in range(B):
            memcpy(dst + 8 * i, src + idx[i] * stride, 8)
    elif nbytes == 16:
        for i in range(B):
            memcpy(dst + 16 * i, src + idx[i] * stride, 16)
    else:
        for i in range(B):
            memcpy(dst + i * nbytes, src + idx[i] * stride, nbytes)


def uniform_gather_fields(object rng, int64_t size, cnp.ndarray src not None,
                          cnp.ndarray indices_out not None, tuple layout):
    """``uniform_gather`` straight into one new array per field of ``layout``
    (see fastpg.replay._layout.uniform_gather_fields, which this equals):
    the draws, then for each field a (B, *shape) array of its bytes in the
    drawn records, or its 0/1 values as float32 (cast float32)."""
    cdef Rows s
    cdef Py_ssize_t B
    _rows_arg(src, "src", False, &s)
    cdef int64_t* idx = <int64_t*>_vec_arg(indices_out, cnp.NPY_INT64, "indices_out", True, &B)
    if not 1 <= size <= s.n or s.s1 != 1:
        raise ValueError(f"uniform_gather_fields: size must lie in [1, {s.n}] (got {size}) "
                         f"and each row of src must be contiguous")
    _checked_layout(layout, s.R, "uniform_gather_fields")  # before the draws advance rng
    try:
        bitgen = rng.bit_generator
        capsule, lock = bitgen.capsule, bitgen.lock
    except AttributeError:
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}") from None
    cdef bitgen_t* bg = <bitgen_t*>PyCapsule_GetPointer(capsule, "BitGenerator")
    with lock, nogil:
        _uniform_bitgen(bg, B, size, idx)
    return _split_rows(&s, idx, B, layout, None)


def gather_fields(cnp.ndarray src not None, cnp.ndarray indices not None, tuple layout):
    """One new array per field of ``layout`` from the records ``indices`` of
    ``src`` (see fastpg.replay._layout.gather_fields, which this equals):
    ``gather_rows`` and a copy of each field in one C call."""
    cdef Rows s
    cdef Py_ssize_t B, i
    _rows_arg(src, "src", False, &s)
    cdef const int64_t* idx = <const int64_t*>_vec_arg(indices, cnp.NPY_INT64, "indices",
                                                        False, &B)
    if s.s1 != 1:
        raise ValueError("gather_fields: each row of src must be contiguous")
    for i in range(B):
        if idx[i] < 0 or idx[i] >= s.n:
            raise IndexError(f"gather_fields: indices[{i}] = {idx[i]} is outside [0, {s.n})")
    # nothing changes before the split, so it checks each spec as it goes
    return _split_rows(&s, idx, B, layout, "gather_fields")


cdef bint _row_array(object a, cnp.ndarray field) except -1:
    """Whether ``a`` can be copied byte for byte into one row of ``field`` (a
    (capacity, ...) view of the records): an ndarray of field's dtype and row
    shape, C-contiguous, the row's elements contiguous in the record."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int nd = cnp.PyArray_NDIM(field) - 1, k
    cdef Py_ssize_t step = cnp.PyArray_ITEMSIZE(field)
    if cnp.PyArray_NDIM(arr) != nd or not cnp.PyArray_IS_C_CONTIGUOUS(arr) \
            or not cnp.PyArray_EquivTypes(arr.dtype, field.dtype):
        return False
    for k in range(nd, 0, -1):
        if cnp.PyArray_DIM(arr, k - 1) != cnp.PyArray_DIM(field, k) \
                or (cnp.PyArray_DIM(field, k) > 1 and cnp.PyArray_STRIDE(field, k) != step):
            return False
        step *= cnp.PyArray_DIM(field, k)
    return True


cdef inline char* _row(cnp.ndarray field, Py_ssize_t x):
    return <char*>cnp.PyArray_DATA(field) + x * cnp.PyArray_STRIDE(field, 0)


cdef inline bint _flag_type(object v):
    return type(v) is bool or type(v) is int or type(v) is np.bool_


def add_one(object fast, Py_ssize_t x, obs, action, reward, next_obs, terminated, truncated):
    """One transition into row ``x`` (see fastpg.replay._layout._add_one, which
    this equals): every check in C before the first write, then one copy per
    field; False, with nothing written, where the general path must decide."""
    cdef cnp.ndarray od = fast[0], ad = fast[1], rd = fast[2], nd = fast[3]
    cdef cnp.ndarray td = fast[4], trd = fast[5], cut = fast[6]
    cdef double r
    cdef int rt = cnp.PyArray_TYPE(rd)
    cdef bint scalar_action
    if not 0 <= x < cnp.PyArray_DIM(od, 0):
        raise IndexError(f"add_one: row {x} is outside the buffer")
    if not (_row_array(obs, od) and _row_array(next_obs, nd)):
        return False
    scalar_action = type(action) is int and cnp.PyArray_NDIM(ad) == 1 and \
        (cnp.PyArray_ISINTEGER(ad) and not cnp.PyArray_ISBOOL(ad))
    if not (scalar_action or _row_array(action, ad)):
        return False
    if type(reward) is float:
        r = <double>reward
    elif type(reward) is int:
        try:
            r = <double>reward
        except OverflowError:
            return False
    else:
        return False
    if not (isfinite(r) and (rt == cnp.NPY_FLOAT64
                             or (rt == cnp.NPY_FLOAT32 and fabs(r) <= FLT_MAX))):
        return False
    if not (_flag_type(terminated) and _flag_type(truncated)):
        return False
    cdef bint term = bool(terminated), trunc = bool(truncated)
    if scalar_action:
        try:  # first: an out-of-range int fails before any write
            cnp.PyArray_SETITEM(ad, _row(ad, x), action)
        except OverflowError:
            return False
    else:
        memcpy(_row(ad, x), cnp.PyArray_DATA(<cnp.ndarray>action),
               cnp.PyArray_NBYTES(<cnp.ndarray>action))
    memcpy(_row(od, x), cnp.PyArray_DATA(<cnp.ndarray>obs), cnp.PyArray_NBYTES(<cnp.ndarray>obs))
    memcpy(_row(nd, x), cnp.PyArray_DATA(<cnp.ndarray>next_obs),
           cnp.PyArray_NBYTES(<cnp.ndarray>next_obs))
    if rt == cnp.NPY_FLOAT32:
        (<float*>_row(rd, x))[0] = <float>r
    else:
        (<double*>_row(rd, x))[0] = r
    (<uint8_t*>_row(td, x))[0] = term
    (<uint8_t*>_row(trd, x))[0] = trunc
    (<uint8_t*>_row(cut, x))[0] = trunc
    return True


cdef bint _rows_array(object a, cnp.ndarray field, Py_ssize_t m) except -1:
    """Whether ``a`` can be copied byte for byte into m rows of ``field``: an
    ndarray of field's dtype and shape (m, *row shape), C-contiguous, the
    row's elements contiguous in the record."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int nd = cnp.PyArray_NDIM(field), k
    cdef Py_ssize_t step = cnp.PyArray_ITEMSIZE(field)
    if cnp.PyArray_NDIM(arr) != nd or cnp.PyArray_DIM(arr, 0) != m \
            or not cnp.PyArray_IS_C_CONTIGUOUS(arr) \
            or not cnp.PyArray_EquivTypes(arr.dtype, field.dtype):
        return False
    for k in range(nd - 1, 0, -1):
        if cnp.PyArray_DIM(arr, k) != cnp.PyArray_DIM(field, k) \
                or (cnp.PyArray_DIM(field, k) > 1 and cnp.PyArray_STRIDE(field, k) != step):
            return False
        step *= cnp.PyArray_DIM(field, k)
    return True


cdef bint _flag_rows(object a, Py_ssize_t m):
    """Whether ``a`` is a C-contiguous (m,) ndarray of bool or uint8 (None: all False)."""
    if a is None:
        return True
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(arr)
    return (cnp.PyArray_NDIM(arr) == 1 and cnp.PyArray_DIM(arr, 0) == m
            and cnp.PyArray_IS_C_CONTIGUOUS(arr) and (t == cnp.NPY_BOOL or t == cnp.NPY_UINT8))


def add_rows(object fast, Py_ssize_t x, obs, action, reward, next_obs, terminated, truncated):
    """m transitions (m: reward's length, at least 1) into rows x .. x + m - 1,
    without wrapping (see fastpg.replay._layout._add_rows, which this
    equals): every check in C before the first write, then one copy per
    field and row; False, with nothing written, where the general path must
    decide (a conversion, a wrap, a bad value to name)."""
    cdef cnp.ndarray od = fast[0], ad = fast[1], rd = fast[2], nd = fast[3]
    cdef cnp.ndarray td = fast[4], trd = fast[5], cut = fast[6]
    if not cnp.PyArray_CheckExact(reward):
        return False
    cdef cnp.ndarray rw = <cnp.ndarray>reward
    if cnp.PyArray_NDIM(rw) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(rw):
        return False
    cdef Py_ssize_t m = cnp.PyArray_DIM(rw, 0), i
    cdef int rt = cnp.PyArray_TYPE(rd), rin = cnp.PyArray_TYPE(rw)
    if m < 1 or x < 0 or x + m > cnp.PyArray_DIM(od, 0):
        return False
    if not (rin == rt or (rin == cnp.NPY_FLOAT64 and rt == cnp.NPY_FLOAT32)) or \
            not (rt == cnp.NPY_FLOAT32 or rt == cnp.NPY_FLOAT64):
        return False
    if not (_rows_array(obs, od, m) and _rows_array(next_obs, nd, m)
            and _rows_array(action, ad, m)):
        return False
    if not (_flag_rows(terminated, m) and terminated is not None and _flag_rows(truncated, m)):
        return False
    cdef const double* r64 = <const double*>cnp.PyArray_DATA(rw)
    cdef const float* r32 = <const float*>cnp.PyArray_DATA(rw)
    for i in range(m):  # finite, and within float32 where it is converted
        if rin == cnp.NPY_FLOAT32:
            if not isfinite(r32[i]):
                return False
        elif not (isfinite(r64[i]) and (rt == cnp.NPY_FLOAT64 or fabs(r64[i]) <= FLT_MAX)):
            return False
    cdef const char* po = <const char*>cnp.PyArray_DATA(<cnp.ndarray>obs)
    cdef const char* pn = <const char*>cnp.PyArray_DATA(<cnp.ndarray>next_obs)
    cdef const char* pa = <const char*>cnp.PyArray_DATA(<cnp.ndarray>action)
    cdef const uint8_t* pt = <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>terminated)
    cdef const uint8_t* ptr = NULL if truncated is None else \
        <const uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>truncated)
    cdef Py_ssize_t so = cnp.PyArray_NBYTES(<cnp.ndarray>obs) // m
    cdef Py_ssize_t sa = cnp.PyArray_NBYTES(<cnp.ndarray>action) // m
    cdef uint8_t tr
    for i in range(m):
        memcpy(_row(od, x + i), po + i * so, so)
        memcpy(_row(nd, x + i), pn + i * so, so)
        memcpy(_row(ad, x + i), pa + i * sa, sa)
        if rt == cnp.NPY_FLOAT32:
            (<float*>_row(rd, x + i))[0] = r32[i] if rin == cnp.NPY_FLOAT32 else <float>r64[i]
        else:
            (<double*>_row(rd, x + i))[0] = r64[i]
        (<uint8_t*>_row(td, x + i))[0] = pt[i] != 0
        tr = ptr != NULL and ptr[i] != 0
        (<uint8_t*>_row(trd, x + i))[0] = tr
        (<uint8_t*>_row(cut, x + i))[0] = tr
    return True
