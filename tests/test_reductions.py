"""Reductions: values and dtypes equal NumPy's on random shapes, chunks,
axes and trees; each layer reads exactly the blocks its group covers."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
import lamina.layers.reductions as layers
from lamina.array import reductions
from lamina.layers.reductions import (
    ReduceAggregate,
    ReduceChunk,
    ReduceCombine,
    default_split_every,
)
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower

SETTINGS = settings(max_examples=60, deadline=None)
DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.float32, np.float64]
WITH_DTYPE = ["sum", "prod", "mean", "var", "std", "nansum", "nanmean"]
NO_IDENTITY = ["min", "max", "argmin", "argmax", "nanmin", "nanmax"]
ALL = WITH_DTYPE + NO_IDENTITY + ["any", "all"]


@st.composite
def partition(draw, n, allow_empty=False):
    """Random block sizes adding up to ``n`` (zero-size blocks if allowed)."""
    if n == 0:
        return (0,)
    low = 0 if allow_empty else 1
    if n - low < low:
        return (n,)
    cuts = draw(st.lists(st.integers(low, n - low), max_size=4, unique=not allow_empty))
    bounds = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))


def values(shape, dtype, seed, nan=False):
    """Data that keeps products and sums of ints exact and floats tame."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -3, 4, size=shape).astype(dtype)
    a = rng.uniform(0.5, 1.5, size=shape).astype(dtype)
    if nan and a.size:
        a[rng.random(shape) < 0.2] = np.nan
    return a


@st.composite
def case(draw, allow_empty=False, min_size=0):
    shape = tuple(draw(st.lists(st.integers(min_size, 7), max_size=3)))
    chunks = tuple(draw(partition(n, allow_empty)) for n in shape)
    dtype = draw(st.sampled_from(DTYPES))
    a = values(shape, dtype, draw(st.integers(0, 2**16)), nan=draw(st.booleans()))
    ndim = len(shape)
    axis = None
    split_every = draw(st.one_of(st.none(), st.integers(2, 5)))
    if ndim:
        axis = draw(st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple),
        ))
        if isinstance(axis, tuple):
            axis = tuple(k - ndim if draw(st.booleans()) else k for k in axis)
        if draw(st.booleans()):
            split_every = draw(st.dictionaries(st.integers(-ndim, ndim - 1), st.integers(2, 4),
                                               max_size=1))
    return a, la.from_array(a, chunks=chunks), axis, split_every, draw(st.booleans())


def expected(name, a, axis, keepdims, **kw):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(getattr(np, name)(a, axis=axis, keepdims=keepdims, **kw))


def check(result, want):
    got = np.asarray(result.compute())
    assert result.shape == want.shape
    assert result.dtype == want.dtype
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype.kind in "fc":
        tol = 2e-3 if want.dtype.itemsize <= 4 else 1e-9
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def tree_axis(name, axis):
    """argmin/argmax take one axis or None."""
    if name.startswith("arg") and isinstance(axis, tuple):
        return axis[0] if len(axis) == 1 else None
    return axis


@SETTINGS
@given(c=case(), name=st.sampled_from(ALL))
def test_reduction_equals_numpy(c, name):
    a, x, axis, split_every, keepdims = c
    axis = tree_axis(name, axis)
    try:
        want = expected(name, a, axis, keepdims)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(reductions, name)(x, axis=axis, keepdims=keepdims, split_every=split_every)
        return
    check(getattr(reductions, name)(x, axis=axis, keepdims=keepdims, split_every=split_every),
          want)


@SETTINGS
@given(c=case(allow_empty=True, min_size=1), name=st.sampled_from(ALL))
def test_reduction_with_zero_size_blocks_equals_numpy(c, name):
    a, x, axis, split_every, keepdims = c
    axis = tree_axis(name, axis)
    check(getattr(reductions, name)(x, axis=axis, keepdims=keepdims, split_every=split_every),
          expected(name, a, axis, keepdims))


@SETTINGS
@given(c=case(min_size=1), name=st.sampled_from(["sum", "prod", "mean", "var", "std"]),
       dtype=st.sampled_from([np.float32, np.float64, np.int64]))
def test_reduction_with_dtype_equals_numpy(c, name, dtype):
    a, x, axis, split_every, keepdims = c
    if np.dtype(dtype).kind == "i" and (a.dtype.kind == "f" or name in ("var", "std")):
        dtype = np.float64
    check(getattr(reductions, name)(x, axis=axis, dtype=dtype, keepdims=keepdims,
                                    split_every=split_every),
          expected(name, a, axis, keepdims, dtype=dtype))


