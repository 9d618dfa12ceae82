# Python-callable kernels take NumPy arrays through the NumPy C API, not
# typed memoryviews: acquiring a memoryview goes through the buffer protocol
# and a format-string parse per argument, which costs ~3 µs per array when
# the call runs cold (the first call after a training step evicted the
# caches), e.g. ~25 µs of a 30 µs gae call on a 32 x 8 rollout. These checks
# are a few loads each. They enforce what the memoryview types did (ndim,
# dtype, C order, writeable outputs) and, so that no call can read or write
# out of bounds, the shapes the kernel indexes with: B columns and a row count
# from the kernel's allowed set. The finer rules and the messages a user sees
# are fastpg._checks'.
cimport numpy as cnp

cnp.import_array()


cdef struct Arr2:
    # a C-contiguous 2-D array: element (i, j) is p[i * cols + j]
    void* p
    Py_ssize_t rows
    Py_ssize_t cols


cdef int _float_type(cnp.ndarray a, str name) except -1:
    """NPY_FLOAT32 or NPY_FLOAT64: the dtype every float argument must share."""
    cdef int t = cnp.PyArray_TYPE(a)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    return t


cdef str _rows_text(int rows, Py_ssize_t T):
    return " or ".join([str(n) for n, bit in ((0, ROWS_0), (1, ROWS_1), (T, ROWS_T))
                        if rows & bit])


cdef enum:
    ROWS_0 = 1  # (0, B): absent
    ROWS_1 = 2  # (1, B): one row for every step
    ROWS_T = 4  # (T, B)


cdef int _arr2(cnp.ndarray a, int typ, str name, bint write, int rows, Py_ssize_t T,
               Py_ssize_t B, Arr2* view) except -1:
    """Checks a 2-D argument of dtype typ (NPY_UINT8 also takes bool) with B
    columns and a row count allowed by the mask `rows` (B < 0: any shape)."""
    cdef int t = cnp.PyArray_TYPE(a)
    cdef Py_ssize_t r
    if cnp.PyArray_NDIM(a) != 2:
        raise ValueError(f"{name} must be a 2-D array, got {cnp.PyArray_NDIM(a)}-D")
    if t != typ and not (typ == cnp.NPY_UINT8 and t == cnp.NPY_BOOL):
        raise TypeError(f"{name} must have dtype {cnp.PyArray_DescrFromType(typ)}, "
                        f"got {a.dtype}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{name} must be C-contiguous")
    if write and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name} must be writeable")
    view.p = cnp.PyArray_DATA(a)
    view.rows = r = cnp.PyArray_DIM(a, 0)
    view.cols = cnp.PyArray_DIM(a, 1)
    if B >= 0 and (view.cols != B or not ((r == T and rows & ROWS_T) or (r == 1 and rows & ROWS_1)
                                         or (r == 0 and rows & ROWS_0))):
        raise ValueError(f"{name} has shape ({r}, {view.cols}); expected {B} columns and "
                         f"{_rows_text(rows, T)} rows")
    return 0


cdef struct Rows:
    # a 2-D uint8 array of any strides: byte (i, j) is p[i * s0 + j * s1]
    char* p
    Py_ssize_t n
    Py_ssize_t R
    Py_ssize_t s0
    Py_ssize_t s1


cdef int _rows_arg(cnp.ndarray a, str name, bint write, Rows* view) except -1:
    """A 2-D uint8 argument (records: rows of bytes), any strides."""
    if cnp.PyArray_NDIM(a) != 2:
        raise ValueError(f"{name} must be a 2-D array, got {cnp.PyArray_NDIM(a)}-D")
    if cnp.PyArray_TYPE(a) != cnp.NPY_UINT8:
        raise TypeError(f"{name} must have dtype uint8, got {a.dtype}")
    if write and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name} must be writeable")
    view.p = <char*>cnp.PyArray_DATA(a)
    view.n = cnp.PyArray_DIM(a, 0)
    view.R = cnp.PyArray_DIM(a, 1)
    view.s0 = cnp.PyArray_STRIDE(a, 0)
    view.s1 = cnp.PyArray_STRIDE(a, 1)
    return 0


cdef void* _vec_arg(cnp.ndarray a, int typ, str name, bint write, Py_ssize_t* n) except? NULL:
    """A 1-D C-contiguous argument of dtype typ: its data, its length in *n."""
    if cnp.PyArray_NDIM(a) != 1:
        raise ValueError(f"{name} must be a 1-D array, got {cnp.PyArray_NDIM(a)}-D")
    if cnp.PyArray_TYPE(a) != typ:
        raise TypeError(f"{name} must have dtype {cnp.PyArray_DescrFromType(typ)}, "
                        f"got {a.dtype}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{name} must be C-contiguous")
    if write and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name} must be writeable")
    n[0] = cnp.PyArray_DIM(a, 0)
    return cnp.PyArray_DATA(a)
