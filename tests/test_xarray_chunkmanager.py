"""xarray with ``chunked_array_type="lamina"``: a climatology workflow on a zarr
store (monthly climatology and anomalies, a weighted spatial mean, a rolling
mean), ``apply_ufunc(dask="parallelized")``, ``chunk``, ``to_zarr`` and
``compute``, each against the same calls on NumPy-backed xarray."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import lamina.array as la

xr = pytest.importorskip("xarray", reason="the chunk manager is for xarray")
pd = pytest.importorskip("pandas", reason="xarray's time coordinates need pandas")
from xarray.namedarray import parallelcompat  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def declared_entry_point() -> EntryPoint:
    """The chunk manager entry point exactly as pyproject.toml declares it."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    value = project["entry-points"]["xarray.chunkmanagers"]["lamina"]
    return EntryPoint(name="lamina", value=value, group="xarray.chunkmanagers")


@pytest.fixture(scope="module", autouse=True)
def lamina_chunk_manager():
    """Registered as an installed lamina registers it (also when run from a checkout)."""
    managers = parallelcompat.list_chunkmanagers()
    added = "lamina" not in managers
    if added:
        managers.update(parallelcompat.load_chunkmanagers([declared_entry_point()]))
    yield managers["lamina"]
    if added:
        managers.pop("lamina", None)


def climate(n_days: int = 730, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    time = pd.date_range("2001-01-01", periods=n_days, freq="D")
    season = 10 * np.cos(2 * np.pi * np.arange(n_days) / 365.25)[:, None, None]
    tas = 280 + season + rng.standard_normal((n_days, 6, 8))
    tas[rng.random(tas.shape) < 0.01] = np.nan  # missing observations
    return xr.Dataset({"tas": (("time", "lat", "lon"), tas)},
                      coords={"time": time, "lat": np.linspace(-75, 75, 6),
                              "lon": np.arange(0.0, 360.0, 45.0)})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("climate") / "in.zarr"
    climate().chunk({"time": 100, "lat": 3}).to_zarr(path, consolidated=False)
    return path


def workflow(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    monthly = ds.tas.groupby("time.month")
    climatology = monthly.mean()
    anomalies = monthly - climatology
    weights = np.cos(np.deg2rad(ds.lat))
    spatial = anomalies.weighted(weights).mean(("lat", "lon"))
    return {"climatology": climatology, "anomalies": anomalies, "spatial": spatial,
            "rolling": spatial.rolling(time=30, center=True).mean()}


def assert_same(got: xr.DataArray, expected: xr.DataArray) -> None:
    assert isinstance(got.data, np.ndarray) and got.dims == expected.dims
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-12, atol=1e-9,
                               equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got.values), np.isnan(expected.values))


def test_the_entry_point_names_the_lamina_chunk_manager(lamina_chunk_manager):
    from lamina.interop.xarray_chunkmanager import LaminaChunkManager

    assert declared_entry_point().load() is LaminaChunkManager
    assert isinstance(lamina_chunk_manager, LaminaChunkManager)


def test_open_zarr_gives_lamina_arrays_with_the_store_chunks(store):
    ds = xr.open_zarr(store, chunked_array_type="lamina", chunks={}, consolidated=False)
    assert isinstance(ds.tas.data, la.Array)
    assert ds.tas.data.chunks == ((100,) * 7 + (30,), (3, 3), (8,))


def test_the_climatology_workflow_equals_numpy_backed_xarray(store):
    reference = workflow(xr.open_zarr(store, consolidated=False).load())
    lazy = workflow(xr.open_zarr(store, chunked_array_type="lamina", chunks={},
                                 consolidated=False))
    for name, expected in reference.items():
        assert isinstance(lazy[name].data, la.Array), name
        assert_same(lazy[name].compute(), expected)


def test_chunk_with_lamina_then_compute_equals_numpy():
    ds = climate(120)
    chunked = ds.chunk({"time": 50, "lon": 3}, chunked_array_type="lamina")
    assert isinstance(chunked.tas.data, la.Array)
    assert chunked.tas.chunks == ((50, 50, 20), (6,), (3, 3, 2))
    assert_same((chunked.tas - chunked.tas.mean("time")).compute(),
                ds.tas - ds.tas.mean("time"))