@SETTINGS
@given(c=case(min_size=1), name=st.sampled_from(["sum", "mean", "var", "min", "any", "argmax"]))
def test_large_partials_fold_like_small_ones(c, name):
    a, x, axis, split_every, keepdims = c
    axis = tree_axis(name, axis)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(layers, "SMALL_PARTIAL", -1)
        check(getattr(reductions, name)(x, axis=axis, keepdims=keepdims,
                                        split_every=split_every),
              expected(name, a, axis, keepdims))


@pytest.mark.parametrize("ddof", [0, 1, 2, 5])
def test_var_ddof_equals_numpy(ddof):
    a = values((5, 6), np.float64, 1)
    x = la.from_array(a, chunks=2)
    for axis in (None, 0, 1):
        check(reductions.var(x, axis=axis, ddof=ddof), expected("var", a, axis, False, ddof=ddof))
        check(x.std(axis=axis, ddof=ddof), expected("std", a, axis, False, ddof=ddof))


def test_var_is_stable_for_a_large_mean():
    rng = np.random.default_rng(3)
    a = 1e9 + rng.standard_normal(20_000)
    x = la.from_array(a, chunks=7)
    np.testing.assert_allclose(x.var().compute(), np.var(a), rtol=1e-6)
    np.testing.assert_allclose(x.std(split_every=2).compute(), np.std(a), rtol=1e-6)


def test_var_of_complex_is_real_like_numpy():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 5)) + 1j * rng.standard_normal((6, 5))
    x = la.from_array(a, chunks=(2, 3))
    check(x.var(axis=0), expected("var", a, 0, False))
    check(x.mean(), expected("mean", a, None, False))


@pytest.mark.parametrize("name", ["argmin", "argmax"])
def test_arg_ties_and_nans_pick_the_first_like_numpy(name):
    a = np.array([[3.0, 1, 1, np.nan], [1, 0, np.nan, 0], [4, 4, 4, 4]])
    x = la.from_array(a, chunks=(1, 1))
    for axis in (None, 0, 1):
        check(getattr(reductions, name)(x, axis=axis, split_every=2),
              expected(name, a, axis, False))
    ties = np.zeros((4, 5), dtype=np.int8)
    check(getattr(la.from_array(ties, chunks=2), name)(), expected(name, ties, None, False))


def test_nan_functions_skip_nan_like_numpy():
    a = np.array([[np.nan, 1.0, 2.0], [np.nan, np.nan, 5.0]])
    x = la.from_array(a, chunks=1)
    for name in ("nansum", "nanmean", "nanmin", "nanmax"):
        for axis in (None, 0, 1):
            check(getattr(reductions, name)(x, axis=axis), expected(name, a, axis, False))


def test_numpy_functions_and_methods_stay_lazy():
    a = values((6, 4), np.float64, 5)
    x = la.from_array(a, chunks=(4, 3))
    for name in ("sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "argmin",
                 "argmax", "nansum", "nanmean", "nanmin", "nanmax", "amin", "amax"):
        result = getattr(np, name)(x, axis=0)
        assert isinstance(result, la.Array)
        check(result, expected(name, a, 0, False))
    assert isinstance(np.add.reduce(x, axis=1), la.Array)
    check(np.add.reduce(x, axis=1), np.add.reduce(a, axis=1))
    check(x.sum(axis=1, keepdims=True), expected("sum", a, 1, True))


def test_sum_of_a_plain_numpy_array_works():
    a = np.arange(5, dtype=np.int8)
    check(reductions.sum(a), np.asarray(np.sum(a)))


# errors --------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_axis_out_of_range_raises_axis_error(name):
    x = la.ones((3, 4), chunks=2)
    with pytest.raises(np.exceptions.AxisError):
        getattr(reductions, name)(x, axis=2)
    with pytest.raises(np.exceptions.AxisError):
        getattr(reductions, name)(x, axis=-3)


def test_duplicate_axes_raise_value_error():
    with pytest.raises(ValueError, match="duplicate"):
        la.ones((3, 4), chunks=2).sum(axis=(0, -2))


@pytest.mark.parametrize("name", NO_IDENTITY)
def test_reducing_an_empty_axis_without_identity_raises(name):
    x = la.zeros((0, 3), chunks=2)
    axis = None if name.startswith("arg") else 0
    with pytest.raises(ValueError):
        getattr(reductions, name)(x, axis=axis)
    check(getattr(reductions, name)(x, axis=1), expected(name, np.zeros((0, 3)), 1, False))


@pytest.mark.parametrize("name", ["argmin", "argmax"])
def test_arg_reductions_take_one_axis(name):
    with pytest.raises(TypeError, match="one axis"):
        getattr(reductions, name)(la.ones((3, 4), chunks=2), axis=(0, 1))


@pytest.mark.parametrize("split_every", [1, 0, {0: 1}])
def test_split_every_below_two_raises(split_every):
    with pytest.raises(ValueError, match="split_every"):
        la.ones((8, 8), chunks=2).sum(split_every=split_every)


