"""Optimizer benchmarks: million-chunk selections, optimizer time vs layers, fusion.

Run:  python benchmarks/bench_optimizer.py [--quick]

Prints three tables, lamina beside Dask (when installed) in the same run.
Machines are shared and noisy: compare ratios, and see the CPU-time column
of the scaling table when the machine is busy.

1. Selections of a (100_000, 100_000) array with (100, 100) chunks (a
   million chunks), from ``ones`` and from a random array: ``(x + 1)[0, :5]``,
   ``x.T[3, 4]``, ``x[:1000][5]``. Compute time of the built expression
   (optimize, lower, run), tasks run, and Dask's compute time.
2. Optimizer time for an elementwise/slicing chain of 100, 1,000 and
   10,000 layers (``y[::-1]``, ``y + 1``, ``y * 2``, ``sin(y)`` in turn),
   beside ``dask.optimize`` on the same chain.
3. A chain of 10 elementwise operations over a random (4000, 4000) array
   with (500, 500) chunks: tasks per block and compute time.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

import lamina
import lamina.array as la
import lamina.optimizer as lo
import lamina.random
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower

SHAPE, CHUNKS = (100_000, 100_000), (100, 100)
SELECTIONS: dict[str, Callable[[Any], Any]] = {
    "(x + 1)[0, :5]": lambda x: (x + 1)[0, :5],
    "(x.T)[3, 4]": lambda x: x.T[3, 4],
    "x[:1000][5]": lambda x: x[:1000][5],
}


def best_of(fn: Callable[[], Any], repeat: int = 3, clock: Callable[[], float] = time.perf_counter
            ) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def dask_array() -> Any:
    try:
        import dask.array as da
    except ImportError:
        return None
    return da


def lamina_compute(y: la.Array) -> Any:
    """Optimize, lower and run: what ``lamina.compute`` does with the optimizer on."""
    return lamina.compute(*lo.optimize(y), nthreads=2)[0]


def selections_table(repeat: int) -> None:
    da = dask_array()
    print("\n## Selections of a million-chunk array (100_000 x 100_000, chunks 100 x 100)")
    print(f"{'source':>7} {'expression':>16} {'lamina ms':>10} {'tasks':>6} {'dask ms':>9} "
          f"{'ratio':>7}")
    sources = {
        "ones": (lambda: la.ones(SHAPE, chunks=CHUNKS),
                 lambda: da.ones(SHAPE, chunks=CHUNKS) if da else None),
        "random": (lambda: lamina.random.default_rng(0).random(SHAPE, chunks=CHUNKS),
                   lambda: da.random.default_rng(0).random(SHAPE, chunks=CHUNKS) if da else None),
    }
    for source, (make_lamina, make_dask) in sources.items():
        for text, select in SELECTIONS.items():
            y = select(make_lamina())
            (z,) = lo.optimize(y)
            tasks = lower([z.layer]).n_tasks
            t_lamina = best_of(lambda: lamina_compute(y), repeat)
            row = f"{source:>7} {text:>16} {t_lamina * 1e3:>10.2f} {tasks:>6}"
            if da is not None:
                import dask

                d = select(make_dask())
                with dask.config.set(scheduler="threads", num_workers=2):
                    t_dask = best_of(lambda: d.compute(), repeat)
                if source == "ones":
                    np.testing.assert_array_equal(lamina_compute(y), d.compute())
                row += f" {t_dask * 1e3:>9.1f} {t_dask / t_lamina:>6.1f}x"
            print(row)


def chain(n: int, module: Any, source: Any) -> Any:
    """An elementwise/slicing chain of about ``n`` operations over ``source``."""
    y = source
    for i in range(n):
        kind = i % 4
        if kind == 0:
            y = y[::-1]
        elif kind == 1:
            y = y + 1
        elif kind == 2:
            y = y * 2
        else:
            y = module.sin(y)
    return y


def scaling_table(sizes: list[int], repeat: int) -> None:
    da = dask_array()
    print("\n## Optimizer time vs layers (elementwise/slicing chain)")
    print(f"{'layers':>7} {'lamina ms':>10} {'cpu ms':>8} {'us/layer':>9} {'out layers':>11} "
          f"{'dask ms':>9}")
    dask_too_slow = False
    for n in sizes:
        y = chain(n, np, lamina.random.default_rng(0).random((1000, 1000), chunks=100))
        layers = len(topological([y.layer]))
        wall = best_of(lambda: lo.optimize_plan([y.layer]), repeat)
        cpu = best_of(lambda: lo.optimize_plan([y.layer]), repeat, time.process_time)
        out = len(topological(lo.optimize_plan([y.layer]).layers))
        row = (f"{layers:>7} {wall * 1e3:>10.1f} {cpu * 1e3:>8.1f} {wall / layers * 1e6:>9.1f} "
               f"{out:>11}")
        if da is not None and not dask_too_slow:
            import dask

            d = chain(n, np, da.random.default_rng(0).random((1000, 1000), chunks=100))
            t_dask = best_of(lambda: dask.optimize(d), 1)
            dask_too_slow = t_dask > 20
            row += f" {t_dask * 1e3:>9.1f}"
        print(row)


def fusion_table(repeat: int) -> None:
    da = dask_array()
    print("\n## Ten elementwise operations over a random (4000, 4000) array, chunks 500")
    x = lamina.random.default_rng(0).random((4000, 4000), chunks=500)
    y = x
    for i in range(10):
        y = y + i if i % 2 else np.sin(y)
    (z,) = lo.optimize(y)
    tasks = lower([z.layer]).n_tasks
    unfused = lower([y.layer]).n_tasks
    t_lamina = best_of(lambda: lamina_compute(y), repeat)
    print(f"{'blocks':>7} {'tasks':>6} {'unfused tasks':>14} {'lamina s':>9} {'dask s':>8}")
    row = f"{x.npartitions:>7} {tasks:>6} {unfused:>14} {t_lamina:>9.3f}"
    if da is not None:
        import dask

        d = da.random.default_rng(0).random((4000, 4000), chunks=500)
        for i in range(10):
            d = d + i if i % 2 else np.sin(d)
        with dask.config.set(scheduler="threads", num_workers=2):
            row += f" {best_of(lambda: d.compute(), repeat):>8.3f}"
    print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    lo.optimize(la.ones((4,), chunks=2) + 1)
    selections_table(repeat)
    scaling_table([100, 1000] if args.quick else [100, 1000, 10000], repeat)
    fusion_table(1 if args.quick else 3)


if __name__ == "__main__":
    main()
