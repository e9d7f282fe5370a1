"""Graph start: from ``compute()`` to the first finished task, lamina beside dask.dataframe.

Run:  python benchmarks/bench_dataframe_start.py [--partitions 2000]

One parquet file with ``--partitions`` row groups of 4 rows; the query is
``read_parquet -> filter -> groupby().agg()``, one partition per row group
in both libraries (dask with ``split_row_groups=True``), 2 threads. Each
library runs in a process of its own; the first finished task is seen by
lamina's ``on_progress`` and by a dask callback (``_pretask``, so dask's
figure is the start of its first task, in its favour).
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))


def run(engine: str, folder: str) -> dict:
    first: list[float] = []
    if engine == "lamina":
        import lamina.dataframe as ld

        df = ld.read_parquet(folder)
        query = df[df.x > 3].groupby("k").agg(s=("x", "sum"))
        started = time.perf_counter()
        query.compute(nthreads=2, on_progress=lambda done, total: first or first.append(
            time.perf_counter()))
    else:
        import dask
        import dask.dataframe as dd
        from dask.callbacks import Callback

        class First(Callback):
            def _pretask(self, key, dsk, state):
                if not first:
                    first.append(time.perf_counter())

        df = dd.read_parquet(folder, split_row_groups=True)
        query = df[df.x > 3].groupby("k").agg(s=("x", "sum"))
        started = time.perf_counter()
        with First(), dask.config.set(scheduler="threads", num_workers=2):
            query.compute()
    done = time.perf_counter()
    return {"partitions": int(df.npartitions), "first_task": first[0] - started,
            "total": done - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=2000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(*args.child)))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tempfile.mkdtemp(prefix="lamina-start-")
    n = args.partitions * 4
    pq.write_table(pa.table({"k": np.arange(n) % 5, "x": np.arange(n, dtype=float)}),
                   os.path.join(folder, "f.parquet"), row_group_size=4)
    out = {}
    for engine in ("lamina", "dask"):
        proc = subprocess.run([sys.executable, __file__, "--child", engine, folder],
                              capture_output=True, text=True, check=True, env=ENV)
        out[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{'':8} {'partitions':>10} {'first task s':>13} {'total s':>9}")
    for engine, r in out.items():
        print(f"{engine:8} {r['partitions']:>10} {r['first_task']:>13.3f} {r['total']:>9.2f}")
    print(f"lamina / dask: first task {out['lamina']['first_task'] / out['dask']['first_task']:.3f}"
          f", total {out['lamina']['total'] / out['dask']['total']:.3f}")


if __name__ == "__main__":
    main()
