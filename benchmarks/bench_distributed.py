"""Distributed runtime: lamina vs dask.distributed on ``((x + 1) * 2).sum()``.

    python benchmarks/bench_distributed.py                    # 10k, 100k, 1M chunks
    python benchmarks/bench_distributed.py --chunks 10000 --dask-max-chunks 10000
    python benchmarks/bench_distributed.py --json results.json

Measures, for ``x = ones((10 s, 10 s), chunks=10)`` with ``s * s`` chunks:

* bytes on the wire: lamina's graph message, exactly as ``Client.compute``
  sends it, against what Dask's client pickles (its expression) and the
  size of Dask's optimized task graph pickled;
* time from ``compute()`` to the first task starting on a worker, and the
  end-to-end time and tasks per second, both on a local cluster of 2
  worker processes x 1 thread on loopback TCP (Dask's time comes from its
  task stream);
* the scheduler alone: lamina's server logic and compiled state machine
  driving zero-work workers simulated in process (no network), in tasks
  and state transitions per second; and its CPU time per report when the
  optimized graph is reported ``--report-size`` tasks at a time, as real
  workers do (each report is followed by a placement round).

Dask rows need ``pip install distributed`` (a benchmark-only dependency);
without it they are skipped. Dask's optimized graph and cluster runs stop
at ``--dask-max-chunks`` (default 100k) because they take minutes and
gigabytes beyond that.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import lamina.array as la  # noqa: E402
from lamina.client import Client, LocalCluster  # noqa: E402
from lamina.comm.core import framed_nbytes  # noqa: E402
from lamina.comm.wire import Packed, dumps  # noqa: E402
from lamina.compute import optimized  # noqa: E402
from lamina.layers.codec import LayerCodec  # noqa: E402
from lamina.layers.registry import signature, trust_of  # noqa: E402
from lamina.scheduler.server import ClientState, Scheduler, WorkerState  # noqa: E402
from lamina.testing.inbox import Inbox  # noqa: E402


def lamina_expression(side: int) -> Any:
    x = la.ones((side * 10, side * 10), chunks=10)
    return ((x + 1) * 2).sum()


def dask_expression(side: int) -> Any:
    import dask.array as da

    x = da.ones((side * 10, side * 10), chunks=10)
    return ((x + 1) * 2).sum()


def side_of(chunks: int) -> int:
    return max(int(round(chunks ** 0.5)), 1)


# bytes on the wire -------------------------------------------------------------------
def lamina_graph_bytes(side: int) -> int:
    layers = optimized([lamina_expression(side).layer])
    return framed_nbytes(dumps({"roots": tuple(layers)},
                                extension=LayerCodec(trust_of(signature()))))


def dask_sent_bytes(side: int) -> int:
    from dask._expr import FinalizeCompute
    from dask.base import collections_to_expr
    from distributed.protocol.serialize import serialize, to_serialize
    from distributed.utils import nbytes

    expr = FinalizeCompute(collections_to_expr([dask_expression(side)], True))
    header, frames = serialize(to_serialize(expr), on_error="raise")
    return len(pickle.dumps(header)) + sum(map(nbytes, frames))


def dask_optimized_graph_bytes(side: int) -> tuple[int, int]:
    import dask

    (optimized,) = dask.optimize(dask_expression(side))
    graph = dict(optimized.__dask_graph__())
    return len(pickle.dumps(graph, protocol=5)), len(graph)


# clusters ------------------------------------------------------------------------------
def lamina_cluster_run(client: Client, side: int) -> dict[str, float]:
    start = time.time()
    future = client.compute(lamina_expression(side))
    value = future.result(1800)
    total = time.time() - start
    assert value == 4.0 * (side * 10) ** 2
    return {"first_task_s": future.timings["first_task"] - future.timings["compute"],
            "total_s": total, "tasks": future.n_tasks, "tasks_per_s": future.n_tasks / total}


def dask_cluster_run(client: Any, side: int) -> dict[str, float]:
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        start = time.time()
        value = client.compute(dask_expression(side)).result()
        total = time.time() - start
    assert value == 4.0 * (side * 10) ** 2
    starts = [s["start"] for rec in stream.data for s in rec["startstops"]
              if s["action"] == "compute"]
    tasks = len(stream.data)
    return {"first_task_s": min(starts) - start, "total_s": total, "tasks": tasks,
            "tasks_per_s": tasks / total}


# the scheduler alone ---------------------------------------------------------------
async def simulated(side: int, n_workers: int) -> tuple[Scheduler, list[WorkerState]]:
    """A scheduler with ``n_workers`` simulated workers and the expression submitted."""
    scheduler = Scheduler()
    workers = []
    for wid in range(1, n_workers + 1):
        ws = WorkerState(wid, f"inproc://sim-{wid}", 1, Inbox())
        scheduler.workers[wid] = ws
        workers.append(ws)
    client = ClientState(0, Inbox())
    scheduler.clients[0] = client
    frames = dumps({"roots": (lamina_expression(side).layer,)}, extension=LayerCodec())
    await scheduler._submit(client, {"ref": 1, "graph": Packed(frames)})
    return scheduler, workers


async def _simulate(side: int, n_workers: int) -> dict[str, float]:
    start = time.perf_counter()
    scheduler, workers = await simulated(side, n_workers)
    planned = time.perf_counter()
    n_tasks = next(iter(scheduler.runs.values())).table.n_tasks
    while scheduler.runs:
        scheduler._schedule()
        for ws in workers:
            for msg in ws.out.take():
                if msg["op"] == "compute":
                    tasks = msg["tasks"]
                    scheduler._task_done(ws, {"run": msg["run"], "tasks": tasks,
                                              "elapsed": 1e-6 * len(tasks)})
    done = time.perf_counter()
    assert scheduler.tasks_done == n_tasks
    per_s = n_tasks / (done - planned)
    return {"tasks": n_tasks, "plan_s": planned - start, "schedule_s": done - planned,
            "tasks_per_s": per_s, "transitions_per_s": 4 * per_s}


def simulate(side: int, n_workers: int = 2) -> dict[str, float]:
    """Unoptimized expression (every layer its own task), zero-work workers.

    A task makes four transitions: waiting -> ready -> running -> done ->
    released (outputs are kept instead of released).
    """
    return asyncio.run(_simulate(side, n_workers))


async def _simulate_reports(side: int, size: int, depth: int | None) -> dict[str, float]:
    from lamina.compute import planned

    layers, hints = planned([lamina_expression(side).layer])
    scheduler = Scheduler(**({} if depth is None else {"ahead_depth": depth}))
    workers = []
    for wid in (1, 2):
        ws = scheduler.workers[wid] = WorkerState(wid, f"inproc://sim-{wid}", 1, Inbox())
        workers.append(ws)
    client = scheduler.clients[0] = ClientState(0, Inbox())
    frames = dumps({"roots": tuple(layers)}, extension=LayerCodec())
    await scheduler._submit(client, {"ref": 1, "graph": Packed(frames),
                                     "hints": [list(h) for h in hints]})
    rid, run = next(iter(scheduler.runs.items()))
    queued: dict[int, list[int]] = {ws.wid: [] for ws in workers}
    reports = 0
    start = time.process_time()
    scheduler._schedule()
    while scheduler.runs:
        for ws in workers:
            for msg in ws.out.take():
                if msg["op"] == "compute":
                    queued[ws.wid].extend(msg["tasks"].tolist())
            if queued[ws.wid]:
                part, queued[ws.wid] = queued[ws.wid][:size], queued[ws.wid][size:]
                now = time.time()
                scheduler._worker_message(ws, {
                    "op": "done", "run": rid, "tasks": np.array(part, dtype=np.int64),
                    "elapsed": 1e-5 * len(part), "started": now, "began": now, "thread": 0,
                    "stops": np.full(len(part), now)})
                scheduler._schedule()
                reports += 1
    cpu = time.process_time() - start
    return {"tasks": run.table.n_tasks, "reports": reports, "cpu_s": cpu,
            "us_per_report": 1e6 * cpu / reports, "tasks_per_cpu_s": run.table.n_tasks / cpu}


def simulate_reports(side: int, size: int, depth: int | None = None) -> dict[str, float]:
    """The fused expression as the cluster runs it, zero-work workers reporting ``size``
    tasks at a time (as real ones do), each report followed by a scheduling round:
    the scheduler's CPU per report, which bounds the cluster's throughput."""
    return asyncio.run(_simulate_reports(side, size, depth))


# report -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dask-max-chunks", type=int, default=100_000)
    parser.add_argument("--ahead-depth", type=int, default=None,
                        help="lamina's speculative-dispatch depth (0: off; default: the "
                        "scheduler's)")
    parser.add_argument("--report-size", type=int, default=40,
                        help="tasks per simulated report in the scheduler-per-report rows")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        import distributed  # noqa: F401
        have_dask = not args.skip_dask
    except ImportError:
        have_dask = False
        print("dask.distributed not installed: Dask rows skipped (pip install distributed)")
    results: dict[str, Any] = {"chunks": args.chunks, "bytes": {}, "cluster": {},
                               "scheduler_alone": {}}

    print("\n== bytes on the wire for ((x + 1) * 2).sum() ==")
    print(f"{'chunks':>9} {'lamina':>9} {'dask sent':>11} {'dask optimized tasks':>22}")
    for chunks in args.chunks:
        side = side_of(chunks)
        row = {"lamina": lamina_graph_bytes(side)}
        if have_dask:
            row["dask_sent"] = dask_sent_bytes(side)
            if chunks <= args.dask_max_chunks:
                row["dask_optimized"], row["dask_tasks"] = dask_optimized_graph_bytes(side)
        results["bytes"][chunks] = row
        print(f"{side * side:>9} {row['lamina']:>9} {row.get('dask_sent', '-'):>11} "
              f"{row.get('dask_optimized', '-'):>22}")

    print("\n== cluster: 2 worker processes x 1 thread, loopback TCP ==")
    print(f"{'chunks':>9} {'system':>7} {'first task':>11} {'total':>8} {'tasks':>9} "
          f"{'tasks/s':>9}")
    with LocalCluster(n_workers=2, threads_per_worker=1, ahead_depth=args.ahead_depth) as cluster, \
            Client(cluster) as client:
        client.compute(lamina_expression(10)).result(60)
        for chunks in args.chunks:
            row = lamina_cluster_run(client, side_of(chunks))
            results["cluster"].setdefault(chunks, {})["lamina"] = row
            _print_run(side_of(chunks) ** 2, "lamina", row)
    if have_dask:
        import dask
        from distributed import Client as DaskClient
        from distributed import LocalCluster as DaskCluster

        dask.config.set({"distributed.scheduler.dashboard.tasks.task-stream-length": 10**8})
        with DaskCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, DaskClient(cluster) as client:
            client.compute(dask_expression(10)).result()
            for chunks in args.chunks:
                if chunks > args.dask_max_chunks:
                    continue
                row = dask_cluster_run(client, side_of(chunks))
                results["cluster"].setdefault(chunks, {})["dask"] = row
                _print_run(side_of(chunks) ** 2, "dask", row)

    print("\n== the scheduler alone: zero-work workers in process, unoptimized graph ==")
    for chunks in args.chunks:
        row = simulate(side_of(chunks))
        results["scheduler_alone"][chunks] = row
        print(f"{side_of(chunks) ** 2:>9} chunks: {row['tasks']:>9} tasks, plan "
              f"{row['plan_s']:.3f} s, schedule {row['schedule_s']:.3f} s: "
              f"{row['tasks_per_s']:,.0f} tasks/s, {row['transitions_per_s']:,.0f} transitions/s")
    print(f"\n== the scheduler per report: optimized graph, reports of {args.report_size} "
          "tasks, CPU time ==")
    results["scheduler_reports"] = {}
    for chunks in args.chunks:
        row = simulate_reports(side_of(chunks), args.report_size, args.ahead_depth)
        results["scheduler_reports"][chunks] = row
        print(f"{side_of(chunks) ** 2:>9} chunks: {row['tasks']:>9} tasks, {row['reports']} "
              f"reports, {row['us_per_report']:,.0f} us CPU per report, "
              f"{row['tasks_per_cpu_s']:,.0f} tasks per CPU second")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def _print_run(chunks: int, system: str, row: dict[str, float]) -> None:
    print(f"{chunks:>9} {system:>7} {row['first_task_s']:>10.3f}s {row['total_s']:>7.2f}s "
          f"{row['tasks']:>9} {row['tasks_per_s']:>9,.0f}")


if __name__ == "__main__":
    main()
