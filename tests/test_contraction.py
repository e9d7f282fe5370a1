"""Contractions: tensordot, dot, matmul, vdot and outer equal NumPy's on
random shapes and chunks; each task reads one block of each operand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.contraction import dot, matmul, outer, tensordot, vdot
from lamina.layers.contraction import Contraction
from lamina.layers.rechunk import Rechunk
from lamina.layers.reductions import ReduceAggregate, ReduceCombine

SETTINGS = settings(max_examples=40, deadline=None)
DTYPES = [np.bool_, np.int8, np.int64, np.float32, np.float64, np.complex128]


@st.composite
def partition(draw, n):
    """Random block sizes adding up to ``n``."""
    if n <= 1:
        return (n,)
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=3, unique=True))
    bounds = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))


def values(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@st.composite
def lazy(draw, shape, dtype=None):
    """A NumPy array and the same values as a lamina Array with random chunks."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    a = values(shape, dtype, draw(st.integers(0, 2**16)))
    return a, la.from_array(a, chunks=tuple(draw(partition(n)) for n in shape))


def check(result, want):
    want = np.asarray(want)
    got = np.asarray(result.compute())
    assert result.shape == want.shape and result.dtype == want.dtype
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype.kind in "fc":
        tol = 1e-4 if want.dtype in (np.float32, np.complex64) else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


dims = st.integers(0, 6)


@st.composite
def matmul_case(draw):
    """Operands of matmul: 1-D or N-D with broadcast batch axes."""
    n, k, m = draw(dims), draw(dims), draw(dims)
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    batch_a = [1 if draw(st.booleans()) else b for b in batch][draw(st.integers(0, len(batch))):]
    batch_b = [1 if draw(st.booleans()) else b for b in batch][draw(st.integers(0, len(batch))):]
    a_shape = (k,) if draw(st.booleans()) else (*batch_a, n, k)
    b_shape = (k,) if draw(st.booleans()) else (*batch_b, k, m)
    dtype = draw(st.sampled_from(DTYPES))
    return draw(lazy(a_shape, dtype)), draw(lazy(b_shape, dtype))


@SETTINGS
@given(case=matmul_case(), split_every=st.sampled_from([None, 2, 3]))
def test_matmul_equals_numpy(case, split_every):
    (a, x), (b, y) = case
    check(matmul(x, y, split_every=split_every), np.matmul(a, b))


@SETTINGS
@given(case=matmul_case(), numpy_side=st.sampled_from(["left", "right"]))
def test_matmul_with_a_numpy_operand_equals_numpy(case, numpy_side):
    (a, x), (b, y) = case
    result = matmul(a, y) if numpy_side == "left" else x @ b
    check(result, np.matmul(a, b))


@st.composite
def tensordot_case(draw):
    """Operands and NumPy-style ``axes`` (an int or two lists) of tensordot."""
    ndim_a, ndim_b = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    n = draw(st.integers(0, min(ndim_a, ndim_b)))
    axes_a = draw(st.permutations(range(ndim_a)))[:n]
    axes_b = draw(st.permutations(range(ndim_b)))[:n]
    a_shape = [draw(st.integers(1, 5)) for _ in range(ndim_a)]
    b_shape = [draw(st.integers(1, 5)) for _ in range(ndim_b)]
    for i, j in zip(axes_a, axes_b):
        b_shape[j] = a_shape[i]
    if draw(st.booleans()) and list(axes_a) == list(range(ndim_a - n, ndim_a)) and \
            list(axes_b) == list(range(n)):
        axes = n
    else:
        axes = ([i - ndim_a if draw(st.booleans()) else i for i in axes_a], list(axes_b))
    dtype = draw(st.sampled_from(DTYPES))
    return draw(lazy(tuple(a_shape), dtype)), draw(lazy(tuple(b_shape), dtype)), axes


