"""Speculative dispatch and work stealing: lamina beside dask.distributed, one run.

    python benchmarks/bench_speculative.py                      # the issue's sizes
    python benchmarks/bench_speculative.py --links 2000 --blocks 2000 --skew-tasks 200

On local clusters of 2 worker processes x 1 thread (loopback TCP), each
measured the same way for both systems, the execution span (first task
started to result in hand: lamina's ``first_task`` to ``gathered``
timings, Dask's task stream from first start to last stop):

* chain latency: ``links`` dependent tiny tasks (a one-block array with
  ``+ 1`` applied ``links`` times, fusion off); time per link with tasks
  sent ahead, with it off (``--ahead-depth 0``) and on Dask;
* an unfused pipeline: 10 elementwise layers over ``blocks`` blocks, fusion
  off against fusion on (wall time of ``compute``), Dask unfused beside;
* skew: ``skew-tasks`` tasks sleeping Pareto-distributed times (mean
  ``skew-mean`` seconds, the same draws for both): makespan over the ideal
  (total sleep / 2 threads);
* the embedded runner: the optimizer's speculative-hints rule on and off
  for the same computations (its cost where no scheduler reads the hints).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.setrecursionlimit(1_000_000)

import lamina  # noqa: E402
import lamina.array as la  # noqa: E402
from lamina.client import Client, LocalCluster  # noqa: E402
from lamina.optimizer import set_options  # noqa: E402

UNFUSED = {"disabled_rules": {"blockwise_fusion"}}
LAYERS = 10


def sleeper(durations: np.ndarray) -> Callable[[np.ndarray, Any], np.ndarray]:
    def sleep_block(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        time.sleep(float(durations[int(block[0])]))
        return block
    return sleep_block


def durations_for(n: int, mean: float, seed: int = 0) -> np.ndarray:
    """Heavy-tailed task times: Pareto (shape 1.5) scaled to ``mean``."""
    raw = np.random.default_rng(seed).pareto(1.5, n) + 1.0
    return raw * (mean / raw.mean())


def skew(args: argparse.Namespace, from_array: Callable,
         span_of: Callable[[Any], tuple[float, Any]]) -> dict[str, float]:
    """Makespan of the heavy-tailed sleeps, and the ideal one (total over 2 threads)."""
    durations = durations_for(args.skew_tasks, args.skew_mean)
    x = from_array(np.arange(args.skew_tasks, dtype=np.float64), chunks=1)
    span, got = span_of(x.map_blocks(sleeper(durations), dtype="f8"))
    np.testing.assert_array_equal(got, np.arange(args.skew_tasks))
    return {"skew_makespan": span, "skew_ideal": durations.sum() / 2}


# lamina -------------------------------------------------------------------------------
def lamina_chain(links: int) -> Any:
    v = la.zeros(1, chunks=1)
    for _ in range(links):
        v = v + 1
    return v


def lamina_pipeline(blocks: int) -> Any:
    x = la.ones(blocks, chunks=1)
    for i in range(LAYERS):
        x = x * 1.0001 + i
    return x.sum()


def lamina_span(client: Client, array: Any) -> tuple[float, Any]:
    future = client.compute(array)
    value = future.result(3600)
    return future.timings["gathered"] - future.timings["first_task"], value


def lamina_rows(args: argparse.Namespace, depth: int | None) -> dict[str, float]:
    kw = {} if depth is None else {"ahead_depth": depth}
    rows: dict[str, float] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, **kw) as cluster, \
            Client(cluster) as client:
        client.compute(la.ones(4, chunks=1) + 1).result(60)
        with set_options(**UNFUSED):
            span, value = lamina_span(client, lamina_chain(args.links))
        assert value[0] == args.links, value
        rows["chain_link"] = span / args.links
        if depth == 0:
            return rows
        expected = lamina.compute(lamina_pipeline(args.blocks))[0]
        for name, opts in (("fused", {}), ("unfused", UNFUSED)):
            with set_options(**opts):
                client.compute(lamina_pipeline(200)).result(600)
                start = time.perf_counter()
                got = client.compute(lamina_pipeline(args.blocks)).result(3600)
                rows[f"pipeline_{name}"] = time.perf_counter() - start
            assert np.isclose(got, expected), (got, expected)
        rows.update(skew(args, la.from_array, lambda a: lamina_span(client, a)))
        info = client.scheduler_info()
        rows["speculative"] = info["tasks_speculative"]
        rows["stolen"] = info["tasks_stolen"]
    return rows


# dask ---------------------------------------------------------------------------------
def dask_span(client: Any, collection: Any, **compute: Any) -> tuple[float, Any]:
    from distributed import get_task_stream

    with get_task_stream(client) as ts:
        value = client.compute(collection, **compute).result()
    starts = [s["start"] for t in ts.data for s in t["startstops"] if s["action"] == "compute"]
    stops = [s["stop"] for t in ts.data for s in t["startstops"] if s["action"] == "compute"]
    return max(stops) - min(starts), value


def dask_rows(args: argparse.Namespace) -> dict[str, float]:
    import dask
    import dask.array as da
    from distributed import Client as DaskClient
    from distributed import LocalCluster as DaskCluster

    rows: dict[str, float] = {}
    dask.config.set({"distributed.scheduler.dashboard.tasks.task-stream-length": 10**8})
    with DaskCluster(n_workers=2, threads_per_worker=1, processes=True,
                     dashboard_address=None) as cluster, DaskClient(cluster) as client:
        def inc(v: float) -> float:
            return v + 1

        chain = dask.delayed(0.0)
        for _ in range(args.links):
            chain = dask.delayed(inc)(chain)
        span, value = dask_span(client, chain)
        assert value == args.links
        rows["chain_link"] = span / args.links
        x = da.ones(args.dask_blocks, chunks=1)
        for i in range(LAYERS):
            x = x * 1.0001 + i
        start = time.perf_counter()
        client.compute(x.sum(), optimize_graph=False).result()
        rows["pipeline_unfused"] = (time.perf_counter() - start) * args.blocks / args.dask_blocks
        rows.update(skew(args, da.from_array, lambda a: dask_span(client, a)))
    return rows


# embedded -----------------------------------------------------------------------------
def embedded_rows(repeats: int = 5) -> dict[str, float]:
    """Best-of wall time of embedded computations with the hints rule on and off."""
    x = la.ones((2000, 2000), chunks=100)
    y = la.ones((600, 600), chunks=100)
    cases = {"sum of (x + 1) * 2": lambda: ((x + 1) * 2).sum(),
             "(y @ y.T).sum(axis=0)": lambda: (y @ y.T).sum(axis=0)}
    rows = {}
    for name, make in cases.items():
        for label, opts in (("hints", {}), ("no hints", {"disabled_rules":
                                                         {"speculative_hints"}})):
            best = float("inf")
            for _ in range(repeats):
                with set_options(**opts):
                    start = time.perf_counter()
                    lamina.compute(make())
                    best = min(best, time.perf_counter() - start)
            rows[f"{name} ({label})"] = best
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--dask-blocks", type=int, default=2_000,
                        help="Dask's unfused pipeline runs on this many blocks, scaled up")
    parser.add_argument("--skew-tasks", type=int, default=400)
    parser.add_argument("--skew-mean", type=float, default=0.01)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()

    on = lamina_rows(args, None)
    off = lamina_rows(args, 0)
    dask_ = {} if args.skip_dask else dask_rows(args)

    print(f"\n== chain of {args.links} dependent tiny tasks: execution span per link ==")
    print(f"{'lamina, sent ahead':<24}{on['chain_link'] * 1e6:10.1f} us")
    print(f"{'lamina, ahead off':<24}{off['chain_link'] * 1e6:10.1f} us   "
          f"ahead / off = {on['chain_link'] / off['chain_link']:.3f}")
    if dask_:
        print(f"{'dask.distributed':<24}{dask_['chain_link'] * 1e6:10.1f} us   "
              f"lamina / dask = {on['chain_link'] / dask_['chain_link']:.4f}")

    print(f"\n== {LAYERS}-layer elementwise pipeline over {args.blocks} blocks: wall time ==")
    print(f"{'lamina fused':<24}{on['pipeline_fused']:10.3f} s")
    print(f"{'lamina unfused':<24}{on['pipeline_unfused']:10.3f} s   "
          f"unfused / fused = {on['pipeline_unfused'] / on['pipeline_fused']:.2f}")
    if dask_:
        print(f"{'dask unfused':<24}{dask_['pipeline_unfused']:10.3f} s   "
              f"(measured on {args.dask_blocks} blocks, scaled)")

    print(f"\n== skew: {args.skew_tasks} Pareto(1.5) sleeps, mean {args.skew_mean} s ==")
    for name, rows in (("lamina", on), ("dask.distributed", dask_)):
        if rows:
            print(f"{name:<24}{rows['skew_makespan']:10.3f} s   ideal {rows['skew_ideal']:.3f} s"
                  f"   ratio {rows['skew_makespan'] / rows['skew_ideal']:.3f}")
    print(f"lamina tasks run ahead: {on['speculative']}, tasks stolen: {on['stolen']}")

    print("\n== embedded runner: the speculative-hints rule on and off (best of 5) ==")
    for name, seconds in embedded_rows().items():
        print(f"{name:<40}{seconds * 1e3:10.1f} ms")


if __name__ == "__main__":
    main()
