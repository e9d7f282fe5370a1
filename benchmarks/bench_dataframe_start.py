"""Graph start: from ``compute()`` to the first task, lamina beside dask.dataframe.

Run:  python benchmarks/bench_dataframe_start.py [--partitions 10000] [--runner embedded]
      [--first-only] [--warm]

One parquet file with ``--partitions`` row groups of 4 rows; the query is
``read_parquet -> filter -> groupby().agg()``, one partition per row group
in both libraries (dask with ``split_row_groups=True``). ``--runner
embedded``: lamina's embedded runner beside dask's threaded scheduler, 2
threads; ``--runner cluster``: a lamina ``LocalCluster`` beside a
``distributed.LocalCluster``, 2 worker processes of 1 thread each. Each
library runs in a process of its own, with its modules imported before the
clock starts (for lamina also its rules and the discovery of rule plugins,
about 0.2 s once per process). The first task is seen by lamina's ``on_progress`` (the first
task finished, reported back to the client) and, for dask, by a callback
before its first task starts (``_pretask``) or, on a cluster, by the start
of the first task in the task stream: dask's figures are in its favour.
``--warm`` first runs the same query over a 4-partition dataset in the
same process and cluster, so imports and worker start-up are not counted.
``--first-only`` stops each run at its first task (dask needs minutes to
finish 10,000 partitions); the total is then not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))


def _query(df):
    return df[df.x > 3].groupby("k").agg(s=("x", "sum"))


def _result(first: list, started: float, done: float | None, partitions: int) -> dict:
    return {"partitions": partitions, "first_task": first[0] - started,
            "total": None if done is None else done - started}


def run_lamina(folder: str, cluster: bool, first_only: bool, warm: str | None) -> dict:
    import lamina
    import lamina.client  # noqa: F401  (imported before the clock, like dask's modules)
    import lamina.compute  # noqa: F401
    import lamina.dataframe as ld
    import lamina.diagnostics  # noqa: F401
    import lamina.scheduler.runner  # noqa: F401
    from lamina.optimizer.registry import all_rules

    all_rules()  # built-in rules imported, plugins discovered: once per process

    seen = threading.Event()
    first: list[float] = []

    def on_progress(done: int, total: int) -> None:
        if not first:
            first.append(time.time())
            seen.set()

    if not cluster:
        if warm:
            _query(ld.read_parquet(warm)).compute(nthreads=2)
        df = ld.read_parquet(folder)
        query = _query(df)
        started = time.time()
        if first_only:
            worker = threading.Thread(target=query.compute, daemon=True,
                                      kwargs=dict(nthreads=2, on_progress=on_progress))
            worker.start()
            seen.wait()
            return _result(first, started, None, df.npartitions)
        query.compute(nthreads=2, on_progress=on_progress)
        return _result(first, started, time.time(), df.npartitions)
    with lamina.LocalCluster(n_workers=2, threads_per_worker=1,
                             dashboard_address=None) as c, lamina.Client(c) as client:
        if warm:
            client.compute(_query(ld.read_parquet(warm))).result()
        df = ld.read_parquet(folder)
        query = _query(df)
        started = time.time()
        future = client.compute(query, on_progress=on_progress)
        if first_only:
            seen.wait()
            return _result(first, started, None, df.npartitions)
        future.result()
        return _result(first, started, time.time(), df.npartitions)


def run_dask(folder: str, cluster: bool, first_only: bool, warm: str | None) -> dict:
    import dask
    import dask.dataframe as dd
    from dask.callbacks import Callback

    first: list[float] = []
    seen = threading.Event()
    df = dd.read_parquet(folder, split_row_groups=True)
    query = _query(df)
    if not cluster:
        class First(Callback):
            def _pretask(self, key, dsk, state):
                if not first:
                    first.append(time.time())
                    seen.set()

        def go() -> None:
            with First(), dask.config.set(scheduler="threads", num_workers=2):
                query.compute()

        if warm:
            with dask.config.set(scheduler="threads", num_workers=2):
                _query(dd.read_parquet(warm, split_row_groups=True)).compute()

        started = time.time()
        if first_only:
            threading.Thread(target=go, daemon=True).start()
            seen.wait()
            return _result(first, started, None, df.npartitions)
        go()
        return _result(first, started, time.time(), df.npartitions)
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c, \
            Client(c) as client:
        if warm:
            client.compute(_query(dd.read_parquet(warm, split_row_groups=True))).result()
        client.get_task_stream()  # installs the task-stream plugin before the clock
        started = time.time()
        future = client.compute(query)
        while not first:
            stream = client.get_task_stream(start=started)
            starts = [s["start"] for t in stream for s in t.get("startstops", ())
                      if s.get("action") == "compute"]
            if starts:
                first.append(min(starts))
            elif future.done():
                raise RuntimeError("dask finished without a task in its task stream")
            else:
                time.sleep(0.02)
        if first_only:
            future.cancel()
            return _result(first, started, None, df.npartitions)
        future.result()
        return _result(first, started, time.time(), df.npartitions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=2000)
    parser.add_argument("--runner", choices=["embedded", "cluster"], default="embedded")
    parser.add_argument("--first-only", action="store_true")
    parser.add_argument("--warm", action="store_true",
                        help="first run the query on a 4-partition dataset in the same "
                             "process (and cluster), so start-up costs are not counted")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, folder, warm = args.child
        runner = run_lamina if engine == "lamina" else run_dask
        print(json.dumps(runner(folder, args.runner == "cluster", args.first_only,
                                warm if args.warm else None)), flush=True)
        os._exit(0)  # a run stopped at its first task leaves threads behind
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tempfile.mkdtemp(prefix="lamina-start-")
    n = args.partitions * 4
    pq.write_table(pa.table({"k": np.arange(n) % 5, "x": np.arange(n, dtype=float)}),
                   os.path.join(folder, "f.parquet"), row_group_size=4)
    warm = tempfile.mkdtemp(prefix="lamina-start-warm-")
    pq.write_table(pa.table({"k": np.arange(16) % 5, "x": np.arange(16, dtype=float)}),
                   os.path.join(warm, "f.parquet"), row_group_size=4)
    out = {}
    extra = ["--runner", args.runner] + (["--first-only"] if args.first_only else []) + (
        ["--warm"] if args.warm else [])
    for engine in ("lamina", "dask"):
        proc = subprocess.run([sys.executable, __file__, "--child", engine, folder, warm, *extra],
                              capture_output=True, text=True, check=True, env=ENV)
        out[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"runner: {args.runner}{', warmed up' if args.warm else ''}")
    print(f"{'':8} {'partitions':>10} {'first task s':>13} {'total s':>9}")
    for engine, r in out.items():
        total = "-" if r["total"] is None else f"{r['total']:.2f}"
        print(f"{engine:8} {r['partitions']:>10} {r['first_task']:>13.3f} {total:>9}")
    line = f"lamina / dask: first task {out['lamina']['first_task'] / out['dask']['first_task']:.4f}"
    if out["lamina"]["total"] is not None:
        line += f", total {out['lamina']['total'] / out['dask']['total']:.3f}"
    print(line)


if __name__ == "__main__":
    main()
