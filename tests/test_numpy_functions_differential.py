"""Differential tests against NumPy for the functions beyond the core.

Scans, elementwise functions, NaN reductions, sorting and sets and order
statistics here; shape and combination functions, ``einsum`` and advanced
indexing in ``test_numpy_shape_functions_differential.py``. Each is called
through ``np.<name>(lamina_array)`` (the dispatch) or ``la.<name>``. Arrays have uneven chunks and special values (NaN, ±inf,
±0.0, empty axes) from ``chunked``; finite values are small halves and
integers, so sums and products are exact in any order and results are
compared bit for bit (``same_outcome``: same dtype, shape, values, NaN,
sign of zero, or the same error). Only the variances allow rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_numpy_differential import _chunks_for, assert_identical, chunked, same_outcome

import lamina.array as la

FEW = settings(max_examples=40, deadline=None)



@st.composite
def one_axis(draw, ndim: int, allow_none: bool = True):
    choices = st.integers(-ndim, ndim - 1) if ndim else st.none()
    if allow_none:
        choices = st.none() | choices
    return draw(choices)


def real(data, x):
    """Complex inputs replaced by their real part (for functions NumPy orders by value)."""
    if data.dtype.kind == "c":
        return data.real.copy(), x.real
    return data, x


# scans -------------------------------------------------------------------------
@FEW
@given(data=st.data())
def test_scans_match_numpy(data):
    array, x = data.draw(chunked())
    name = data.draw(st.sampled_from(("cumsum", "cumprod", "nancumsum", "nancumprod")))
    if array.dtype.kind == "c" and "prod" in name:
        name = name.replace("prod", "sum")  # complex inf products depend on the order
    kwargs = {"axis": data.draw(one_axis(array.ndim))}
    if data.draw(st.booleans()):
        kwargs["dtype"] = data.draw(st.sampled_from((None, "int8", "int64", "float64")))
        if array.dtype.kind == "c" and kwargs["dtype"] not in (None,):
            kwargs["dtype"] = None
    same_outcome(lambda: getattr(np, name)(array, **kwargs),
                 lambda: getattr(np, name)(x, **kwargs))


@FEW
@given(data=st.data())
def test_cumulative_sum_and_prod_match_numpy(data):
    array, x = data.draw(chunked())
    name = data.draw(st.sampled_from(("cumulative_sum", "cumulative_prod")))
    if array.dtype.kind == "c":
        name = "cumulative_sum"
    kwargs = {"include_initial": data.draw(st.booleans())}
    if array.ndim != 1 or data.draw(st.booleans()):
        kwargs["axis"] = data.draw(one_axis(array.ndim, allow_none=False))
    same_outcome(lambda: getattr(np, name)(array, **kwargs),
                 lambda: getattr(la, name)(x, **kwargs))


@FEW
@given(data=st.data())
def test_ufunc_accumulate_matches_numpy(data):
    array, x = data.draw(chunked())
    ufunc = getattr(np, data.draw(st.sampled_from(
        ("add", "multiply", "maximum", "minimum", "fmax", "fmin", "logical_or",
         "logical_and", "bitwise_xor"))))
    if array.dtype.kind == "c" and ufunc is np.multiply:
        ufunc = np.add
    axis = data.draw(one_axis(array.ndim, allow_none=False)) if array.ndim else 0
    same_outcome(lambda: ufunc.accumulate(array, axis=axis),
                 lambda: ufunc.accumulate(x, axis=axis))


def test_non_associative_accumulate_needs_one_block():
    a = np.array([5.0, 1.0, 2.0, 0.5])
    with pytest.raises(NotImplementedError, match="rechunk axis 0 to one block"):
        np.subtract.accumulate(la.from_array(a, chunks=2))
    assert_identical(np.subtract.accumulate(la.from_array(a, chunks=4)).compute(),
                     np.subtract.accumulate(a))


def test_scan_reads_one_carry_block_per_task():
    x = la.from_array(np.arange(100.0), chunks=10)
    y = np.cumsum(x)
    (indptr, _), (carry_ptr, carry) = y.layer.block_deps(np.arange(10))
    assert np.all(np.diff(indptr) == 1) and np.all(np.diff(carry_ptr) == 1)
    assert y.layer.carry.chunks == ((10,),)
    np.testing.assert_array_equal(y.compute(), np.cumsum(np.arange(100.0)))


# elementwise ---------------------------------------------------------------------
@FEW
@given(data=st.data())
def test_clip_round_nan_to_num_match_numpy(data):
    array, x = data.draw(chunked())
    array, x = real(array, x)
    name = data.draw(st.sampled_from(("clip", "round", "around", "nan_to_num")))
    if name == "clip":
        bound = st.sampled_from((None, -1, 0.5, -0.0, np.nan, np.inf))
        low, high = data.draw(bound), data.draw(bound)
        if low is None and high is None:
            high = 1
        args, kwargs = (low, high), {}
    elif name in ("round", "around"):
        args, kwargs = (), {"decimals": data.draw(st.integers(-1, 2))}
    else:
        args, kwargs = (), {"nan": data.draw(st.sampled_from((0.0, -1.5))),
                            "posinf": data.draw(st.sampled_from((None, 9.0))),
                            "neginf": data.draw(st.sampled_from((None, -9.0)))}
    same_outcome(lambda: getattr(np, name)(array, *args, **kwargs),
                 lambda: getattr(np, name)(x, *args, **kwargs))


def test_clip_takes_array_bounds_and_array_api_keywords():
    a = np.array([[-3.0, 0.5, np.nan], [2.0, -0.0, 7.0]])
    x = la.from_array(a, chunks=(1, 2))
    low = np.array([-1.0, 0.0, 1.0])
    assert_identical(np.clip(x, low, 2.0).compute(), np.clip(a, low, 2.0))
    assert_identical(la.clip(x, min=la.from_array(low, chunks=2)).compute(), np.clip(a, low, None))


@FEW
@given(data=st.data())
def test_isclose_and_allclose_match_numpy(data):
    array, x = data.draw(chunked())
    shift = data.draw(st.sampled_from((0.0, 1e-9, 1e-3, np.nan)))
    other = array + shift
    kwargs = {"equal_nan": data.draw(st.booleans()),
              "rtol": data.draw(st.sampled_from((1e-5, 0.0))),
              "atol": data.draw(st.sampled_from((1e-8, 0.0, 1.0)))}
    same_outcome(lambda: np.isclose(array, other, **kwargs),
                 lambda: np.isclose(x, other, **kwargs))
    with np.errstate(all="ignore"):
        assert bool(np.allclose(x, other, **kwargs)) == np.allclose(array, other, **kwargs)


# NaN reductions ------------------------------------------------------------------
@FEW
@given(data=st.data())
def test_nanprod_nanargmin_nanargmax_match_numpy(data):
    array, x = data.draw(chunked())
    name = data.draw(st.sampled_from(("nanprod", "nanargmin", "nanargmax")))
    if name != "nanprod":
        array, x = real(array, x)
        kwargs = {"axis": data.draw(one_axis(array.ndim)), "keepdims": data.draw(st.booleans())}
    else:
        if array.dtype.kind == "c":
            array, x = real(array, x)
        kwargs = {"axis": data.draw(one_axis(array.ndim)), "keepdims": data.draw(st.booleans()),
                  "dtype": data.draw(st.sampled_from((None, "int64", "float64")))}
    same_outcome(lambda: getattr(np, name)(array, **kwargs),
                 lambda: getattr(np, name)(x, **kwargs))


@FEW
@given(data=st.data())
def test_nanvar_nanstd_match_numpy_up_to_rounding(data):
    array, x = data.draw(chunked())
    name = data.draw(st.sampled_from(("nanvar", "nanstd")))
    kwargs = {"axis": data.draw(one_axis(array.ndim)), "keepdims": data.draw(st.booleans()),
              "ddof": data.draw(st.integers(0, 2))}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(np, name)(array, **kwargs)
    got = getattr(np, name)(x, **kwargs).compute()
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


# sorting and sets ---------------------------------------------------------------
@FEW
@given(data=st.data())
def test_sort_and_argsort_match_numpy(data):
    array, x = data.draw(chunked())
    array, x = real(array, x)
    name = data.draw(st.sampled_from(("sort", "argsort")))
    axis = data.draw(one_axis(array.ndim)) if array.ndim else None
    same_outcome(lambda: getattr(np, name)(array, axis=axis, kind="stable"),
                 lambda: getattr(np, name)(x, axis=axis, kind="stable"))


def _descending_reference(values: np.ndarray, axis: int, indices: bool) -> np.ndarray:
    """Python's stable ``sorted(reverse=True)`` along ``axis``: ties keep their order."""
    def one(row: np.ndarray) -> np.ndarray:
        order = sorted(range(len(row)), key=lambda i: row[i], reverse=True)
        return np.array(order, dtype=np.intp) if indices else row[order]

    if values.size == 0:
        return values.astype(np.intp) if indices else values
    return np.apply_along_axis(one, axis, values)


