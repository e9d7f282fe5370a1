"""``BlockPoints``, the per-block gather behind ``x[rows, cols]``: optimized ==
unoptimized == NumPy, and no task reads more than one block of the array."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.advanced_indexing import gather_points
from lamina.layers.points import BlockPoints
from lamina.layers.walk import topological
from lamina.testing import check_plan, chunks_for, raw_compute, shapes


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_gathered_points_optimized_equal_unoptimized_equal_numpy(data):
    shape = data.draw(shapes(max_ndim=3, max_side=7, min_ndim=1))
    chunks = data.draw(chunks_for(shape))
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) - 5
    x = la.from_array(values, chunks=chunks)
    k = data.draw(st.integers(1, len(shape)))
    n = data.draw(st.integers(0, 8)) if all(shape[:k]) else 0
    coords = np.array([[data.draw(st.integers(0, shape[a] - 1)) for _ in range(n)]
                       for a in range(k)], dtype=np.int64).reshape(k, n)
    y = gather_points(x, coords)
    expected = values[tuple(coords)]
    check_plan([y.layer])
    for got in (raw_compute(y), y.compute()):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_each_gather_task_reads_one_block():
    x = la.from_array(np.arange(10_000.0).reshape(100, 100), chunks=10)
    rows = np.random.default_rng(0).integers(0, 100, 500)
    cols = np.random.default_rng(1).integers(0, 100, 500)
    y = x[rows, cols]
    (layer,) = [node for node in topological([y.layer]) if isinstance(node, BlockPoints)]
    assert layer.x == x.layer, "the points are gathered from x's own blocks, no rechunk"
    (indptr, _), = layer.block_deps(np.arange(layer.nblocks))
    assert np.all(np.diff(indptr) == 1)
    np.testing.assert_array_equal(y.compute(), x.compute()[rows, cols])
