"""The 22 TPC-H queries: lamina.dataframe beside dask.dataframe, DuckDB and Polars.

Run:  python benchmarks/bench_tpch.py --scale 1 [--queries 1,3,6] [--data DIR] [--json FILE]
      python benchmarks/bench_tpch.py --show peers.json lamina.json


The tables come from ``tpchgen-cli`` (``tpch_data.py``; kept in ``--data``
between runs). Each engine runs each query in a fresh process with
``--threads`` threads (so peak RSS is that query's own, imports included;
the time is building and computing the query, imports excluded). lamina
and dask run ``tpch_queries.py`` (the same code for both); DuckDB runs the
SQL of ``tpch_sql.py``, and Polars the same SQL through ``polars.SQLContext``
on lazy scans (skipped when Polars is not installed). Every result is
checked equal to DuckDB's before the row is printed; a run that fails or
passes ``--timeout`` shows as ``fail``/``timeout``.

``--json FILE`` saves the rows as they come (with the commit, the date and
the machine's load) and each result beside it (``FILE`` without ``.json``,
plus ``-results/``), so a later run of one engine on newer code, say
``--engines lamina --reference peers.json``, is checked against the saved
DuckDB results; ``--show A.json B.json`` prints one table from saved runs,
a later file's cells replacing an earlier one's.
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


def header(engines: list[str]) -> str:
    return (f"{'query':5} " + " ".join(f"{e:>15}" for e in engines)
            + f" {'time/dask':>9} {'rss/dask':>8} {'time/duckdb':>11}")


def row(n: int, cells: dict, engines: list[str]) -> str:
    lamina, dask, duck = (cells.get(e) for e in ("lamina", "dask", "duckdb"))
    return (f"q{n:<4} " + " ".join(_cell(cells.get(e)) for e in engines)
            + f" {_fmt(_ratio(lamina, dask, 'seconds'), 9)}"
            + f" {_fmt(_ratio(lamina, dask, 'rss_mib'), 8)}"
            + f" {_fmt(_ratio(lamina, duck, 'seconds'), 11)}")


def summary(rows: dict[int, dict]) -> list[str]:
    """The issue's three targets over ``rows``: lamina's geometric mean of time over
    dask's, its peak RSS against dask's, its time against 3 x DuckDB's."""
    times, over_rss, over_duck, missing = [], [], [], []
    for n, cells in sorted(rows.items()):
        lamina, dask, duck = (cells.get(e) for e in ("lamina", "dask", "duckdb"))
        if not lamina or lamina["status"] != "ok" or not lamina.get("equal", True):
            missing.append(f"q{n}")
            continue
        ratio = _ratio(lamina, dask, "seconds")
        if ratio is not None:
            times.append(ratio)
        rss = _ratio(lamina, dask, "rss_mib")
        if rss is not None and rss > 1:
            over_rss.append(f"q{n}")
        duck_ratio = _ratio(lamina, duck, "seconds")
        if duck_ratio is not None and duck_ratio > 3:
            over_duck.append(f"q{n}")
    lines = []
    if times:
        geomean = math.exp(sum(math.log(r) for r in times) / len(times))
        lines.append(f"geometric mean of lamina's time / dask's over {len(times)} queries: "
                     f"{geomean:.2f} (target <= 0.5)")
    lines.append(f"lamina's peak RSS above dask's on: {', '.join(over_rss) or 'none'}")
    lines.append(f"lamina's time over 3 x DuckDB's on: {', '.join(over_duck) or 'none'}")
    if missing:
        lines.append(f"lamina failed, timed out or differs from DuckDB on: {', '.join(missing)}")
    return lines


