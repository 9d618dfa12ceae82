"""Cython kernels called directly (the registry functions, not the validated
public API) where they take arrays through the NumPy C API: the return
kernels and the replay kernels of the per-transition path. Anything that
would index out of bounds or write a read-only array is refused with a clear
error before the kernel runs; well-formed calls equal the reference."""
import numpy as np
import pytest

from fastpg import _backend
from fastpg.reference import replay as ref_replay
from fastpg.reference import returns as ref

from .conftest import tol

pytestmark = pytest.mark.skipif(not _backend.available("cython"),
                                reason="cython backend unavailable")


def _cy():
    from fastpg._cy import returns
    return returns


def _cy_replay():
    from fastpg._cy import replay
    return replay


def _cy_records():
    """The buffers' per-step helpers (Cython-only, not kernels)."""
    from fastpg._cy import replay_io
    return replay_io


def _gae_args(T=6, B=3, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(dtype)
    flags = (rng.random((T, B)) < 0.3).astype(np.uint8)
    return [f(T, B), f(T, B), f(1, B), np.full((1, B), 0.9, dtype), np.full((1, B), 0.8, dtype),
            flags, np.zeros((0, B), np.uint8), np.empty((T, B), dtype), np.empty((T, B), dtype)]


@pytest.mark.parametrize("suffix", ["", "_parallel"])
def test_direct_call_matches_the_reference_and_takes_bool_flags(dtype, suffix):
    args = _gae_args(dtype=dtype)
    want = ref.gae(*[a.copy() for a in args])
    fn = getattr(_cy(), "gae" + suffix)
    got = fn(*args)
    assert got[0] is args[7] and got[1] is args[8]  # the outputs are returned
    np.testing.assert_allclose(got[0], want[0], **tol(dtype))
    np.testing.assert_allclose(got[1], want[1], **tol(dtype))
    args[5] = args[5].view(bool)
    again = fn(*args[:7], np.empty_like(args[7]), np.empty_like(args[8]))
    np.testing.assert_array_equal(again[0], got[0])


def _bad_cases():
    T, B = 6, 3
    yield "float16 rewards", 0, np.ones((T, B), np.float16), TypeError, "rewards must be float32"
    yield "mixed dtypes", 1, np.ones((T, B), np.float64), TypeError, "values must have dtype float32"
    yield "1-D values", 1, np.ones(T * B, np.float32), ValueError, "values must be a 2-D array"
    yield "too few columns", 1, np.ones((T, B - 1), np.float32), ValueError, "values has shape"
    yield "rows between 1 and T", 2, np.ones((2, B), np.float32), ValueError, \
        "next_values has shape \\(2, 3\\); expected 3 columns and 1 or 6 rows"
    yield "absent gamma", 3, np.ones((0, B), np.float32), ValueError, "gamma has shape"
    yield "int flags", 5, np.ones((T, B), np.int64), TypeError, "terminated must have dtype uint8"
    yield "short flags", 6, np.ones((1, B), np.uint8), ValueError, "truncated has shape"
    yield "Fortran order", 1, np.asfortranarray(np.ones((T, B), np.float32)), ValueError, \
        "values must be C-contiguous"
    yield "a list", 1, [[1.0] * B] * T, TypeError, "values"
    yield "None", 4, None, TypeError, "lam"
    ro = np.empty((T, B), np.float32)
    ro.flags.writeable = False
    yield "read-only output", 8, ro, ValueError, "returns_out must be writeable"


@pytest.mark.parametrize("what,pos,bad,exc,match", list(_bad_cases()),
                         ids=[c[0] for c in _bad_cases()])
def test_direct_call_refuses_what_would_index_out_of_bounds(what, pos, bad, exc, match):
    args = _gae_args()
    outs = [args[7].copy(), args[8].copy()]
    args[pos] = bad
    with pytest.raises(exc, match=match):
        _cy().gae(*args)
    if pos not in (7, 8):  # nothing was written before the error
        np.testing.assert_array_equal(args[7], outs[0])


@pytest.mark.parametrize("name", ["discounted_returns", "lambda_returns", "nstep_returns"])
def test_other_return_kernels_check_their_arguments(name):
    T, B = 5, 2
    r = np.ones((T, B), np.float64)
    no = np.zeros((0, B), np.uint8)
    g = np.full((1, B), 0.9)
    out = np.empty((T, B))
    args = {"discounted_returns": [r, g, no, no, np.zeros((0, B)), out],
            "lambda_returns": [r, np.ones((T, B)), g, g, no, no, out],
            "nstep_returns": [r, np.ones((T, B)), g, 3, no, no, out]}[name]
    fn = getattr(_cy(), name)
    np.testing.assert_allclose(fn(*args), getattr(ref, name)(*[
        a.copy() if isinstance(a, np.ndarray) else a for a in args]), rtol=1e-12)
    bad = list(args)
    bad[-1] = np.empty((T - 1, B))
    with pytest.raises(ValueError, match="out has shape"):
        fn(*bad)
    if name == "nstep_returns":  # read at every step: no one-row shorthand
        bad = list(args)
        bad[1] = np.ones((1, B))
        with pytest.raises(ValueError, match="next_values has shape"):
            fn(*bad)


def test_replay_kernels_match_the_reference_on_strided_records():
    rng = np.random.default_rng(1)
    rec = rng.integers(0, 255, (50, 24), dtype=np.uint8)
    field = rec[:, 8:20]  # a field of every record: rows 24 bytes apart
    u = rng.random(30)
    idx, want_idx = np.empty(30, np.int64), np.empty(30, np.int64)
    _cy_replay().uniform_sample(u, 50, idx)
    ref_replay.uniform_sample(u, 50, want_idx)
    np.testing.assert_array_equal(idx, want_idx)
    out, want = np.empty((30, 12), np.uint8), np.empty((30, 12), np.uint8)
    _cy_replay().gather_rows(field, idx, out)
    ref_replay.gather_rows(field, idx, want)
    np.testing.assert_array_equal(out, want)
    dst, want_dst = rec.copy(), rec.copy()
    src = rng.integers(0, 255, (7, 12), dtype=np.uint8)
    _cy_replay().ring_write(dst[:, 8:20], src, 47)  # wraps around the end
    ref_replay.ring_write(want_dst[:, 8:20], src, 47)
    np.testing.assert_array_equal(dst, want_dst)


def test_replay_kernels_refuse_out_of_bounds_calls_before_writing():
    rec = np.zeros((10, 8), np.uint8)
    out = np.full((3, 8), 7, np.uint8)
    k = _cy_replay()
    with pytest.raises(IndexError, match=r"indices\[2\] = 10 is outside \[0, 10\)"):
        k.gather_rows(rec, np.array([0, 9, 10]), out)
    with pytest.raises(IndexError, match="indices\\[0\\] = -1"):
        k.gather_rows(rec, np.array([-1, 0, 0]), out)
    assert (out == 7).all()
    with pytest.raises(ValueError, match="out must have shape \\(3, 8\\)"):
        k.gather_rows(rec, np.array([0, 1, 2]), np.empty((3, 4), np.uint8))
    with pytest.raises(TypeError, match="indices must have dtype int64"):
        k.gather_rows(rec, np.array([0, 1, 2], np.int32), out)
    with pytest.raises(TypeError, match="src must have dtype uint8"):
        k.gather_rows(rec.astype(np.int16), np.array([0, 1, 2]), out)
    ro = rec.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        k.gather_rows(rec, np.array([0, 1, 2]), ro[:3])
    with pytest.raises(ValueError, match="src must have dst's 8 bytes per row"):
        k.ring_write(rec, np.zeros((2, 4), np.uint8), 0)
    with pytest.raises(ValueError, match="start must be >= 0"):
        k.ring_write(rec, np.zeros((2, 8), np.uint8), -1)
    assert (rec == 0).all()
    with pytest.raises(ValueError, match="out needs len\\(u\\) = 3 slots"):
        k.uniform_sample(np.zeros(3), 10, np.empty(2, np.int64))
    with pytest.raises(ValueError, match="size must be >= 1"):
        k.uniform_sample(np.zeros(3), 0, np.empty(3, np.int64))
    with pytest.raises(ValueError, match="u must be C-contiguous"):
        k.uniform_sample(np.zeros(6)[::2], 10, np.empty(3, np.int64))


def test_uniform_gather_refuses_bad_arguments_before_drawing():
    k = _cy_replay()
    rec = np.zeros((10, 8), np.uint8)
    idx, out = np.empty(4, np.int64), np.empty((4, 8), np.uint8)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    with pytest.raises(ValueError, match=r"size must lie in \[1, 10\]"):
        k.uniform_gather(rng, 11, rec, idx, out)
    with pytest.raises(ValueError, match=r"out must have shape \(4, 8\)"):
        k.uniform_gather(rng, 5, rec, idx, np.empty((3, 8), np.uint8))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got RandomState"):
        k.uniform_gather(np.random.RandomState(0), 5, rec, idx, out)
    with pytest.raises(TypeError, match="indices_out must have dtype int64"):
        k.uniform_gather(rng, 5, rec, idx.astype(np.int32), out)
    assert rng.bit_generator.state == state  # nothing drawn


def _field_layout():
    f4, i8, b1 = np.dtype(np.float32), np.dtype(np.int64), np.dtype(bool)
    return (((2, 3), f4, 0, (12, 4), None), ((1,), i8, 24, (8,), None),
            ((1,), b1, 32, (1,), np.float32), ((), f4, 36, (), None),
            ((3,), b1, 33, (1,), None))


def test_record_fields_equals_its_python_twin():
    from fastpg.replay._layout import _record_fields
    k = _cy_records()
    rng = np.random.default_rng(2)
    block = rng.integers(0, 255, (33, 48), dtype=np.uint8)
    block[:, 32:36] &= 1  # the flags hold 0/1, as the buffer stores them
    for rec in (block, block[:7]):
        got, want = k.record_fields(rec, _field_layout()), _record_fields(rec, _field_layout())
        for g, w, spec in zip(got, want, _field_layout()):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
            if spec[-1] is None:
                assert np.shares_memory(g, rec)
            else:
                assert not np.shares_memory(g, rec) and g.dtype == np.float32
    ro = block.copy()
    ro.flags.writeable = False
    assert not k.record_fields(ro, _field_layout())[0].flags.writeable


def test_record_fields_refuses_a_layout_outside_the_records():
    k, rec = _cy_records(), np.zeros((4, 40), np.uint8)
    f4 = np.dtype(np.float32)
    for spec, match in [(((3,), f4, 32, (4,), None), "does not fit records of 40 bytes"),
                        (((2,), f4, -4, (4,), None), "does not fit"),
                        (((2, 2), f4, 0, (40, 4), None), "does not fit"),
                        (((0,), f4, 0, (4,), None), "must be positive"),
                        (((2,), f4, 0, (4, 4), None), "do not match"),
                        (((2,), f4, 0, (4,), np.float32), "one-byte flag")]:
        with pytest.raises(ValueError, match=match):
            k.record_fields(rec, (spec,))
    with pytest.raises(TypeError):
        k.record_fields(rec, (((2,), "float32", 0, (4,), None),))
    with pytest.raises(ValueError, match="rec must be C-contiguous"):
        k.record_fields(np.zeros((4, 80), np.uint8)[:, :40], ())
    with pytest.raises(TypeError, match="rec must have dtype uint8"):
        k.record_fields(np.zeros((4, 10), np.float32), ())


def _fast_arrays(cap=4, obs_shape=(2, 3), obs_dtype=np.float32, action_shape=(),
                 action_dtype=np.int64, reward_dtype=np.float32):
    buf = __import__("fastpg").ReplayBuffer(cap, obs_shape, obs_dtype, action_shape,
                                             action_dtype, reward_dtype=reward_dtype)
    return buf._rec, buf._fast


@pytest.mark.parametrize("case", range(6))
def test_add_one_equals_its_python_twin(case):
    """Cython's add_one and the Python twin accept the same transitions and
    write the same bytes; a refused one writes nothing."""
    from fastpg.replay._layout import _add_one
    cfg = [dict(), dict(action_dtype=np.int32), dict(obs_shape=(5,), obs_dtype=np.uint8),
           dict(action_shape=(2,), action_dtype=np.float32), dict(reward_dtype=np.float64),
           dict(action_dtype=np.uint8)][case]
    rec_c, fast_c = _fast_arrays(**cfg)
    rec_p, fast_p = _fast_arrays(**cfg)
    rng = np.random.default_rng(case)
    od, ad = fast_c.obs, fast_c.action
    good_obs = lambda: rng.integers(0, 100, od.shape[1:]).astype(od.dtype)  # noqa: E731
    good_act = (int(rng.integers(0, 100)) if ad.ndim == 1 else
                rng.random(ad.shape[1:]).astype(ad.dtype))
    inputs = [
        (good_obs(), good_act, 1.5, good_obs(), False, True),
        (good_obs(), good_act, 3, good_obs(), np.bool_(True), 0),
        (good_obs(), good_act, 2.0, good_obs(), 1, False),
        (good_obs().astype(np.float64), good_act, 1.0, good_obs(), False, False),  # dtype
        (good_obs()[None], good_act, 1.0, good_obs(), False, False),  # shape
        (np.repeat(good_obs()[..., None], 2, -1)[..., 0], good_act, 1.0, good_obs(), False,
         False),  # not contiguous
        (good_obs(), good_act, float("nan"), good_obs(), False, False),
        (good_obs(), good_act, float("inf"), good_obs(), False, False),
        (good_obs(), good_act, 1e300, good_obs(), False, False),  # float32: overflows
        (good_obs(), good_act, 10 ** 400, good_obs(), False, False),
        (good_obs(), good_act, np.float32(1.0), good_obs(), False, False),  # not a Python float
        (good_obs(), good_act, 1.0, good_obs(), "yes", False),
        (good_obs(), good_act, 1.0, good_obs(), False, None),
        (good_obs(), True, 1.0, good_obs(), False, False),  # bool is not an int action
        (good_obs(), 2 ** 70, 1.0, good_obs(), False, False),
        (good_obs(), -1, 1.0, good_obs(), False, False),
        (good_obs(), 300, 1.0, good_obs(), False, False),
        (good_obs(), np.int64(1), 1.0, good_obs(), False, False),
        (list(good_obs().ravel()), good_act, 1.0, good_obs(), False, False),
    ]
    scalar = ad.ndim == 1
    fits = [scalar and np.can_cast(np.min_scalar_type(v), ad.dtype) for v in (-1, 300)]
    accepted = [True] * 3 + [False] * 12 + fits + [False] * 2
    accepted[8] = fast_c.reward.dtype == np.float64  # 1e300 fits a float64 reward
    assert len(accepted) == len(inputs)
    for i, args in enumerate(inputs):
        x = i % 4
        before = rec_c.copy()
        got = _cy_records().add_one(fast_c, x, *args)
        want = _add_one(fast_p, x, *args)
        assert got == want == accepted[i], (i, got, want)
        np.testing.assert_array_equal(rec_c, rec_p, err_msg=f"input {i}")
        if not got:
            np.testing.assert_array_equal(rec_c, before)
    with pytest.raises(IndexError, match="row 4 is outside"):
        _cy_records().add_one(fast_c, 4, *inputs[0])


def test_uniform_gather_fields_equals_its_python_twin():
    """One C call (draws, gather, split) against the reference's draws and
    gather followed by the Python split: same rng stream, same values."""
    from fastpg.replay._layout import _uniform_gather_fields
    k = _cy_records()
    rng = np.random.default_rng(3)
    src = rng.integers(0, 255, (57, 48), dtype=np.uint8)
    src[:, 32:36] &= 1
    for size, B in ((57, 64), (1, 3), (20, 1)):
        idx, want_idx = np.empty(B, np.int64), np.empty(B, np.int64)
        g1, g2 = np.random.default_rng(size), np.random.default_rng(size)
        got = k.uniform_gather_fields(g1, size, src, idx, _field_layout())
        want = _uniform_gather_fields(g2, size, src, want_idx, _field_layout())
        np.testing.assert_array_equal(idx, want_idx)
        assert idx.max() < size and g1.random() == g2.random()  # rng advanced alike
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype and g.flags.c_contiguous
            np.testing.assert_array_equal(g, w)
    g = np.random.default_rng(0)
    state = g.bit_generator.state
    bad = ((((2,), np.dtype(np.float32), 0, (8,), None),), "C-contiguous within its record")
    with pytest.raises(ValueError, match=bad[1]):
        k.uniform_gather_fields(g, 10, src, np.empty(4, np.int64), bad[0])
    with pytest.raises(ValueError, match="size must lie in"):
        k.uniform_gather_fields(g, 58, src, np.empty(4, np.int64), _field_layout())
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        k.uniform_gather_fields(np.random.RandomState(0), 10, src, np.empty(4, np.int64), ())
    assert g.bit_generator.state == state  # refused before any draw


def test_gather_fields_equals_its_python_twin():
    """Records of given slots straight into one array per field: every copy
    width the C side specialises (1, 4, 8, 16 bytes) and others, a cast flag."""
    from fastpg.replay._layout import _gather_fields
    k = _cy_records()
    u1, i2, f4, f8, b1 = (np.dtype(t) for t in (np.uint8, np.int16, np.float32, np.float64,
                                                bool))
    layout = (((), u1, 0, (), None), ((), i2, 2, (), None), ((), f4, 4, (), None),
              ((), f8, 8, (), None), ((2,), f8, 16, (8,), None), ((2, 3), f4, 32, (12, 4), None),
              ((1,), b1, 56, (1,), np.float32), ((3,), u1, 57, (1,), None))
    rng = np.random.default_rng(4)
    src = rng.integers(0, 255, (40, 64), dtype=np.uint8)
    src[:, 56] &= 1
    for idx in (rng.integers(0, 40, 256), np.array([39, 0, 0]), np.zeros(0, np.int64)):
        got, want = k.gather_fields(src, idx, layout), _gather_fields(src, idx, layout)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype and g.flags.c_contiguous
            assert g.tobytes() == w.tobytes()
    for bad in (np.array([40]), np.array([0, -1])):
        with pytest.raises(IndexError, match="outside"):
            k.gather_fields(src, bad, layout)
        with pytest.raises(IndexError, match="outside"):
            _gather_fields(src, bad, layout)
    with pytest.raises(ValueError, match="C-contiguous within its record"):
        k.gather_fields(src, np.array([1]), (((2,), f4, 0, (8,), None),))


@pytest.mark.parametrize("case", range(4))
def test_add_rows_equals_its_python_twin(case):
    """Cython's add_rows and the Python twin accept the same batches and write
    the same bytes; a refused batch writes nothing."""
    from fastpg.replay._layout import _add_rows
    cfg = [dict(), dict(obs_shape=(5,), obs_dtype=np.uint8, action_dtype=np.int32),
           dict(action_shape=(2,), action_dtype=np.float32), dict(reward_dtype=np.float64)][case]
    rec_c, fast_c = _fast_arrays(cap=8, **cfg)
    rec_p, fast_p = _fast_arrays(cap=8, **cfg)
    rng = np.random.default_rng(case)
    od, ad, rdt = fast_c.obs, fast_c.action, fast_c.reward.dtype

    def batch(m=3, **over):
        b = dict(obs=rng.integers(0, 100, (m,) + od.shape[1:]).astype(od.dtype),
                 action=rng.integers(0, 100, (m,) + ad.shape[1:]).astype(ad.dtype),
                 reward=rng.standard_normal(m).astype(rdt),
                 next_obs=rng.integers(0, 100, (m,) + od.shape[1:]).astype(od.dtype),
                 terminated=rng.random(m) < 0.5, truncated=rng.random(m) < 0.5)
        b.update(over)
        return tuple(b.values())

    f64 = rng.standard_normal(3)
    other = np.float64 if rdt == np.float32 else np.float32
    inputs = [  # (x, batch, accepted)
        (0, batch(), True),
        (3, batch(5, truncated=None), True),
        (2, batch(terminated=np.array([0, 2, 1], np.uint8)), True),
        (5, batch(reward=f64), True),  # float64 into either reward dtype (float32: in range)
        (6, batch(), False),  # would wrap
        (0, batch(0), False),  # empty
        (0, batch(reward=np.array([1.0, np.nan, 2.0], rdt)), False),
        (0, batch(reward=np.array([1.0, np.inf, 2.0], rdt)), False),
        (0, batch(reward=np.array([1.0, 1e300, 2.0])), rdt == np.float64),
        (0, batch(reward=np.ones(3, other)), other == np.float64),
        (0, batch(reward=[1.0, 2.0, 3.0]), False),
        (0, batch(reward=np.ones((3, 1), rdt)), False),
        (0, batch(obs=np.zeros((3,) + od.shape[1:], np.float64)), od.dtype == np.float64),
        (0, batch(obs=np.zeros((2,) + od.shape[1:], od.dtype)), False),  # length
        (0, batch(obs=np.zeros((6,) + od.shape[1:], od.dtype)[::2]), False),  # strided
        (0, batch(action=np.zeros((3,) + ad.shape[1:], np.int16)), ad.dtype == np.int16),
        (0, batch(terminated=np.zeros(3)), False),  # float flags: converted elsewhere
        (0, batch(terminated=None), False),
        (0, batch(truncated=[False] * 3), False),
        (-1, batch(), False),
    ]
    for i, (x, args, accepted) in enumerate(inputs):
        before = rec_c.copy()
        got = _cy_records().add_rows(fast_c, x, *args)
        want = _add_rows(fast_p, x, *args)
        assert got == want == accepted, (i, got, want)
        np.testing.assert_array_equal(rec_c, rec_p, err_msg=f"batch {i}")
        if not got:
            np.testing.assert_array_equal(rec_c, before)
