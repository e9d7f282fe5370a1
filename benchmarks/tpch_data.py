"""TPC-H tables as parquet, from ``tpchgen-cli``, in types every engine reads alike.

``tpchgen-cli`` writes decimals, ``date32`` and ``string_view``; pandas
reads decimals as Python objects and dates as ``datetime.date``, so the
tables are rewritten once with money as ``float64``, dates as
``timestamp[us]`` and text as ``string`` (what the TPC-H benchmarks of
dask.dataframe and Polars read too). Each table becomes a folder of files
of at most ``rows_per_file`` rows, one row group each:

    python benchmarks/tpch_data.py --scale 1 --out tpch-sf1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders",
          "lineitem")


def tpchgen_available() -> bool:
    return shutil.which("tpchgen-cli") is not None


def _target_type(field_type):
    import pyarrow as pa

    if pa.types.is_decimal(field_type):
        return pa.float64()
    if pa.types.is_date(field_type):
        return pa.timestamp("us")
    if pa.types.is_string(field_type) or pa.types.is_large_string(field_type) or \
            str(field_type) == "string_view":
        return pa.string()
    return field_type


def _rewrite(source: str, folder: str, rows_per_file: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source)
    schema = pa.schema([pa.field(f.name, _target_type(f.type), f.nullable)
                        for f in reader.schema_arrow])
    os.makedirs(folder, exist_ok=True)
    pending, count, index = [], 0, 0

    def flush() -> None:
        nonlocal pending, count, index
        table = pa.Table.from_batches(pending, schema=reader.schema_arrow).cast(schema)
        pq.write_table(table, os.path.join(folder, f"part.{index:04d}.parquet"),
                       row_group_size=max(len(table), 1))
        pending, count, index = [], 0, index + 1

    for batch in reader.iter_batches(batch_size=min(rows_per_file, 262_144)):
        while len(batch):
            take = batch.slice(0, rows_per_file - count)
            pending.append(take)
            count += len(take)
            batch = batch.slice(len(take))
            if count == rows_per_file:
                flush()
    if pending or index == 0:
        flush()


def generate(out: str, scale: float, rows_per_file: int = 500_000,
             tables: tuple = TABLES) -> str:
    """The ``tables`` at ``scale`` under ``out/<table>/`` (those already there are kept)."""
    todo = [t for t in tables if not os.path.exists(os.path.join(out, f".{t}.done"))]
    if not todo:
        return out
    if not tpchgen_available():
        raise FileNotFoundError("tpchgen-cli is not installed: pip install tpchgen-cli")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as raw:
        subprocess.run(["tpchgen-cli", "parquet", "-s", str(scale), "-o", raw,
                        "--tables", ",".join(todo)], check=True, capture_output=True)
        for table in todo:
            target = os.path.join(out, table)
            shutil.rmtree(target, ignore_errors=True)
            _rewrite(os.path.join(raw, f"{table}.parquet"), target, rows_per_file)
            open(os.path.join(out, f".{table}.done"), "w").close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows-per-file", type=int, default=500_000)
    parser.add_argument("--tables", default=",".join(TABLES))
    args = parser.parse_args()
    generate(args.out, args.scale, args.rows_per_file, tuple(args.tables.split(",")))


if __name__ == "__main__":
    main()
