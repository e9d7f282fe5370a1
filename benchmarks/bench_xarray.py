"""A climatology workflow in xarray on lamina vs xarray on Dask: time and peak RSS.

    python benchmarks/bench_xarray.py                          # 8 years daily, 90 x 180, float64
    python benchmarks/bench_xarray.py --days 730 --lat 45 --lon 90 --store small.zarr

Writes (once) a zarr store of daily temperatures, chunked 100 days x the
whole globe. Then, each engine in a fresh process (so peak RSS is its own),
opens it with ``xr.open_zarr`` (``chunked_array_type="lamina"`` or Dask's
default) and computes together: the monthly climatology, the anomalies'
area-weighted spatial mean (``groupby("time.month")``, ``weighted``) and its
30-day rolling mean. Both engines use every core; the results are compared
with each other.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

CHUNK_DAYS = 100


def write_store(path: Path, days: int, lat: int, lon: int) -> None:
    """Daily temperatures with a seasonal cycle and noise, written chunk by chunk."""
    import dask.array as da
    import pandas as pd
    import xarray as xr
    import zarr

    lats = np.linspace(-89, 89, lat)
    empty = da.zeros((days, lat, lon), chunks=(CHUNK_DAYS, lat, lon))
    xr.Dataset({"tas": (("time", "lat", "lon"), empty)},
               coords={"time": pd.date_range("2000-01-01", periods=days, freq="D"),
                       "lat": lats, "lon": np.linspace(0, 360, lon, endpoint=False)},
               ).to_zarr(path, mode="w", compute=False, consolidated=False)
    array = zarr.open_array(store=str(path), path="tas", mode="r+")
    rng = np.random.default_rng(0)
    for start in range(0, days, CHUNK_DAYS):
        stop = min(start + CHUNK_DAYS, days)
        day = np.arange(start, stop)[:, None, None]
        season = 15 * np.cos(2 * np.pi * day / 365.25) * np.sin(np.deg2rad(lats))[:, None]
        array[start:stop] = 288 + season + rng.standard_normal((stop - start, lat, lon))


def workflow(ds):
    monthly = ds.tas.groupby("time.month")
    climatology = monthly.mean()
    spatial = (monthly - climatology).weighted(np.cos(np.deg2rad(ds.lat))).mean(("lat", "lon"))
    return climatology, spatial.rolling(time=30, center=True).mean()


def run_engine(engine: str, store: str) -> dict:
    import xarray as xr

    if engine == "lamina":
        from xarray.namedarray import parallelcompat

        from lamina.interop.xarray_chunkmanager import LaminaChunkManager

        parallelcompat.list_chunkmanagers().setdefault("lamina", LaminaChunkManager())
        options = {"chunked_array_type": "lamina", "chunks": {}}
    else:
        options = {"chunks": {}}
    start = time.perf_counter()
    ds = xr.open_zarr(store, consolidated=False, **options)
    climatology, rolling = workflow(ds)
    result = xr.Dataset({"climatology": climatology, "rolling": rolling}).compute()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "peak_mib": peak / 2**20,
            "climatology": result["climatology"].values.tolist(),
            "rolling": result["rolling"].values.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=2920)
    parser.add_argument("--lat", type=int, default=90)
    parser.add_argument("--lon", type=int, default=180)
    parser.add_argument("--store", type=Path, default=Path("bench_xarray.zarr"))
    parser.add_argument("--run", choices=("lamina", "dask"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_engine(args.run, str(args.store))))
        return
    if not (args.store / "tas").exists():
        write_store(args.store, args.days, args.lat, args.lon)
    nbytes = args.days * args.lat * args.lon * 8
    rows = {}
    for engine in ("lamina", "dask"):
        out = subprocess.run([sys.executable, __file__, "--run", engine, "--store",
                              str(args.store)], capture_output=True, text=True, check=True)
        rows[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("climatology", "rolling"):
        np.testing.assert_allclose(np.array(rows["lamina"][key], dtype=float),
                                   np.array(rows["dask"][key], dtype=float),
                                   rtol=1e-10, atol=1e-10, equal_nan=True)
    print(f"\nclimatology, weighted spatial mean of anomalies, 30-day rolling mean; store "
          f"{args.days} days x {args.lat} x {args.lon} float64 ({nbytes / 2**20:,.0f} MiB), "
          f"chunks {CHUNK_DAYS} days")
    print("| engine | seconds | peak RSS MiB |")
    print("|---|---:|---:|")
    for engine, row in rows.items():
        print(f"| xarray on {engine} | {row['seconds']:.2f} | {row['peak_mib']:.0f} |")
    lam, dsk = rows["lamina"], rows["dask"]
    print(f"| **lamina ÷ Dask** | **{lam['seconds'] / dsk['seconds']:.2f}** | "
          f"**{lam['peak_mib'] / dsk['peak_mib']:.2f}** |")


if __name__ == "__main__":
    main()