def test_apply_ufunc_parallelized_reduces_and_maps_core_dimensions():
    ds = climate(90)
    chunked = ds.chunk({"time": 40}, chunked_array_type="lamina")
    ranged = xr.apply_ufunc(np.ptp, chunked.tas, input_core_dims=[["lon"]],
                            kwargs={"axis": -1}, dask="parallelized", output_dtypes=[float])
    assert isinstance(ranged.data, la.Array)
    assert_same(ranged.compute(), xr.apply_ufunc(np.ptp, ds.tas, input_core_dims=[["lon"]],
                                                 kwargs={"axis": -1}))
    whole_time = chunked.tas.chunk(time=-1, chunked_array_type="lamina")
    centred = xr.apply_ufunc(lambda a: a - np.nanmean(a, axis=-1, keepdims=True), whole_time,
                             input_core_dims=[["time"]], output_core_dims=[["time"]],
                             dask="parallelized", output_dtypes=[float])
    expected = ds.tas - ds.tas.mean("time")
    assert_same(centred.compute().transpose(*expected.dims), expected)


def test_apply_ufunc_asks_to_rechunk_split_core_dimensions():
    chunked = climate(90).chunk({"time": 40}, chunked_array_type="lamina")
    with pytest.raises(ValueError, match="time"):
        xr.apply_ufunc(np.ptp, chunked.tas, input_core_dims=[["time"]],
                       kwargs={"axis": -1}, dask="parallelized", output_dtypes=[float])


def test_to_zarr_writes_what_numpy_backed_xarray_writes(store, tmp_path):
    lazy = workflow(xr.open_zarr(store, chunked_array_type="lamina", chunks={},
                                 consolidated=False))
    lazy["anomalies"].to_dataset(name="anomalies").to_zarr(tmp_path / "out.zarr",
                                                           consolidated=False)
    expected = workflow(xr.open_zarr(store, consolidated=False).load())["anomalies"]
    written = xr.open_zarr(tmp_path / "out.zarr", consolidated=False).anomalies.load()
    assert_same(written, expected)


def test_numpy_metadata_functions_answer_without_computing():
    x = la.from_array(np.arange(6, dtype=np.int32).reshape(2, 3), chunks=1)
    assert np.result_type(x, np.float32) == np.result_type(np.int32, np.float32)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert np.size(x, 1) == 3 and np.can_cast(x, np.int64)


@pytest.mark.parametrize("axis", [None, 0, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_general_reduction_equals_numpy(lamina_chunk_manager, axis, keepdims):
    x = np.random.default_rng(2).standard_normal((7, 5, 4))
    x[1, 2, 3] = np.nan
    arr = la.from_array(x, chunks=((3, 4), (2, 3), (1, 3)))
    got = lamina_chunk_manager.reduction(arr, np.nanmax, aggregate_func=np.nanmax, axis=axis,
                                         dtype=x.dtype, keepdims=keepdims)
    np.testing.assert_array_equal(got.compute(), np.nanmax(x, axis=axis, keepdims=keepdims))


def test_first_and_last_use_the_general_reduction_like_numpy_backed_xarray():
    ds = climate(60)
    gappy = ds.tas.where(ds.tas.time.dt.day % 7 != 0)
    chunked = gappy.chunk({"time": 9}, chunked_array_type="lamina")
    for name in ("first", "last"):
        got = getattr(chunked.groupby("time.month"), name)()
        assert isinstance(got.data, la.Array), name
        assert_same(got.compute(), getattr(gappy.groupby("time.month"), name)())


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_scan_carries_across_blocks_like_numpy(lamina_chunk_manager, axis):
    x = np.random.default_rng(3).standard_normal((9, 7, 5))
    arr = la.from_array(x, chunks=((2, 4, 3), (3, 4), (1, 2, 2)))
    got = lamina_chunk_manager.scan(np.cumsum, np.add, 0, arr, axis=axis, dtype=x.dtype)
    np.testing.assert_allclose(got.compute(), np.cumsum(x, axis=axis), rtol=1e-12)
