"""``lamina.array.gufunc.apply_gufunc`` equals NumPy's gufunc semantics on uneven
chunks: reductions over core dimensions, maps that keep them, broadcasting loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.gufunc import apply_gufunc
from lamina.testing.check import bit_equal
from lamina.testing.strategies import chunks_for, with_special_values


def centred(a):
    return a - a.mean(axis=-1, keepdims=True)


@settings(max_examples=20, deadline=None)
@given(st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 6)), st.data())
def test_reductions_and_maps_over_the_core_dimension_equal_numpy(shape, data):
    seed = data.draw(st.integers(0, 2**16))
    x = with_special_values(np.random.default_rng(seed).standard_normal(shape), seed)
    arr = la.from_array(x, chunks=data.draw(chunks_for(shape)))
    with np.errstate(all="ignore"):
        summed = apply_gufunc(np.sum, "(i)->()", arr, axis=-1, output_dtypes=float,
                              allow_rechunk=True)
        assert summed.shape == shape[:-1]
        assert bit_equal(summed.compute(), np.sum(x, axis=-1))
        mapped = apply_gufunc(centred, "(i)->(i)", arr, output_dtypes=float, allow_rechunk=True)
        assert mapped.chunks[:-1] == arr.chunks[:-1]
        assert bit_equal(mapped.compute(), centred(x))


def test_loop_dimensions_broadcast_and_vectorize_applies_a_scalar_function():
    x = np.arange(24.0).reshape(4, 6)
    w = np.linspace(0, 1, 6)
    got = apply_gufunc(lambda a, b: (a * b).sum(), "(i),(i)->()", la.from_array(x, chunks=(3, 6)),
                       la.from_array(w[None, :], chunks=6), vectorize=True, output_dtypes=float)
    np.testing.assert_allclose(got.compute(), x @ w)


def test_split_core_dimensions_and_unsupported_signatures_are_named():
    arr = la.from_array(np.ones((4, 6)), chunks=3)
    with pytest.raises(ValueError, match="allow_rechunk=True"):
        apply_gufunc(np.sum, "(i)->()", arr, axis=-1, output_dtypes=float)
    with pytest.raises(NotImplementedError, match="one output"):
        apply_gufunc(np.linalg.svd, "(m,n)->(m,k),(k),(k,n)", arr, output_dtypes=float)
    with pytest.raises(ValueError, match="takes 1 arguments"):
        apply_gufunc(np.sum, "(i)->()", arr, arr, output_dtypes=float)