# tree shape ----------------------------------------------------------------
def tree_layers(result):
    out, layer = [], result.layer
    while isinstance(layer, (ReduceAggregate, ReduceCombine, ReduceChunk)):
        out.append(layer)
        layer = layer.x
    return out[::-1]


def test_default_tree_is_shallow_with_small_groups():
    steps = tree_layers(la.ones((4096,), chunks=1).sum())
    assert [type(s) for s in steps] == [ReduceChunk, ReduceCombine, ReduceCombine,
                                        ReduceAggregate]
    assert [s.nblocks for s in steps] == [4096, 256, 16, 1]
    steps = tree_layers(la.ones((64, 64), chunks=1).sum())
    assert steps[1].split_every == (4, 4)
    assert [s.nblocks for s in steps] == [4096, 256, 16, 1]


@given(numblocks=st.lists(st.integers(1, 500), min_size=1, max_size=5),
       total=st.integers(2, 64))
@settings(max_examples=60, deadline=None)
def test_default_split_every_keeps_groups_small(numblocks, total):
    split = default_split_every(numblocks, total=total)
    assert len(split) == len(numblocks) and all(s >= 2 for s in split)
    group = np.prod([min(s, n) for s, n in zip(split, numblocks)])
    assert group <= max(2 * total, 2 ** sum(n > 1 for n in numblocks))


def test_partials_of_large_blocks_get_smaller_groups():
    assert default_split_every([100])[0] == 16
    assert default_split_every([100], partial_bytes=100 * 2**20)[0] == 2


def test_a_million_block_reduction_lowers_in_one_vectorized_step_per_layer(monkeypatch):
    """What keeps lowering fast (timed in benchmarks/bench_lowering.py): each
    layer answers once for all its blocks, and the table holds exactly one
    task per block and one edge per task but the root: nothing per task in
    Python, nothing duplicated."""
    y = ((la.ones((1000, 1000), chunks=1) + 1) * 2).sum()
    order = topological([y.layer])
    calls = []
    for cls in {type(layer) for layer in order if layer.dependencies}:
        def counted(self, out_blocks, _inner=cls.block_deps):
            calls.append((self.name, len(out_blocks)))
            return _inner(self, out_blocks)
        monkeypatch.setattr(cls, "block_deps", counted)
    table = lower([y.layer])
    assert sorted(calls) == sorted((layer.name, layer.nblocks) for layer in order
                                   if layer.dependencies)
    assert [layer.nblocks for layer in order] == [10**6] * 4 + [62_500, 3_969, 256, 16, 1]
    assert table.n_tasks == sum(layer.nblocks for layer in order) == 4_066_742
    assert len(table.dep_indices) == table.n_tasks - 1
    assert np.array_equal(np.bincount(table.task_layer), [layer.nblocks for layer in order])


# block dependencies ----------------------------------------------------------
def reference_deps(layer):
    """Per output block, the input blocks of its group, by plain index arithmetic."""
    x = layer.x
    sizes = dict(zip(layer.axes, layer._groups())) if not isinstance(layer, ReduceChunk) else {}
    kept = [k for k in range(x.ndim) if k not in layer.axes]
    rows = []
    for flat in range(layer.nblocks):
        out = layer.block_index(flat)
        per_axis = []
        for k in range(x.ndim):
            if isinstance(layer, ReduceAggregate) and not layer.keepdims and k in layer.axes:
                o = 0
            elif isinstance(layer, ReduceAggregate) and not layer.keepdims:
                o = out[kept.index(k)]
            else:
                o = out[k]
            s = sizes.get(k, 1)
            per_axis.append(range(o * s, min(o * s + s, x.numblocks[k])) if k in sizes
                            else [o])
        rows.append([int(np.ravel_multi_index(i, x.numblocks))
                     for i in itertools.product(*per_axis)])
    return rows


@SETTINGS
@given(c=case(allow_empty=True), name=st.sampled_from(["sum", "var", "argmin"]),
       seed=st.integers(0, 100))
def test_block_deps_match_the_reference(c, name, seed):
    a, x, axis, split_every, keepdims = c
    axis = tree_axis(name, axis)
    try:
        result = getattr(reductions, name)(x, axis=axis, keepdims=keepdims,
                                           split_every=split_every)
    except ValueError:
        return
    for layer in tree_layers(result):
        want = reference_deps(layer)
        everything = np.arange(layer.nblocks, dtype=np.int64)
        some = np.sort(np.random.default_rng(seed).choice(
            everything, size=min(3, layer.nblocks), replace=False))
        for blocks in (everything, some):
            (indptr, idx), = layer.block_deps(blocks)
            got = [idx[indptr[i]:indptr[i + 1]].tolist() for i in range(len(blocks))]
            assert got == [want[b] for b in blocks.tolist()]
