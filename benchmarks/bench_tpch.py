"""The 22 TPC-H queries: lamina.dataframe beside dask.dataframe, DuckDB and Polars.

Run:  python benchmarks/bench_tpch.py --scale 1 [--queries 1,3,6] [--data DIR]

The tables come from ``tpchgen-cli`` (``tpch_data.py``; kept in ``--data``
between runs). Each engine runs each query in a fresh process with
``--threads`` threads (so peak RSS is that query's own, imports included;
the time is building and computing the query, imports excluded). lamina
and dask run ``tpch_queries.py`` (the same code for both); DuckDB runs the
SQL of ``tpch_sql.py``, and Polars the same SQL through ``polars.SQLContext``
on lazy scans (skipped when Polars is not installed). Every result is
checked equal to DuckDB's before the row is printed; a run that fails or
passes ``--timeout`` shows as ``fail``/``timeout``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENGINES = ("lamina", "dask", "duckdb", "polars")


def run_one(engine: str, n: int, folder: str, threads: int, out: str,
            whole_tables: bool = False) -> dict:
    """One query on one engine, in this (fresh) process; its result saved to ``out``."""
    import resource

    sys.path.insert(0, HERE)
    import tpch_queries
    import tpch_sql

    if engine == "lamina":
        # imports are not timed (dask's neither): compute() would import these
        import pyarrow.dataset  # noqa: F401

        import lamina.array  # noqa: F401
        import lamina.client  # noqa: F401
        import lamina.compute  # noqa: F401
        import lamina.dataframe as ld
        import lamina.optimizer.rules  # noqa: F401

        started = time.perf_counter()
        result = tpch_queries.run(n, folder, ld, whole_tables, nthreads=threads)
    elif engine == "dask":
        import dask
        import dask.dataframe as dd

        dask.config.set(scheduler="threads", num_workers=threads)
        started = time.perf_counter()
        result = tpch_queries.run(n, folder, dd, whole_tables)
    elif engine == "duckdb":
        con = tpch_sql.connect(folder, threads)
        started = time.perf_counter()
        result = tpch_sql.duckdb_result(n, folder, con=con)
    else:
        import polars as pl

        context = pl.SQLContext({t: pl.scan_parquet(os.path.join(folder, t, "*.parquet"))
                                 for t in os.listdir(folder) if not t.startswith(".")})
        started = time.perf_counter()
        result = context.execute(tpch_sql.SQL[n]).collect().to_pandas()
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.to_parquet(out)
    return {"seconds": seconds, "rss_mib": rss}


def child(engine: str, n: int, folder: str, threads: int, timeout: float,
          scratch: str, whole_tables: bool = False) -> dict:
    out = os.path.join(scratch, f"{engine}-q{n}.parquet")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH",
                                                                                  "")]),
               POLARS_MAX_THREADS=str(threads), OMP_NUM_THREADS="1")
    command = [sys.executable, __file__, "--child", engine, str(n), folder, out,
               "--threads", str(threads)] + (["--whole-tables"] if whole_tables else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    if done.returncode != 0:
        return {"status": "fail", "error": done.stderr.strip().splitlines()[-1:]}
    cell = json.loads(done.stdout.strip().splitlines()[-1])
    return {**cell, "status": "ok", "result": out}


def available(engine: str) -> bool:
    import importlib.util

    module = {"lamina": "lamina", "dask": "dask.dataframe", "duckdb": "duckdb",
              "polars": "polars"}[engine]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _cell(cell: dict | None) -> str:
    if cell is None:
        return f"{'-':>15}"
    if cell["status"] != "ok":
        return f"{cell['status']:>15}"
    return f"{cell['seconds']:7.2f}/{cell['rss_mib']:6.0f}{'' if cell.get('equal', True) else '!'}"


def _ratio(a: dict | None, b: dict | None, key: str) -> float | None:
    if not a or not b or a["status"] != "ok" or b["status"] != "ok":
        return None
    return a[key] / b[key]


def _fmt(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--data", help="folder of the tables (default: a temporary one)")
    parser.add_argument("--queries", default=",".join(str(n) for n in range(1, 23)))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds before a query's process is stopped")
    parser.add_argument("--whole-tables", action="store_true",
                        help="reads ignore the columns the queries name (the optimizer "
                             "must find them)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, n, folder, out = args.child
        print(json.dumps(run_one(engine, int(n), folder, args.threads, out,
                                 args.whole_tables)))
        return
    sys.path[:0] = [HERE, ROOT]
    import pandas as pd
    import tpch_check
    import tpch_data
    import tpch_sql

    folder = args.data or os.path.join(tempfile.gettempdir(), f"lamina-tpch-sf{args.scale:g}")
    queries = [int(q) for q in args.queries.split(",")]
    tables = [t for t in tpch_data.TABLES
              if any(re.search(rf"\b{t}\b", tpch_sql.SQL[n]) for n in queries)]
    # generated in a child process: Linux keeps a peak RSS across fork and exec
    subprocess.run([sys.executable, tpch_data.__file__, "--scale", str(args.scale), "--out",
                    folder, "--tables", ",".join(tables)], check=True)
    engines = [e for e in args.engines.split(",") if available(e)]
    skipped = sorted(set(args.engines.split(",")) - set(engines))
    scratch = tempfile.mkdtemp(prefix="lamina-tpch-results-")
    print(f"TPC-H SF{args.scale:g} ({folder}); {args.threads} threads; cells: wall seconds / "
          "peak RSS MiB, each in a fresh process; '!' = result differs from DuckDB's"
          + (f"; not installed: {', '.join(skipped)}" if skipped else ""))
    print(f"{'query':5} " + " ".join(f"{e:>15}" for e in engines)
          + f" {'time/dask':>9} {'rss/dask':>8} {'time/duckdb':>11}")
    time_ratios = []
    for n in queries:
        cells = {e: child(e, n, folder, args.threads, args.timeout, scratch,
                          args.whole_tables) for e in engines}
        reference = cells.get("duckdb")
        if reference and reference["status"] == "ok":
            want = pd.read_parquet(reference["result"])
            for engine, cell in cells.items():
                if cell["status"] == "ok" and engine != "duckdb":
                    why = tpch_check.same(pd.read_parquet(cell["result"]), want)
                    cell["equal"] = why is None
                    if why:
                        print(f"  q{n} {engine}: {why}")
        lamina, dask, duck = (cells.get(e) for e in ("lamina", "dask", "duckdb"))
        over_dask = _ratio(lamina, dask, "seconds")
        if over_dask:
            time_ratios.append(over_dask)
        print(f"q{n:<4} " + " ".join(_cell(cells[e]) for e in engines)
              + f" {_fmt(over_dask, 9)} {_fmt(_ratio(lamina, dask, 'rss_mib'), 8)}"
              + f" {_fmt(_ratio(lamina, duck, 'seconds'), 11)}", flush=True)
    if time_ratios:
        geomean = math.exp(sum(math.log(r) for r in time_ratios) / len(time_ratios))
        print(f"geometric mean of lamina's time / dask's over {len(time_ratios)} queries: "
              f"{geomean:.2f}")


if __name__ == "__main__":
    main()
