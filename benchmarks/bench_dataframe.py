"""TPC-H-style queries: lamina.dataframe beside dask.dataframe and DuckDB.

Run:  python benchmarks/bench_dataframe.py [--rows 2000000 --threads 2]

DuckDB's ``tpch`` extension needs a download, so the tables come from a
generator of the same shape (``lineitem`` and ``orders`` columns that Q1,
Q3 and Q6 use, uniform keys and dates), written as parquet with row
groups of ``--row-group`` rows. Each engine runs each query in a fresh
process (so peak RSS is that query's), with ``--threads`` threads; every
result is checked equal to DuckDB's on the same files before its time is
reported (the generator runs in a process of its own too, since Linux
keeps a peak RSS across fork and exec). The table prints wall time, peak RSS, and lamina's ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

QUERIES = ("q1", "q3", "q6")
CUTOFF = "1998-09-02"


def generate(folder: str, rows: int, row_group: int) -> None:
    """lineitem (``rows`` rows) and orders (rows / 4) as parquet folders."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n_orders = max(rows // 4, 1)
    start = np.datetime64("1992-01-01")
    orders = pd.DataFrame({
        "o_orderkey": np.arange(n_orders, dtype="int64"),
        "o_custkey": rng.integers(0, n_orders // 10 + 1, n_orders),
        "o_orderdate": start + rng.integers(0, 2400, n_orders).astype("timedelta64[D]"),
        "o_shippriority": rng.integers(0, 2, n_orders),
        "o_orderpriority": pd.array(rng.choice(["1-URGENT", "2-HIGH", "3-MEDIUM"], n_orders),
                                    dtype="str"),
    })
    lineitem = pd.DataFrame({
        "l_orderkey": np.sort(rng.integers(0, n_orders, rows)),
        "l_quantity": rng.integers(1, 51, rows).astype("float64"),
        "l_extendedprice": rng.uniform(900, 105000, rows).round(2),
        "l_discount": rng.integers(0, 11, rows) / 100,
        "l_tax": rng.integers(0, 9, rows) / 100,
        "l_returnflag": pd.array(rng.choice(["A", "N", "R"], rows), dtype="str"),
        "l_linestatus": pd.array(rng.choice(["F", "O"], rows), dtype="str"),
        "l_shipdate": start + rng.integers(0, 2500, rows).astype("timedelta64[D]"),
    })
    for name, frame in (("lineitem", lineitem), ("orders", orders)):
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                       os.path.join(folder, name, "part.0.parquet"), row_group_size=row_group)


def duckdb_query(name: str, folder: str) -> pd.DataFrame:
    import duckdb

    li, od = (f"read_parquet('{folder}/{t}/*.parquet')" for t in ("lineitem", "orders"))
    sql = {
        "q1": f"""select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty,
                  sum(l_extendedprice) as sum_base_price,
                  sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
                  avg(l_quantity) as avg_qty, avg(l_discount) as avg_disc,
                  count(*) as count_order
                  from {li} where l_shipdate <= date '{CUTOFF}'
                  group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus""",
        "q3": f"""select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue
                  from {li} join {od} on l_orderkey = o_orderkey
                  where o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15'
                  group by l_orderkey order by revenue desc, l_orderkey limit 10""",
        "q6": f"""select sum(l_extendedprice * l_discount) as revenue from {li}
                  where l_shipdate >= date '1994-01-01' and l_shipdate < date '1995-01-01'
                  and l_discount >= 0.05 and l_discount <= 0.07 and l_quantity < 24""",
    }[name]
    return duckdb.connect(config={"threads": THREADS}).sql(sql).df()


