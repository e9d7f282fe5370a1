"""Differential tests against NumPy: shape and combination functions, ``einsum``,
advanced indexing and ``nonzero`` (the scans, elementwise functions, NaN
reductions, sorting and order statistics are in
``test_numpy_functions_differential.py``, whose strategies these share).
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_numpy_differential import _chunks_for, assert_identical, chunked, same_outcome
from test_numpy_functions_differential import FEW, one_axis

import lamina.array as la


# shape and combination ----------------------------------------------------------
@FEW
@given(data=st.data())
def test_reordering_functions_match_numpy(data):
    array, x = data.draw(chunked())
    n = array.ndim
    name = data.draw(st.sampled_from(("flip", "roll", "ravel", "flatten", "moveaxis", "diff",
                                      "repeat", "tile", "take", "tril", "triu")))
    axis = data.draw(one_axis(n))
    if name == "flip":
        pair = (lambda m, a: m.flip(a, axis=axis))
    elif name == "roll":
        shift = data.draw(st.integers(-7, 7))
        pair = (lambda m, a: m.roll(a, shift, axis=axis))
    elif name in ("ravel", "flatten"):
        pair = (lambda m, a: a.flatten() if name == "flatten" else m.ravel(a))
    elif name == "moveaxis":
        src, dst = data.draw(one_axis(n, False)), data.draw(one_axis(n, False))
        pair = (lambda m, a: m.moveaxis(a, src, dst)) if n else (lambda m, a: m.ravel(a))
    elif name == "diff":
        k = data.draw(st.integers(0, 2))
        extra = {"prepend": -0.0} if data.draw(st.booleans()) else {}
        pair = (lambda m, a: m.diff(a, n=k, axis=axis if axis is not None else -1, **extra))
    elif name == "repeat":
        if axis is not None and data.draw(st.booleans()):
            counts = data.draw(st.lists(st.integers(0, 2), min_size=array.shape[axis],
                                        max_size=array.shape[axis]))
        else:
            counts = data.draw(st.integers(0, 2))
        pair = (lambda m, a: m.repeat(a, counts, axis=axis))
    elif name == "tile":
        reps = tuple(data.draw(st.lists(st.integers(0, 2), max_size=3)))
        pair = (lambda m, a: m.tile(a, reps))
    elif name == "take":
        length = array.size if axis is None else array.shape[axis]
        index = np.array(data.draw(st.lists(st.integers(-length, length - 1),
                                            max_size=4)) if length else [], dtype=np.intp)
        if data.draw(st.booleans()):
            index = index.reshape(-1, 1)
        pair = (lambda m, a: m.take(a, index, axis=axis))
    else:
        k = data.draw(st.integers(-2, 2))
        pair = (lambda m, a: getattr(m, name)(a, k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_outcome(lambda: pair(np, array), lambda: pair(np, x))


@FEW
@given(data=st.data())
def test_stacking_functions_match_numpy(data):
    array, x = data.draw(chunked(max_ndim=3))
    name = data.draw(st.sampled_from(("vstack", "hstack", "dstack", "broadcast_arrays",
                                      "meshgrid", "atleast_2d")))
    other = array[..., ::-1] if array.ndim else array
    y = la.from_array(other, chunks=tuple(_chunks_for(data.draw, n) for n in other.shape))
    if name in ("vstack", "hstack", "dstack"):
        same_outcome(lambda: getattr(np, name)([array, other]),
                     lambda: getattr(np, name)([x, y]))
        return
    if name == "meshgrid":
        a1, x1 = array.reshape(-1), x.reshape(-1)
        kwargs = {"indexing": data.draw(st.sampled_from(("xy", "ij"))),
                  "sparse": data.draw(st.booleans())}
        expected = np.meshgrid(a1, a1[:2], a1[:1], **kwargs)
        got = np.meshgrid(x1, x1[:2], x1[:1], **kwargs)
    elif name == "broadcast_arrays":
        row = array[..., :1] if array.ndim else array
        expected = np.broadcast_arrays(array, row)
        got = np.broadcast_arrays(x, x[..., :1] if array.ndim else x)
    else:
        expected, got = [np.atleast_2d(array)], [np.atleast_2d(x)]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_identical(g.compute(), e)


@FEW
@given(data=st.data(), n=st.integers(0, 5), m=st.none() | st.integers(0, 5),
       k=st.integers(-3, 3), dtype=st.sampled_from((None, "int8", "float32", "bool")))
def test_eye_matches_numpy(data, n, m, k, dtype):
    chunks = (_chunks_for(data.draw, n), _chunks_for(data.draw, n if m is None else m))
    assert_identical(la.eye(n, m, k=k, dtype=dtype, chunks=chunks).compute(),
                     np.eye(n, m, k=k, dtype=dtype))


SUBSCRIPTS = (("ij,jk->ik", ((3, 4), (4, 2))), ("ij,jk", ((3, 4), (4, 2))),
              ("ii->i", ((4, 4),)), ("ii", ((3, 3),)), ("ij->", ((3, 4),)),
              ("...j,j->...", ((2, 3, 4), (4,))), ("bij,bjk->bik", ((2, 3, 4), (2, 4, 3))),
              ("i,j->ij", ((3,), (4,))), ("ij,ij->i", ((3, 4), (3, 4))),
              ("ijk->kji", ((2, 3, 4),)), ("i,i", ((0,), (0,))))


@FEW
@given(data=st.data(), case=st.sampled_from(SUBSCRIPTS), dtype=st.sampled_from(
    ("float64", "int64", "bool", "complex128")))
def test_einsum_and_inner_match_numpy(data, case, dtype):
    subscripts, shapes = case
    values = (0.0, -0.0, 1.0, -2.0, 0.5, 1.5, np.nan, np.inf)
    arrays, lazies = [], []
    for shape in shapes:
        flat = data.draw(st.lists(st.sampled_from(values[:6] if dtype != "float64" else values),
                                  min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        a = np.array(flat).astype(dtype).reshape(shape)
        arrays.append(a)
        lazies.append(la.from_array(a, chunks=tuple(_chunks_for(data.draw, n) for n in shape)))
    same_outcome(lambda: np.einsum(subscripts, *arrays), lambda: np.einsum(subscripts, *lazies))
    if len(arrays) == 2 and arrays[0].shape[-1:] == arrays[1].shape[-1:]:
        same_outcome(lambda: np.inner(*arrays), lambda: np.inner(*lazies))


# indexing -----------------------------------------------------------------------
@st.composite
def advanced_index(draw, shape):
    """Several integer arrays (broadcastable), N-D ones, or an N-D boolean mask."""
    kind = draw(st.sampled_from(("pairs", "nd", "mask", "mixed")))
    if kind == "mask" and shape:
        k = draw(st.integers(1, len(shape)))
        size = int(np.prod(shape[:k]))
        mask = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)),
                        dtype=bool).reshape(shape[:k])
        return (mask,)
    index: list = []
    for n in shape:
        choice = draw(st.sampled_from(("array", "slice", "int")))
        if n == 0 or choice == "slice":
            index.append(slice(None))
        elif choice == "int":
            index.append(draw(st.integers(-n, n - 1)))
        else:
            values = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
            arr = np.array(values)
            if kind in ("nd", "mixed") and len(values) % 2 == 0:
                arr = arr.reshape(2, -1)
            index.append(arr)
    return tuple(index)


@FEW
@given(data=st.data())
def test_advanced_indexing_matches_numpy(data):
    array, x = data.draw(chunked())
    index = data.draw(advanced_index(array.shape))
    same_outcome(lambda: array[index], lambda: x[index])


def test_lazy_boolean_mask_matches_numpy():
    a = np.array([[1.0, -0.0, np.nan], [np.inf, -2.0, 0.5]])
    x = la.from_array(a, chunks=(1, 2))
    assert_identical(x[x > 0].compute(), a[a > 0])
    assert_identical(x[x[:, 0] > 1].compute(), a[a[:, 0] > 1])


@FEW
@given(data=st.data())
def test_nonzero_and_argwhere_match_numpy(data):
    array, x = data.draw(chunked())
    if array.ndim == 0:
        return
    for got, expected in zip(np.nonzero(x), np.nonzero(array)):
        assert_identical(got.compute(), expected)
    assert_identical(np.argwhere(x).compute(), np.argwhere(array))
    assert_identical(np.flatnonzero(x).compute(), np.flatnonzero(array))
