"""Every linalg layer's vectorized ``block_deps`` against a one-block-at-a-time
reference written with plain index arithmetic, and the pass kernels against
dense NumPy products."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.linalg import products
from lamina.layers.linalg.combine import Drain, Pick, TreeSum, tree_sum
from lamina.layers.linalg.encode import EncodeBlocks
from lamina.layers.linalg.pass_layers import BlockQtA, BlockW, BlockY, RowPass
from lamina.layers.linalg.payload import BlockRef, Packed2Bit, try_pack
from lamina.layers.linalg.scaling import patterson_reference, row_stats
from lamina.layers.linalg.sources import HoldPacked
from lamina.layers.linalg.tsqr_layers import (
    ApplyFactor,
    BlockQR,
    ChildFactor,
    ColumnSigns,
    StackQR,
    TopFactor,
)
from lamina.layers.walk import topological
from lamina.linalg import tsqr

SETTINGS = settings(max_examples=40, deadline=None)


def csr_rows(csr):
    indptr, flat = csr
    return [flat[a:b].tolist() for a, b in zip(indptr[:-1], indptr[1:])]


def assert_deps(layer, expected):
    """``expected(block index tuple) -> [flat ids per dependency]`` for every block,
    asked all at once and one block at a time."""
    every = np.arange(layer.nblocks, dtype=np.int64)
    whole = [csr_rows(c) for c in layer.block_deps(every)]
    assert len(whole) == len(layer.dependencies)
    for flat in range(layer.nblocks):
        want = expected(layer.block_index(flat))
        single = [csr_rows(c)[0] for c in layer.block_deps(np.array([flat], dtype=np.int64))]
        assert [w[flat] for w in whole] == want == single, (flat, want)


def grid_matrix(numblocks, width=2):
    """An Array with ``numblocks`` blocks of ``width`` x ``width`` values."""
    shape = tuple(n * width for n in numblocks)
    return la.from_array(np.zeros(shape), chunks=width)


grids = st.tuples(st.integers(1, 4), st.integers(1, 4))


@SETTINGS
@given(grid=grids, stats=st.booleans())
def test_row_pass_reads_its_whole_row_block_and_all_of_z(grid, stats):
    ni, nj = grid
    a = grid_matrix(grid)
    z = la.from_array(np.zeros((a.shape[1], 3)), chunks=(2, 3)).layer
    st_layer = la.from_array(np.zeros((a.shape[0], 2)), chunks=(2, 2)).layer if stats else None
    layer = RowPass(a.layer, z, st_layer, np.dtype(float), None, True, True, False)

    def expected(idx):
        (i,) = idx
        out = [[i * nj + j for j in range(nj)], list(range(nj))]
        return out + ([[i]] if stats else [])

    assert_deps(layer, expected)


@SETTINGS
@given(grid=grids)
def test_block_y_reads_block_ij_and_z_j(grid):
    ni, nj = grid
    a = grid_matrix(grid)
    z = la.from_array(np.zeros((a.shape[1], 3)), chunks=(2, 3)).layer
    layer = BlockY(a.layer, z, np.dtype(float), None, False)
    assert layer.numblocks == (nj, ni, 1)
    assert_deps(layer, lambda idx: [[idx[1] * nj + idx[0]], [idx[0]]])


@SETTINGS
@given(grid=grids, stats=st.booleans())
def test_block_w_and_qta_read_block_ij_and_row_block_i(grid, stats):
    ni, nj = grid
    a = grid_matrix(grid)
    rows = la.from_array(np.zeros((a.shape[0], 3)), chunks=(2, 3)).layer
    st_layer = la.from_array(np.zeros((a.shape[0], 2)), chunks=(2, 2)).layer if stats else None
    w = BlockW(a.layer, rows, st_layer, np.dtype(float))
    assert w.numblocks == (ni, nj, 1)
    assert_deps(w, lambda idx: [[idx[0] * nj + idx[1]], [idx[0]]] + ([[idx[0]]] if stats else []))
    b = BlockQtA(a.layer, rows, st_layer, np.dtype(float))
    assert b.numblocks == (ni, 1, nj)
    assert_deps(b, lambda idx: [[idx[0] * nj + idx[2]], [idx[0]]] + ([[idx[0]]] if stats else []))


@SETTINGS
@given(nblocks=st.integers(1, 12), split=st.integers(2, 5), axis=st.integers(0, 1))
def test_tree_sum_groups_consecutive_blocks(nblocks, split, axis):
    shape = [2, 2]
    shape[axis] = 2 * nblocks
    values = np.arange(np.prod(shape), dtype=float).reshape(shape)
    x = la.from_array(values, chunks=2)
    layer = TreeSum(x.layer, axis, split)
    other = x.numblocks[1 - axis]

    def expected(idx):
        g = idx[axis]
        members = range(g * split, min(g * split + split, nblocks))
        if axis == 0:
            return [[m * other + idx[1] for m in members]]
        return [[idx[0] * nblocks + m for m in members]]

    assert_deps(layer, expected)
    total = la.Array(tree_sum(x.layer, axis, split)).compute()
    parts = np.split(values, nblocks, axis=axis)
    np.testing.assert_allclose(total, sum(parts))


@SETTINGS
@given(nblocks=st.integers(1, 9), split=st.integers(2, 4))
def test_tsqr_layers_follow_their_tree(nblocks, split):
    x = la.from_array(np.random.default_rng(0).standard_normal((3 * nblocks, 2)), chunks=(3, 2))
    q, _ = tsqr(x, split_every=split)
    seen = set()
    for layer in topological([q.layer]):
        seen.add(type(layer))
        if isinstance(layer, BlockQR):
            assert_deps(layer, lambda idx: [[idx[0]]])
        elif isinstance(layer, StackQR):
            n = layer.child.nblocks
            assert_deps(layer, lambda idx, n=n: [list(range(idx[0] * split,
                                                              min(idx[0] * split + split, n)))])
        elif isinstance(layer, TopFactor):
            assert_deps(layer, lambda idx: [[0]])
        elif isinstance(layer, ChildFactor):
            assert_deps(layer, lambda idx: [[idx[0] // split], [idx[0] // split]])
        elif isinstance(layer, ApplyFactor):
            assert_deps(layer, lambda idx: [[idx[0]], [idx[0]]])
    assert {BlockQR, StackQR, TopFactor, ChildFactor, ApplyFactor} <= seen
    assert_deps(ColumnSigns(x.layer), lambda idx: [list(range(nblocks))])


def test_one_to_one_layers():
    a = grid_matrix((3, 2))
    for layer in (HoldPacked(a.layer), EncodeBlocks(a.layer, "2bit", 3)):
        assert_deps(layer, lambda idx: [[idx[0] * 2 + idx[1]]])
    rp = RowPass(a.layer, la.from_array(np.zeros((4, 2)), chunks=(2, 2)).layer, None,
                 np.dtype(float), None, True, False, False)
    pick = Pick(rp, 0, ((2, 2, 2), (2,)), np.dtype(float))
    assert_deps(pick, lambda idx: [[idx[0]]])


@SETTINGS
@given(nblocks=st.integers(1, 12), split=st.integers(2, 5))
def test_drain_reads_block_i_of_parts_and_its_group(nblocks, split):
    x = la.from_array(np.zeros((2 * nblocks, 2)), chunks=2)
    group = TreeSum(x.layer, 0, split)
    layer = Drain((x.layer, x.layer), (group,), split)
    assert layer.nblocks == nblocks
    assert_deps(layer, lambda idx: [[idx[0]], [idx[0]], [idx[0] // split]])
    assert layer.kernel()(0, []) is None


def test_column_signs_pick_the_largest_entry_first_in_row_order():
    x = np.array([[1.0, -2.0, 0.0], [-3.0, 2.0, 0.0], [3.0, 1.0, 0.0]])
    signs = la.Array(ColumnSigns(la.from_array(x, chunks=(1, 3)).layer)).compute()
    np.testing.assert_array_equal(signs, [-1, -1, 1])


def dense_case(seed, m=23, n=17, l=4):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n), dtype=np.uint8)
    g[3] = 2
    z = rng.standard_normal((n, l))
    return g, z


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 16), max_size=3, unique=True),
       scaler=st.sampled_from([None, "center", "patterson"]), packed=st.booleans())
def test_row_pass_equals_dense_products(seed, cuts, scaler, packed):
    g, z = dense_case(seed)
    bounds = [0, *sorted(cuts), g.shape[1]]
    blocks = [g[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    zs = [z[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    payloads = [try_pack(b) if packed else b for b in blocks]
    y, w, st_rows = products.row_pass(payloads, zs, None, dtype=np.float64, scaler=scaler,
                                      want_y=True, want_w=True, pack=False)
    if scaler == "patterson":
        dense = patterson_reference(g)
    elif scaler == "center":
        dense = g - g.mean(axis=1, keepdims=True)
    else:
        dense = g.astype(float)
    np.testing.assert_allclose(y, dense @ z, atol=1e-10)
    np.testing.assert_allclose(w, dense.T @ (dense @ z), atol=1e-9)
    if scaler:
        np.testing.assert_allclose(st_rows, row_stats(g.sum(axis=1), g.shape[1], scaler, float))
        y2, w2, _ = products.row_pass(payloads, zs, st_rows, dtype=np.float64, scaler=scaler,
                                      want_y=True, want_w=True, pack=False)
        np.testing.assert_allclose(y2, y, atol=1e-12)
        np.testing.assert_allclose(w2, w, atol=1e-12)


class _Ref:
    """A stand-in source for ``BlockRef``: one in-memory block."""

    def __init__(self, block):
        self.block = block

    def load_block(self, index):
        return self.block


def test_row_pass_packs_loaded_refs_and_gives_the_same_products():
    g, z = dense_case(11)
    refs = [BlockRef(_Ref(g[:, :8]), 0), BlockRef(_Ref(g[:, 8:]), 1)]
    zs = [z[:8], z[8:]]
    y, w, _ = products.row_pass(refs, zs, None, dtype=np.float64, scaler=None, want_y=True,
                                want_w=True, pack=True)
    np.testing.assert_allclose(y, g @ z, atol=1e-10)
    np.testing.assert_allclose(w, g.T @ (g @ z), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scaler=st.sampled_from([None, "center", "patterson"]))
def test_block_kernels_equal_dense_products(seed, scaler):
    g, z = dense_case(seed)
    dense = patterson_reference(g) if scaler == "patterson" else (
        g - g.mean(axis=1, keepdims=True) if scaler == "center" else g.astype(float))
    stats = row_stats(g.sum(axis=1), g.shape[1], scaler, float) if scaler else None
    y = dense @ z
    p = products.block_y(g, z, dtype=np.float64, scaler=scaler, with_sums=True)[0]
    np.testing.assert_allclose(p[:, :-1], g @ z, atol=1e-10)
    np.testing.assert_allclose(p[:, -1], g.sum(axis=1), atol=1e-10)
    w = products.block_w(Packed2Bit(try_pack(g).data, g.shape, g.dtype), y, stats,
                         dtype=np.float64)[0]
    np.testing.assert_allclose(w, dense.T @ y, atol=1e-9)
    b = products.block_qt_a(g, y, stats, dtype=np.float64)[0]
    np.testing.assert_allclose(b, y.T @ dense, atol=1e-9)


def test_trimming_kernel_passes_values_and_errors_through():
    from lamina.layers.linalg.memory import trim_heap, trimming_kernel

    trim_heap()
    assert trimming_kernel(lambda block, inputs: block + len(inputs))(2, [1, 2]) == 4

    def fails(block, inputs):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        trimming_kernel(fails)(0, [])


def test_single_threaded_blas_restores_the_thread_count():
    from lamina.layers import blas

    controls = blas._openblas()
    if controls is None:
        pytest.skip("no OpenBLAS in this NumPy")
    get, _ = controls
    before = get()
    with blas.single_threaded_blas():
        assert get() == 1
        with blas.single_threaded_blas():
            assert get() == 1
        assert get() == 1
    assert get() == before