@FEW
@given(data=st.data())
def test_descending_stable_sort_keeps_ties_in_order(data):
    array, _ = real(*data.draw(chunked()))
    array = np.nan_to_num(array.reshape(1) if array.ndim == 0 else array)  # no NaN: sorted()
    x = la.from_array(array, chunks=tuple(_chunks_for(data.draw, n) for n in array.shape))
    axis = data.draw(one_axis(array.ndim, allow_none=False))
    indices = data.draw(st.booleans())
    func = la.argsort if indices else la.sort
    got = func(x, axis=axis, descending=True, stable=True).compute()
    assert_identical(got, _descending_reference(array, axis % array.ndim, indices))


@FEW
@given(data=st.data())
def test_unique_functions_match_numpy(data):
    array, x = data.draw(chunked())
    array, x = real(array, x)
    name = data.draw(st.sampled_from(("unique_values", "unique_counts", "unique_inverse",
                                      "unique_all", "unique")))
    kwargs = {"return_counts": data.draw(st.booleans())} if name == "unique" else {}
    expected = getattr(np, name)(array, **kwargs)
    got = getattr(la, name)(x, **kwargs)
    pairs = zip(got, expected) if isinstance(expected, tuple) else [(got, expected)]
    for g, e in pairs:
        g = g.compute()
        if name == "unique_values":  # NumPy's may come unsorted (hashing); the standard allows it
            g, e = np.sort(g), np.sort(e)
        # -0.0 and 0.0 are one value; which sign represents it follows NumPy's sort order.
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


