"""Dask arrays both ways: ``from_dask`` and ``Array.to_dask`` keep chunks and
give NumPy's values; ``to_dask``'s graph is one lazy high-level layer that
Dask's own schedulers run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.testing.check import _tolerance, bit_equal
from lamina.testing.strategies import array_expressions, chunks_for, shapes, with_special_values

da = pytest.importorskip("dask.array", reason="Dask interop needs dask[array]")
from lamina.interop.dask_array import LaminaGraphLayer  # noqa: E402

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_numpy_equal(got: np.ndarray, expected: np.ndarray) -> None:
    expected = np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, equal_nan=True, **_tolerance(expected.dtype))
    else:
        np.testing.assert_array_equal(got, expected)


@FAST
@given(array_expressions(max_ops=4), st.sampled_from(["sync", "threads"]))
def test_to_dask_gives_lamina_values_on_dask_schedulers(expr, scheduler):
    darr = expr.array.to_dask()
    assert darr.chunks == expr.array.chunks or darr.shape == expr.array.shape
    with np.errstate(all="ignore"):
        got = np.asarray(darr.compute(scheduler=scheduler))
    assert bit_equal(got, np.asarray(expr.array.compute()))
    assert_numpy_equal(got, expr.expected)


@FAST
@given(st.data())
def test_from_dask_keeps_chunks_and_special_values(data):
    shape = data.draw(shapes(max_ndim=3, max_side=7))
    chunks = data.draw(chunks_for(shape))
    seed = data.draw(st.integers(0, 2**16))
    x = with_special_values(np.random.default_rng(seed).standard_normal(shape), seed)
    darr = da.from_array(x, chunks=chunks)
    arr = la.from_dask(darr)
    assert arr.chunks == darr.chunks and arr.dtype == darr.dtype
    np.testing.assert_array_equal(arr.compute(), x)
    y = la.from_dask(darr) * 3 + 1
    with np.errstate(all="ignore"):
        assert bit_equal(y.compute(), y.compute(optimize_graph=False))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(np.signbit(la.from_dask(darr * 2).compute()),
                                      np.signbit(x * 2))
        axis = 0 if x.ndim else None
        assert_numpy_equal((la.from_dask(darr) * 3 + 1).sum(axis=axis).compute(),
                           (x * 3 + 1).sum(axis=axis))


def test_a_round_trip_through_both_directions_keeps_uneven_chunks():
    x = np.arange(77.0).reshape(7, 11) - 30
    darr = da.from_array(x, chunks=((2, 5), (1, 4, 6)))
    back = (la.from_dask(darr) * 2).to_dask()
    assert back.chunks == ((2, 5), (1, 4, 6))
    np.testing.assert_array_equal((back - 1).compute(), x * 2 - 1)


def test_an_untouched_from_dask_array_gives_back_its_dask_array():
    darr = da.arange(10, chunks=3)
    assert la.from_dask(darr).to_dask() is darr


def test_to_dask_graph_is_one_layer_materialized_only_when_dask_asks():
    arr = ((la.ones((200, 200), chunks=10) + 1) * 2).sum()
    darr = arr.to_dask()
    (layer,) = darr.dask.layers.values()
    assert isinstance(layer, LaminaGraphLayer) and not layer.is_materialized()
    assert layer.get_output_keys() == {(darr.name,)}
    assert not layer.is_materialized()
    assert darr.compute() == 4.0 * 200 * 200
    assert layer.is_materialized()


def test_dask_operations_build_on_a_lamina_graph():
    x = np.linspace(-1, 1, 60).reshape(6, 10)
    darr = la.from_array(x, chunks=(4, 3)).T.to_dask()
    np.testing.assert_allclose((da.exp(darr) @ darr.T).compute(), np.exp(x.T) @ x)


def test_a_lamina_plan_runs_on_a_distributed_dask_cluster():
    distributed = pytest.importorskip("distributed")
    x = np.arange(300.0).reshape(30, 10)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        got = client.compute((la.from_array(x, chunks=(7, 4)) ** 2).sum(axis=1).to_dask())
        np.testing.assert_array_equal(got.result(timeout=60), (x ** 2).sum(axis=1))


def test_from_dask_rejects_what_it_cannot_wrap():
    with pytest.raises(TypeError, match="dask.array.Array"):
        la.from_dask(np.arange(3))
    unknown = da.arange(10, chunks=3)
    unknown = unknown[unknown > 4]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        la.from_dask(unknown)