@SETTINGS
@given(case=tensordot_case(), split_every=st.sampled_from([None, 2, 4]))
def test_tensordot_equals_numpy(case, split_every):
    (a, x), (b, y), axes = case
    check(tensordot(x, y, axes=axes, split_every=split_every), np.tensordot(a, b, axes=axes))
    check(np.tensordot(x, y, axes=axes), np.tensordot(a, b, axes=axes))


@SETTINGS
@given(data=st.data(), ndim_a=st.integers(0, 3), ndim_b=st.integers(0, 3))
def test_dot_equals_numpy(data, ndim_a, ndim_b):
    k = data.draw(dims)
    a_shape = tuple(data.draw(dims) for _ in range(ndim_a - 1)) + ((k,) if ndim_a else ())
    b_shape = tuple(data.draw(dims) for _ in range(ndim_b))
    if ndim_b:
        b_shape = list(b_shape)
        b_shape[max(ndim_b - 2, 0)] = k
        b_shape = tuple(b_shape)
    dtype = data.draw(st.sampled_from(DTYPES))
    (a, x), (b, y) = data.draw(lazy(a_shape, dtype)), data.draw(lazy(b_shape, dtype))
    check(np.dot(x, y), np.dot(a, b))


@SETTINGS
@given(data=st.data(), size=st.integers(1, 12))
def test_vdot_and_outer_equal_numpy(data, size):
    shapes = [(size,), (1, size)] + [(d, size // d) for d in range(2, size) if size % d == 0]
    dtype = data.draw(st.sampled_from(DTYPES))
    a, x = data.draw(lazy(data.draw(st.sampled_from(shapes)), dtype))
    b, y = data.draw(lazy(data.draw(st.sampled_from(shapes)), dtype))
    check(vdot(x, y), np.vdot(a, b))
    check(np.vdot(x, y), np.vdot(a, b))
    check(outer(x, y), np.outer(a, b))


def test_dot_of_matrix_and_vector_equals_numpy():
    a = values((9, 8), np.float64, 1)
    v = values((8,), np.float64, 2)
    x = la.from_array(a, chunks=(4, 3))
    check(x.dot(la.from_array(v, chunks=5)), a.dot(v))
    check(dot(v, x.T), v.dot(a.T))


# structure -------------------------------------------------------------------
def contraction_of(result):
    layer = result.layer
    while not isinstance(layer, Contraction):
        layer = layer.x
    return layer


def test_each_task_reads_one_block_of_each_operand():
    x = la.ones((40, 60), chunks=(10, 7))
    y = la.ones((60, 30), chunks=(9, 10))
    layer = contraction_of(x @ y)
    assert layer.numblocks == (4, 3, 9)
    for indptr, _ in layer.block_deps(np.arange(layer.nblocks)):
        assert np.all(np.diff(indptr) == 1)
    assert isinstance((x @ y).layer, ReduceAggregate)
    check(x @ y, np.ones((40, 60)) @ np.ones((60, 30)))


def test_contracted_axes_of_one_block_need_no_tree():
    x = la.ones((40, 60), chunks=(10, -1))
    y = la.ones((60, 30), chunks=(-1, 10))
    assert isinstance((x @ y).layer, Contraction)
    check(x @ y, np.ones((40, 60)) @ np.ones((60, 30)))


def test_the_numpy_operand_is_rechunked_not_the_lazy_one():
    x = la.ones((40, 60), chunks=(10, 7))
    layer = contraction_of(x @ np.ones((60, 3)))
    assert layer.a == x.layer and isinstance(layer.b, Rechunk)
    layer = contraction_of(matmul(np.ones((5, 40)), x))
    assert layer.b == x.layer and isinstance(layer.a, Rechunk)


def test_the_smaller_operand_is_rechunked():
    big = la.ones((100, 60), chunks=(10, 7))
    small = la.ones((60, 2), chunks=(9, 2))
    layer = contraction_of(big @ small)
    assert layer.a == big.layer and layer.b.chunks[0] == big.chunks[1]


def test_sum_tree_groups_stay_small():
    x = la.ones((4, 4096), chunks=(4, 1))
    y = la.ones((4096, 4), chunks=(1, 4))
    steps = []
    layer = (x @ y).layer
    while isinstance(layer, (ReduceAggregate, ReduceCombine)):
        steps.append(layer)
        layer = layer.x
    assert [s.x.nblocks // s.nblocks for s in steps] == [16, 16, 16]
    check(x @ y, np.full((4, 4), 4096.0))


@st.composite
def grid_case(draw):
    """Any tensordot or matmul whose contraction layer we can inspect."""
    if draw(st.booleans()):
        (a, x), (b, y), axes = draw(tensordot_case())
        return tensordot(x, y, axes=axes)
    (a, x), (b, y) = draw(matmul_case())
    return matmul(x, y)


def reference_deps(layer, arg, grid):
    """Per grid block, the one block of ``arg`` it reads, by index arithmetic."""
    rows = []
    for flat in range(layer.nblocks):
        out = layer.block_index(flat)
        idx = [0 if g is None or arg.numblocks[k] == 1 else out[g] for k, g in enumerate(grid)]
        rows.append([int(np.ravel_multi_index(idx, arg.numblocks))] if arg.ndim else [0])
    return rows


@SETTINGS
@given(result=grid_case(), seed=st.integers(0, 100))
def test_block_deps_match_the_reference(result, seed):
    layer = contraction_of(result)
    wants = [reference_deps(layer, layer.a, layer.a_grid),
             reference_deps(layer, layer.b, layer.b_grid)]
    everything = np.arange(layer.nblocks, dtype=np.int64)
    some = np.sort(np.random.default_rng(seed).choice(everything, size=min(3, layer.nblocks),
                                                      replace=False))
    for blocks in (everything, some):
        for (indptr, idx), want in zip(layer.block_deps(blocks), wants):
            got = [idx[indptr[i]:indptr[i + 1]].tolist() for i in range(len(blocks))]
            assert got == [want[b] for b in blocks.tolist()]


def test_grid_is_output_blocks_then_contracted_axes_with_several_blocks():
    x = la.ones((2, 5, 6), chunks=(1, 2, 3))
    y = la.ones((6, 5, 4), chunks=(2, 5, 4))
    result = tensordot(x, y, axes=([1, 2], [1, 0]))
    layer = contraction_of(result)
    assert layer.chunks == ((1, 1), (4,), (1, 1, 1))
    assert layer.a_grid == (0, None, 2) and layer.b_grid == (2, None, 1)
    check(result, np.full((2, 4), 30.0))


# errors ----------------------------------------------------------------------
def test_mismatched_shapes_raise_value_error():
    x, y = la.ones((3, 4), chunks=2), la.ones((5, 6), chunks=2)
    with pytest.raises(ValueError, match="mismatch"):
        x @ y
    with pytest.raises(ValueError, match="not aligned"):
        dot(x, y)
    with pytest.raises(ValueError, match="shape-mismatch"):
        tensordot(x, y, axes=1)
    with pytest.raises(ValueError, match="different sizes"):
        vdot(x, y)


def test_matmul_of_a_scalar_raises_value_error():
    with pytest.raises(ValueError, match="enough dimensions"):
        matmul(la.ones((3,), chunks=2), np.float64(2.0))


def test_matmul_batch_axes_that_do_not_broadcast_raise_value_error():
    with pytest.raises(ValueError):
        matmul(la.ones((2, 3, 4), chunks=2), la.ones((3, 4, 5), chunks=2))


def test_tensordot_axis_out_of_range_raises_axis_error():
    with pytest.raises(np.exceptions.AxisError):
        tensordot(la.ones((3, 4), chunks=2), la.ones((4, 3), chunks=2), axes=([2], [0]))


def test_split_every_below_two_raises():
    with pytest.raises(ValueError, match="split_every"):
        matmul(la.ones((3, 4), chunks=2), la.ones((4, 3), chunks=2), split_every=1)