def machine() -> dict:
    """What a saved run was measured on: commit, time, load."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD") + ("+changes" if git(
                "status", "--porcelain", "--untracked-files=no") else ""),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": [round(x, 1) for x in os.getloadavg()], "cores": os.cpu_count()}


def load_saved(path: str) -> dict:
    with open(path) as f:
        saved = json.load(f)
    saved["rows"] = {int(n): cells for n, cells in saved["rows"].items()}
    return saved


def save(path: str, saved: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({**saved, "rows": {str(n): c for n, c in sorted(saved["rows"].items())}},
                  f, indent=1)
    os.replace(tmp, path)


def results_folder(path: str) -> str:
    return os.path.splitext(path)[0] + "-results"


def show(paths: list[str]) -> None:
    """One table from saved runs; a later file's cells replace an earlier one's."""
    rows: dict[int, dict] = {}
    engines: list[str] = []
    for path in paths:
        saved = load_saved(path)
        seen = sorted({e for cells in saved["rows"].values() for e in cells},
                      key=ENGINES.index)
        for run in saved["runs"]:
            print(f"{path}: SF{saved['scale']:g}, {saved['threads']} threads, {', '.join(seen)}; "
                  f"commit {run['commit']}, {run['date']}, load {run['load']} -> "
                  f"{run.get('load_after', '?')} on {run['cores']} cores")
        engines += [e for e in seen if e not in engines]
        for n, cells in saved["rows"].items():
            rows.setdefault(n, {}).update(cells)
    engines.sort(key=ENGINES.index)
    print(header(engines))
    for n in sorted(rows):
        print(row(n, rows[n], engines))
    print("\n".join(summary(rows)))


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
    parser.add_argument("--json", help="save the rows to this file (added to it if it exists)")
    parser.add_argument("--reference", help="a saved run whose DuckDB results check this "
                                            "run's when DuckDB is not among --engines")
    parser.add_argument("--show", nargs="+", metavar="FILE",
                        help="print one table from saved runs and stop")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, n, folder, out = args.child
        print(json.dumps(run_one(engine, int(n), folder, args.threads, out,
                                 args.whole_tables)))
        return
    if args.show:
        show(args.show)
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
    scratch = results_folder(args.json) if args.json else \
        tempfile.mkdtemp(prefix="lamina-tpch-results-")
    os.makedirs(scratch, exist_ok=True)
    saved = {"scale": args.scale, "threads": args.threads, "runs": [], "rows": {}}
    if args.json and os.path.exists(args.json):
        saved = load_saved(args.json)
        if (saved["scale"], saved["threads"]) != (args.scale, args.threads):
            raise SystemExit(f"{args.json} holds SF{saved['scale']:g} with {saved['threads']} "
                             "threads: save this run to another file")
    this_run = machine()
    saved["runs"].append(this_run)
    reference_folder = results_folder(args.reference) if args.reference else scratch
    print(f"TPC-H SF{args.scale:g} ({folder}); {args.threads} threads; cells: wall seconds / "
          "peak RSS MiB, each in a fresh process; '!' = result differs from DuckDB's"
          + (f"; not installed: {', '.join(skipped)}" if skipped else "")
          + f"; commit {this_run['commit']}, load {this_run['load']}")
    print(header(engines))
    for n in queries:
        cells = {e: child(e, n, folder, args.threads, args.timeout, scratch,
                          args.whole_tables) for e in engines}
        reference = os.path.join(reference_folder, f"duckdb-q{n}.parquet")
        if "duckdb" in cells and cells["duckdb"]["status"] != "ok":
            reference = None
        if reference and os.path.exists(reference):
            want = pd.read_parquet(reference)
            for engine, cell in cells.items():
                if cell["status"] == "ok" and engine != "duckdb":
                    why = tpch_check.same(pd.read_parquet(cell["result"]), want)
                    cell["equal"] = why is None
                    if why:
                        print(f"  q{n} {engine}: {why}")
        for cell in cells.values():
            cell.pop("result", None)
        print(row(n, cells, engines), flush=True)
        saved["rows"].setdefault(n, {}).update(cells)
        if args.json:
            this_run["load_after"] = [round(x, 1) for x in os.getloadavg()]
            save(args.json, saved)
    print("\n".join(summary({n: saved["rows"][n] for n in queries})))


if __name__ == "__main__":
    main()
