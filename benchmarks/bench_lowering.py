"""Lowering benchmark: million-block reductions to integer task tables.

Run:  python benchmarks/bench_lowering.py [--quick] [--dask-max BLOCKS]

Prints one table, lamina beside Dask (when installed) in the same run.
Machines are shared and noisy: compare ratios. The test suite checks the
property behind these times instead (one vectorized ``block_deps`` call
per layer, exactly one task per block; see
``tests/test_reductions.py``), so a busy machine cannot fail it.

For square arrays of 1-element chunks (10k, 100k, 1M blocks) it lowers
``((x + 1) * 2).sum()`` and ``((x + 1) * 2).sum(axis=0)``: lamina to its
task table (``lower``), Dask to a materialized graph (``dask.optimize``,
then the graph as a dict).
"""

from __future__ import annotations

import argparse
import time

from bench_foundation import best_of  # the scripts run from this folder


def dask_graph_seconds(side: int, axis: int | None) -> tuple[float, int] | None:
    """Seconds to optimize and materialize Dask's graph, and its number of tasks."""
    try:
        import dask
        import dask.array as da
    except ImportError:
        return None
    d = ((da.ones((side, side), chunks=1) + 1) * 2).sum(axis=axis)

    def materialize() -> dict:
        (opt,) = dask.optimize(d)
        return dict(opt.__dask_graph__())

    start = time.perf_counter()
    ntasks = len(materialize())
    return time.perf_counter() - start, ntasks


def lowering_table(sides: list[int], dask_max: int) -> None:
    import lamina.array as la
    from lamina.scheduler.lowering import lower

    print("\n## Lowering ((x + 1) * 2).sum(axis) of (n, n) arrays with 1-element chunks")
    print(f"{'blocks':>10} {'axis':>5} {'tasks':>10} {'lamina s':>9} {'M tasks/s':>10} "
          f"{'dask s':>8} {'dask tasks':>11} {'ratio':>7}")
    for side in sides:
        for axis in (None, 0):
            y = ((la.ones((side, side), chunks=1) + 1) * 2).sum(axis=axis)
            tasks = lower([y.layer]).n_tasks
            t = best_of(lambda: lower([y.layer]))
            row = (f"{side * side:>10,} {str(axis):>5} {tasks:>10,} {t:>9.3f} "
                   f"{tasks / t / 1e6:>10.1f}")
            dask = dask_graph_seconds(side, axis) if side * side <= dask_max else None
            if dask is not None:
                t_dask, n_dask = dask
                row += f" {t_dask:>8.2f} {n_dask:>11,} {t_dask / t:>6.0f}x"
            print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k blocks only")
    parser.add_argument("--dask-max", type=int, default=100_000,
                        help="largest number of blocks to time Dask on (its 1M-block "
                        "graph takes over ten minutes)")
    args = parser.parse_args()
    sides = [100, 316] if args.quick else [100, 316, 1000]
    lowering_table(sides, args.dask_max)


if __name__ == "__main__":
    main()
