"""``ScanCarry``, the last step of blocked scans: optimized == unoptimized == NumPy.

Values are small integers held as floats, so every grouping of the sums and
products is exact and results are compared bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.scans import blocked_scan
from lamina.layers.scan import ScanCarry
from lamina.layers.walk import topological
from lamina.testing import check_plan, chunks_for, raw_compute, shapes

SCANS = {"add": np.cumsum, "multiply": np.cumprod, "maximum": np.maximum.accumulate,
         "minimum": np.minimum.accumulate, "logical_or": np.logical_or.accumulate}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_scan_carry_optimized_equals_unoptimized_equals_numpy(data):
    shape = data.draw(shapes(max_ndim=3, max_side=7, min_ndim=1))
    chunks = data.draw(chunks_for(shape))
    axis = data.draw(st.integers(0, len(shape) - 1))
    combine = data.draw(st.sampled_from(sorted(SCANS)))
    seed = data.draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).integers(-2, 3, size=shape).astype(np.float64)
    if combine == "logical_or":
        values = values > 0
    x = la.from_array(values, chunks=chunks)
    expected = SCANS[combine](values, axis=axis)
    y = np.cumsum(x, axis) if combine == "add" else getattr(np, combine).accumulate(x, axis=axis)
    if x.numblocks[axis] > 1:
        assert isinstance(y.layer, ScanCarry)
    check_plan([y.layer])
    unoptimized, optimized = raw_compute(y), y.compute()
    for got in (unoptimized, optimized):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        if got.dtype.kind == "f":
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


def test_scan_carry_depends_on_its_own_block_and_one_carry_block():
    x = la.from_array(np.ones((6, 9)), chunks=(2, 3))
    layer = np.cumsum(x, axis=1).layer
    (ptr, own), (cptr, carry) = layer.block_deps(np.arange(layer.nblocks))
    np.testing.assert_array_equal(own, np.arange(9))
    np.testing.assert_array_equal(carry, np.repeat(np.arange(3), 3))
    assert np.all(np.diff(ptr) == 1) and np.all(np.diff(cptr) == 1)


def test_scan_carry_refuses_a_non_associative_combine_and_a_misshapen_carry():
    x = la.from_array(np.ones(6), chunks=2)
    layer = np.cumsum(x).layer
    with pytest.raises(ValueError, match="associative ufunc name"):
        ScanCarry(layer.scanned, layer.carry, 0, "subtract")
    with pytest.raises(ValueError, match="one slice per block"):
        ScanCarry(layer.scanned, layer.scanned, 0, "add")


def test_a_blocked_scan_never_holds_more_than_a_block_and_the_totals():
    x = la.from_array(np.arange(1000.0), chunks=100)
    y = blocked_scan(x, 0, np.cumsum, "add", np.dtype("f8"), "cumsum")
    biggest = max(max(max(c) for c in layer.chunks) for layer in topological([y.layer]))
    assert biggest == 100
    np.testing.assert_array_equal(y.compute(), np.cumsum(np.arange(1000.0)))
