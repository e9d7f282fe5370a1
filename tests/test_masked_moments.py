"""mean, var and std with ``where=`` equal NumPy's on random shapes, chunks,
masks and special values: values hidden by the mask never count, and a
slice with nothing selected is NaN."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_contraction import values

import lamina.array as la
from lamina.testing.strategies import chunks_for, with_special_values

SETTINGS = settings(max_examples=50, deadline=None)
DTYPES = [np.bool_, np.int8, np.int64, np.float16, np.float32, np.float64, np.complex128]


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def data(shape, dtype, seed, special):
    a = values(shape, dtype, seed)
    return with_special_values(a, seed) if special and a.dtype.kind in "fc" else a


@st.composite
def case(draw):
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=1, max_size=3)))
    ndim = len(shape)
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    a = data(shape, dtype, seed, draw(st.booleans()))
    x = la.from_array(a, chunks=draw(chunks_for(shape)))
    # the mask: full shape, or broadcast from trailing axes of length 1 or n
    mask_ndim = draw(st.integers(0, ndim))
    mask_shape = tuple(1 if draw(st.booleans()) else n for n in shape[ndim - mask_ndim:])
    mask = np.random.default_rng(seed + 1).random(mask_shape) < draw(
        st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)
                          .map(tuple)))
    where = mask if draw(st.booleans()) else la.from_array(
        mask, chunks=draw(chunks_for(mask_shape)))
    return a, x, mask, where, axis, draw(st.booleans())


def check(got, want):
    got = np.asarray(got.compute())
    want = np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    tol = {2: 5e-3, 4: 1e-4, 8: 1e-4}.get(want.dtype.itemsize, 1e-10)
    if want.dtype.kind == "c":
        tol = 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


@SETTINGS
@given(c=case(), name=st.sampled_from(["mean", "var", "std"]), ddof=st.integers(0, 2))
def test_masked_moments_equal_numpy(c, name, ddof):
    a, x, mask, where, axis, keepdims = c
    kwargs = {} if name == "mean" else {"ddof": ddof}
    want = getattr(np, name)(a, axis=axis, keepdims=keepdims, where=mask, **kwargs)
    check(getattr(np, name)(x, axis=axis, keepdims=keepdims, where=where, **kwargs), want)
    check(getattr(x, name)(axis=axis, keepdims=keepdims, where=where, **kwargs), want)


@SETTINGS
@given(c=case(), name=st.sampled_from(["mean", "var", "std"]),
       dtype=st.sampled_from([np.float32, np.float64, np.complex128]))
def test_masked_moments_with_dtype_equal_numpy(c, name, dtype):
    a, x, mask, where, axis, keepdims = c
    if name != "mean" and np.dtype(dtype).kind == "c" and a.dtype.kind != "c":
        dtype = np.float64  # NumPy's var of reals summed as complex keeps a complex zero part
    want = getattr(np, name)(a, axis=axis, keepdims=keepdims, where=mask, dtype=dtype)
    check(getattr(np, name)(x, axis=axis, keepdims=keepdims, where=where, dtype=dtype), want)


def test_hidden_nan_and_inf_do_not_count():
    a = np.array([[1.0, np.nan, 3.0], [np.inf, 2.0, -np.inf]])
    w = np.isfinite(a)
    x = la.from_array(a, chunks=(1, 2))
    for name in ["mean", "var", "std"]:
        got = getattr(x, name)(axis=1, where=w).compute()
        np.testing.assert_array_equal(got, getattr(np, name)(a, axis=1, where=w))
        assert np.isfinite(got).all()


def test_a_slice_with_nothing_selected_is_nan_like_numpy():
    a = np.arange(6.0).reshape(2, 3)
    w = np.array([[True, True, False], [False, False, False]])
    x = la.from_array(a, chunks=1)
    for name in ["mean", "var", "std"]:
        got = getattr(np, name)(x, axis=1, where=w).compute()
        np.testing.assert_array_equal(np.isnan(got), [False, True])
    assert np.isnan(x.mean(where=False).compute())


def test_ddof_at_least_the_count_gives_nan_or_inf_like_numpy():
    a = np.array([[1.0, 2.0, 4.0]])
    w = np.array([[True, True, False]])
    x = la.from_array(a, chunks=1)
    for ddof in (1, 2, 3):
        np.testing.assert_array_equal(x.var(axis=1, ddof=ddof, where=w).compute(),
                                      np.var(a, axis=1, ddof=ddof, where=w))


def test_a_mask_that_does_not_broadcast_raises_value_error():
    x = la.from_array(np.ones((2, 3)), chunks=1)
    with pytest.raises(ValueError, match="does not broadcast"):
        x.mean(where=np.ones(2, dtype=bool))


def test_out_raises_a_clear_type_error():
    x = la.from_array(np.ones(3), chunks=1)
    with pytest.raises(TypeError, match="out= is not supported"):
        np.std(x, where=[True, False, True], out=np.empty(()))
