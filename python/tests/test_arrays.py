"""Any dtype, order, stride and alignment: read in place where the memory allows, never wrong."""

import numpy as np
import pytest

import huber

RNG = np.random.default_rng(7)


def reference(pred, target):
    """Element losses of the same values from C-ordered float copies."""
    dtype = np.result_type(pred.dtype, target.dtype, np.float16)
    return huber.huber_loss(np.ascontiguousarray(pred, dtype=dtype), np.ascontiguousarray(target, dtype=dtype), reduction="none")


@pytest.mark.parametrize("dtype", ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"])
def test_every_float_dtype_and_byte_order(dtype):
    p = RNG.normal(size=(7, 5)).astype(dtype)
    t = RNG.normal(size=(7, 5)).astype(dtype)
    native = np.dtype(dtype).newbyteorder("=")
    want = huber.huber_loss(p.astype(native), t.astype(native), reduction="none")
    assert huber.huber_loss(p, t, reduction="none").tobytes() == want.tobytes()
    assert huber.huber_loss(p, t).dtype == native


@pytest.mark.parametrize("dtype", ["i1", "u1", "<i2", ">u2", "<i4", "<u4", "<i8", ">i8", "<u8", "?"])
def test_integer_and_bool_inputs_read_as_their_values(dtype):
    p = RNG.integers(0, 2 if dtype == "?" else 100, size=20).astype(dtype)
    t = np.zeros(20, dtype=np.float32)
    got = huber.mse_loss(p, t, reduction="sum")
    assert got == np.sum(p.astype(np.int64) ** 2)
    assert got.dtype.kind == "f"


def test_fortran_order_is_read_without_a_copy_and_gives_c_order_results():
    p = np.asfortranarray(RNG.normal(size=(30, 40)))
    t = np.asfortranarray(RNG.normal(size=(30, 40)))
    got = huber.huber_loss(p, t, reduction="none")
    assert got.shape == (30, 40)
    assert np.array_equal(got, reference(p, t))
    assert huber.huber_loss(p, t) == huber.huber_loss(np.ascontiguousarray(p), np.ascontiguousarray(t))
    # One Fortran and one C array: copied, still right.
    assert np.array_equal(huber.huber_loss(p, np.ascontiguousarray(t), reduction="none"), reference(p, t))


def test_strided_and_negative_stride_views():
    base = RNG.normal(size=(50, 60)).astype(np.float32)
    tb = RNG.normal(size=(50, 60)).astype(np.float32)
    for view in (np.s_[::2, ::3], np.s_[::-1, 5:], np.s_[:, ::-2], np.s_[3]):
        p, t = base[view], tb[view]
        assert not p.flags.c_contiguous or p.ndim == 1
        assert np.array_equal(huber.huber_loss(p, t, reduction="none"), reference(p, t))
        assert huber.huber_loss(p, t) == huber.huber_loss(p.copy(), t.copy())
    # A transposed view of a C array (Fortran-ordered) against a C array.
    assert np.array_equal(huber.l1_loss(base.T, tb.T, reduction="none"), np.abs(base.T - tb.T))


@pytest.mark.parametrize("offset", range(1, 8))
def test_unaligned_buffers(offset):
    n = 1001
    raw = np.zeros(n * 8 + 8, dtype=np.uint8)
    p = raw[offset:offset + n * 8].view(np.float64)
    p[:] = RNG.normal(size=n)
    t = RNG.normal(size=n)
    assert not p.flags.aligned
    assert huber.huber_loss(p, t, reduction="none").tobytes() == reference(p, t).tobytes()
    assert huber.huber_loss(p, t) == huber.huber_loss(p.copy(), t)


def test_zero_size_and_zero_d_inputs():
    empty = np.zeros((3, 0), dtype=np.float32)
    assert huber.huber_loss(empty, empty, reduction="none").shape == (3, 0)
    assert np.isnan(huber.huber_loss(empty, empty))
    assert huber.huber_loss(empty, empty, reduction="sum") == 0
    zero_d = huber.huber_loss(np.float32(3.0), np.float32(0.0), reduction="none")
    assert zero_d.shape == () and zero_d == np.float32(2.5)
    assert huber.huber_loss(3.0, 0.0) == 2.5


def test_lists_and_scalars_are_arrays():
    assert huber.mse_loss([1, 2, 3], [0, 0, 0]) == np.float64(14 / 3)


def test_arrays_of_other_dtypes_are_refused_by_name():
    with pytest.raises(TypeError, match="complex128"):
        huber.huber_loss(np.zeros(3, complex), np.zeros(3))
    with pytest.raises(TypeError, match="not read"):
        huber.huber_loss(np.array(["a", "b"]), np.zeros(2))


def test_result_dtype_follows_the_inputs():
    f32, f64 = np.ones(4, np.float32), np.ones(4, np.float64)
    assert huber.huber_loss(f32, f32).dtype == np.float32
    assert huber.huber_loss(f32, f64).dtype == np.float64
    assert huber.huber_loss(np.ones(4, np.float16), f32 * 0).dtype == np.float32


def test_the_inputs_are_not_copied_or_changed():
    p = RNG.normal(size=1000)
    t = RNG.normal(size=1000)
    before = p.copy()
    huber.huber_loss(p, t)
    assert np.array_equal(p, before)
