"""Peak memory of shuffles against the data they move: lamina beside dask's p2p shuffle.

Run:  python benchmarks/bench_shuffle.py [--rows 4000000 --row-groups 32 --threads 2]

A parquet file of ``--rows`` rows (an int64 key drawn from ``rows`` values, two
float columns) is shuffled two ways, each engine in a fresh process so
that peak RSS is the query's own:

* ``sort``: ``sort_values("x")`` (a range shuffle);
* ``merge``: a hash join of the table with its key and one column.

Neither result is gathered: each output partition is reduced to its row
count, a sum and whether it is sorted, checked equal across engines and
against the data. lamina runs on its embedded runner (shuffle pieces in a
temporary folder on disk), once more with the pieces held in memory as
before (``lamina, in memory``), and dask.dataframe runs with
``shuffle_method="p2p"`` on an in-process distributed cluster with the
same threads (p2p needs the distributed scheduler; in-process keeps one
process to measure). The table gives wall time, peak RSS, peak RSS above
the process after its imports, and those over the in-memory size of the
data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ENGINES = ("lamina", "lamina, in memory", "dask p2p")
QUERIES = ("sort", "merge")


def generate(path: str, rows: int, row_groups: int) -> int:
    """The table as parquet; returns its bytes in memory."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"k": rng.integers(0, rows, rows),
                          "x": rng.standard_normal(rows), "y": rng.standard_normal(rows)})
    frame.to_parquet(path, row_group_size=max(rows // row_groups, 1), index=False)
    return int(frame.memory_usage(deep=True).sum())


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def digest(part: pd.DataFrame) -> pd.DataFrame:
    """Rows, the sum of ``y``, and whether ``x`` is sorted, for one partition."""
    return pd.DataFrame({"rows": [len(part)], "total": [float(part["y"].sum())],
                         "ordered": [bool(part["x"].is_monotonic_increasing)]})


def summary(parts: pd.DataFrame, query: str) -> dict:
    return {"rows": int(parts["rows"].sum()), "total": round(float(parts["total"].sum()), 6),
            "ordered": bool(parts["ordered"].all()) if query == "sort" else None}


def run_lamina(path: str, query: str, threads: int, in_memory: bool) -> dict:
    import lamina.dataframe as ld

    if in_memory:
        import lamina.layers.frame.shuffle as shuffle

        # the split's pieces stay in memory, a list as its block
        shuffle.write_split = lambda ordered, cuts: [ordered.iloc[cuts[j]:cuts[j + 1]]
                                                     for j in range(len(cuts) - 1)]
    df = ld.read_parquet(path)
    if query == "sort":
        shuffled = df.sort_values("x")
    else:
        shuffled = df.merge(df[["k", "y"]].rename(columns={"y": "z"}), on="k",
                            broadcast=False).assign(y=lambda f: f.z)
    parts = shuffled.map_partitions(digest, meta=digest(df._meta))
    return summary(parts.compute(nthreads=threads), query)


def run_dask(path: str, query: str, threads: int) -> dict:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=threads, processes=False,
                      dashboard_address=None, memory_limit=0) as cluster, Client(cluster):
        with dask.config.set({"dataframe.shuffle.method": "p2p"}):
            df = dd.read_parquet(path, split_row_groups=True)
            if query == "sort":
                shuffled = df.sort_values("x")
            else:
                right = df[["k", "y"]].rename(columns={"y": "z"})
                shuffled = df.merge(right, on="k", shuffle_method="p2p")
                shuffled = shuffled.assign(y=shuffled.z)
            parts = shuffled.map_partitions(digest, meta=digest(df._meta))
            return summary(parts.compute(), query)


def one(engine: str, query: str, path: str, threads: int) -> dict:
    if engine.startswith("lamina"):
        import lamina.dataframe  # noqa: F401
    else:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    base = peak_mib()
    start = time.perf_counter()
    if engine == "dask p2p":
        result = run_dask(path, query, threads)
    else:
        result = run_lamina(path, query, threads, in_memory=engine != "lamina")
    return {"seconds": time.perf_counter() - start, "peak": peak_mib(), "base": base,
            **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--row-groups", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", nargs=3, metavar=("ENGINE", "QUERY", "PATH"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one[:2], args.one[2], args.threads)))
        return
    if args.generate:
        print(generate(args.generate, args.rows, args.row_groups))
        return
    folder = tempfile.mkdtemp(prefix="bench-shuffle-")
    path = os.path.join(folder, "table.parquet")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    # generated in a process of its own: Linux keeps a peak RSS across fork and exec
    made = subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--row-groups",
                           str(args.row_groups), "--generate", path], capture_output=True,
                          text=True, env=env, check=True)
    data_mib = int(made.stdout.strip().splitlines()[-1]) / 2**20
    print(f"{args.rows:,} rows, {data_mib:.0f} MiB in memory, {args.row_groups} partitions, "
          f"{args.threads} threads")
    print(f"{'query':<6} {'engine':<18} {'s':>7} {'peak MiB':>9} {'above base':>11} "
          f"{'/ data':>7} {'rows':>10} {'ordered':>8}")
    results = {}
    for query in QUERIES:
        for engine in ENGINES:
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads),
                                  "--one", engine, query, path], capture_output=True,
                                 text=True, env=env)
            if out.returncode:
                print(f"{query:<6} {engine:<18} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = results[query, engine] = json.loads(out.stdout.strip().splitlines()[-1])
            above = r["peak"] - r["base"]
            print(f"{query:<6} {engine:<18} {r['seconds']:7.2f} {r['peak']:9.0f} {above:11.0f} "
                  f"{above / data_mib:7.2f} {r['rows']:>10,} {str(r['ordered']):>8}")
        same = {(results[query, e]["rows"], results[query, e]["ordered"])
                for e in ENGINES if (query, e) in results}
        totals = [results[query, e]["total"] for e in ENGINES if (query, e) in results]
        agree = len(same) == 1 and np.allclose(totals, totals[0], rtol=1e-9)
        mine, theirs = results.get((query, "lamina")), results.get((query, "dask p2p"))
        if mine and theirs:
            print(f"{query:<6} lamina / dask: time {mine['seconds'] / theirs['seconds']:.2f}, "
                  f"peak RSS {mine['peak'] / theirs['peak']:.2f}, above base "
                  f"{(mine['peak'] - mine['base']) / (theirs['peak'] - theirs['base']):.2f}; "
                  f"results agree: {agree}")


if __name__ == "__main__":
    main()