@FEW
@given(data=st.data())
def test_searchsorted_matches_numpy(data):
    array, x = data.draw(chunked())
    array, x = real(array, x)
    edges = np.sort(np.array(data.draw(st.lists(st.sampled_from(
        (0.0, -0.0, 1.0, -2.0, 0.5, np.nan, np.inf, -np.inf)), max_size=6))))
    side = data.draw(st.sampled_from(("left", "right")))
    if data.draw(st.booleans()):
        chunks = (_chunks_for(data.draw, len(edges)),)
        sorted_side = la.from_array(edges, chunks=chunks)
    else:
        sorted_side = edges
    same_outcome(lambda: np.searchsorted(edges, array, side=side),
                 lambda: la.searchsorted(sorted_side, x, side=side))


# order statistics ---------------------------------------------------------------
@FEW
@given(data=st.data())
def test_median_quantile_percentile_match_numpy(data):
    array, x = data.draw(chunked())
    array, x = real(array, x)
    name = data.draw(st.sampled_from(("median", "quantile", "percentile")))
    axis = data.draw(st.none() | st.lists(st.integers(0, max(array.ndim - 1, 0)), unique=True,
                                          min_size=1).map(tuple)) if array.ndim else None
    kwargs = {"axis": axis, "keepdims": data.draw(st.booleans())}
    args = ()
    if name != "median":
        q = data.draw(st.sampled_from((0.5, 0.0, 1.0, [0.25, 0.75], [[0.1], [0.9]])))
        args = (np.asarray(q) * (100 if name == "percentile" else 1),)
        kwargs["method"] = data.draw(st.sampled_from(("linear", "nearest", "lower",
                                                      "midpoint", "inverted_cdf")))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            expected = getattr(np, name)(array, *args, **kwargs)
        except Exception as error:
            with pytest.raises(type(error)):
                getattr(np, name)(x, *args, **kwargs).compute()
            return
        got = getattr(np, name)(x, *args, **kwargs).compute()
        if array.dtype.kind == "f" and np.isnan(array).any():
            # NumPy gives a slice holding NaN the input's dtype; lamina, the NaN-free one.
            assert got.dtype == getattr(np, name)(np.nan_to_num(array), *args, **kwargs).dtype
            expected = expected.astype(got.dtype)
        assert_identical(got, expected)