def frame_query(name: str, folder: str, dd: object) -> object:
    """The query on a dataframe library with dask's names (lamina.dataframe or dask)."""
    li = dd.read_parquet(os.path.join(folder, "lineitem"))
    if name == "q1":
        li = li[li.l_shipdate <= pd.Timestamp(CUTOFF)]
        li = li.assign(disc_price=li.l_extendedprice * (1 - li.l_discount))
        return li.groupby(["l_returnflag", "l_linestatus"]).agg(
            sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
            sum_disc_price=("disc_price", "sum"), avg_qty=("l_quantity", "mean"),
            avg_disc=("l_discount", "mean"), count_order=("l_quantity", "count"))
    if name == "q3":
        od = dd.read_parquet(os.path.join(folder, "orders"))
        od = od[od.o_orderdate < pd.Timestamp("1995-03-15")][["o_orderkey"]]
        li = li[li.l_shipdate > pd.Timestamp("1995-03-15")]
        li = li.assign(revenue=li.l_extendedprice * (1 - li.l_discount))
        joined = li[["l_orderkey", "revenue"]].merge(od, left_on="l_orderkey",
                                                     right_on="o_orderkey")
        return joined.groupby("l_orderkey").agg(revenue=("revenue", "sum"))
    li = li[(li.l_shipdate >= pd.Timestamp("1994-01-01"))
            & (li.l_shipdate < pd.Timestamp("1995-01-01"))
            & (li.l_discount >= 0.05) & (li.l_discount <= 0.07) & (li.l_quantity < 24)]
    return (li.l_extendedprice * li.l_discount).sum()


def finish(name: str, result: object) -> pd.DataFrame:
    """A computed result in DuckDB's shape."""
    if name == "q1":
        return result.reset_index().sort_values(["l_returnflag", "l_linestatus"])
    if name == "q3":
        out = result.reset_index().sort_values(["revenue", "l_orderkey"],
                                               ascending=[False, True])
        return out.head(10)
    return pd.DataFrame({"revenue": [float(result)]})


def run_one(engine: str, name: str, folder: str) -> dict:
    import resource

    started = time.perf_counter()
    if engine == "duckdb":
        result = duckdb_query(name, folder)
    elif engine == "dask":
        import dask
        import dask.dataframe as dd

        with dask.config.set(scheduler="threads", num_workers=THREADS):
            result = finish(name, frame_query(name, folder, dd).compute())
    else:
        import lamina.dataframe as ld

        result = finish(name, frame_query(name, folder, ld).compute(nthreads=THREADS))
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path = os.path.join(folder, f"{engine}-{name}.parquet")
    result.reset_index(drop=True).to_parquet(path)
    return {"seconds": seconds, "rss_mib": rss, "result": path}


def same(got: pd.DataFrame, want: pd.DataFrame) -> bool:
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        return False
    for column in want.columns:
        a, b = got[column], want[column]
        if a.dtype.kind in "fiu" and b.dtype.kind in "fiu":
            if not np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9):
                return False
        elif not (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all():
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--row-group", type=int, default=250_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return
    if args.generate:
        generate(args.generate, args.rows, args.row_group)
        return
    folder = tempfile.mkdtemp(prefix="lamina-tpch-")
    # in a child: Linux keeps a process's peak RSS across fork and exec, so this
    # process stays small for the children it starts
    subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--row-group",
                    str(args.row_group), "--generate", folder], check=True, env=ENV)
    print(f"lineitem {args.rows:,} rows, orders {args.rows // 4:,}; {args.threads} threads; "
          "each cell: wall seconds / peak RSS MiB (fresh process)")
    print(f"{'query':6} {'lamina':>16} {'dask':>16} {'duckdb':>16} "
          f"{'time/dask':>10} {'rss/dask':>9} {'time/duckdb':>12}  equal")
    for name in QUERIES:
        cells = {}
        for engine in ("lamina", "dask", "duckdb"):
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads),
                                  "--child", engine, name, folder],
                                 capture_output=True, text=True, check=True, env=ENV)
            cells[engine] = json.loads(out.stdout.strip().splitlines()[-1])
        want = pd.read_parquet(cells["duckdb"]["result"])
        equal = all(same(pd.read_parquet(cells[e]["result"]), want) for e in ("lamina", "dask"))
        la, da, du = (cells[e] for e in ("lamina", "dask", "duckdb"))
        print(f"{name:6} {la['seconds']:8.2f}/{la['rss_mib']:6.0f} "
              f"{da['seconds']:8.2f}/{da['rss_mib']:6.0f} {du['seconds']:8.2f}/{du['rss_mib']:6.0f} "
              f"{la['seconds'] / da['seconds']:10.2f} {la['rss_mib'] / da['rss_mib']:9.2f} "
              f"{la['seconds'] / du['seconds']:12.2f}  {equal}")


THREADS = 2
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))

if __name__ == "__main__":
    main()
