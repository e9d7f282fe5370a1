"""NumPy functions beyond the core: lamina beside Dask, computed, in the same run.

Run:  python benchmarks/bench_numpy_functions.py [--side N] [--chunk C] [--only TEXT] [--phases]

An (n, n) float64 array of random values in (c, c) chunks; each row times
``compute()`` of one expression in lamina (embedded runner) and in Dask
(threaded scheduler), best of 3, and prints the ratio. Results are checked
against each other before timing ("refuses": Dask raises NotImplementedError,
e.g. for a reshape that splits axes unevenly). Machines are shared and noisy: compare
ratios, not seconds. ``--phases`` prints instead where lamina's time goes: CPU
seconds to build each expression, optimize it, lower it and run its tasks
(best of 3), to tell a slow plan from slow kernels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_foundation import best_of, have_dask  # the scripts run from this folder


def cases(side: int) -> list[tuple[str, object, object]]:
    """(label, lamina expression builder, Dask expression builder) on (x, y) pairs."""
    rows = np.random.default_rng(1).integers(0, side, 10_000)
    cols = np.random.default_rng(2).integers(0, side, 10_000)
    edges = np.linspace(-3, 3, 1001)
    return [
        ("cumsum(x, axis=0)", lambda x: np.cumsum(x, axis=0), lambda d: np.cumsum(d, axis=0)),
        ("cumprod(x, axis=1)", lambda x: np.cumprod(x, axis=1), lambda d: np.cumprod(d, axis=1)),
        ("x.reshape(-1) (misaligned)", lambda x: x.reshape(-1), lambda d: d.reshape(-1)),
        ("x[:, 1:].reshape(n//2, -1)", lambda x: x[:, 1:].reshape(side // 2, -1),
         lambda d: d[:, 1:].reshape(side // 2, -1)),
        ("nanvar(x, axis=0)", lambda x: np.nanvar(x, axis=0), lambda d: np.nanvar(d, axis=0)),
        ("median(x, axis=0)", lambda x: np.median(x, axis=0),
         lambda d: __import__("dask.array").array.median(d, axis=0)),
        ("einsum('ij,jk->ik')", lambda x: np.einsum("ij,jk->ik", x, x),
         lambda d: np.einsum("ij,jk->ik", d, d)),
        ("x[rows, cols] (10k points)", lambda x: x[rows, cols], lambda d: d.vindex[rows, cols]),
        ("searchsorted(edges, x)", lambda x: np.searchsorted(edges, x),
         lambda d: __import__("dask.array").array.searchsorted(
             __import__("dask.array").array.from_array(edges), d)),
        ("diff(x, axis=1)", lambda x: np.diff(x, axis=1), lambda d: np.diff(d, axis=1)),
        ("roll(x, 7, axis=0)", lambda x: np.roll(x, 7, axis=0), lambda d: np.roll(d, 7, axis=0)),
    ]


def phases(build, x) -> tuple[float, float, float, float]:
    """CPU seconds (best of 3) to build, optimize, lower and run one expression."""
    from lamina.compute import optimized
    from lamina.scheduler.lowering import lower
    from lamina.scheduler.runner import run_table

    best = [float("inf")] * 4
    for _ in range(3):
        t0 = time.process_time()
        expr = build(x)
        t1 = time.process_time()
        plan = optimized([expr.layer])
        t2 = time.process_time()
        table = lower(plan)
        t3 = time.process_time()
        run_table(table)
        t4 = time.process_time()
        best = [min(b, t) for b, t in zip(best, (t1 - t0, t2 - t1, t3 - t2, t4 - t3))]
    return best[0], best[1], best[2], best[3]


def print_phases(x, side: int, only: str) -> None:
    print(f"{'expression':<30} {'build':>7} {'optimize':>9} {'lower':>7} {'run':>7}  (CPU s)")
    for label, build, _ in cases(side):
        if only in label:
            times = phases(build, x)
            print(f"{label:<30} " + " ".join(f"{t:>{w}.3f}" for t, w in zip(times, (7, 9, 7, 7))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=300)
    parser.add_argument("--only", default="", help="run the rows whose label contains this")
    parser.add_argument("--phases", action="store_true",
                        help="lamina only: CPU seconds per phase (build, optimize, lower, run)")
    args = parser.parse_args()
    import lamina.array as la

    data = np.random.default_rng(0).standard_normal((args.side, args.side))
    x = la.from_array(data, chunks=args.chunk)
    if args.phases:
        print_phases(x, args.side, args.only)
        return
    dask = have_dask()
    if dask:
        import dask.array as da

        d = da.from_array(data, chunks=args.chunk)
    print(f"\n## ({args.side}, {args.side}) float64 in ({args.chunk}, {args.chunk}) chunks, "
          "best of 3")
    print(f"{'expression':<30} {'lamina s':>9} {'dask s':>8} {'dask / lamina':>14}")
    for label, build, build_dask in cases(args.side):
        if args.only not in label:
            continue
        ours = build(x)
        got = ours.compute()
        t = best_of(ours.compute)
        row = f"{label:<30} {t:>9.3f}"
        if dask:
            try:
                theirs = build_dask(d)
            except NotImplementedError:
                print(row + f" {'refuses':>8}")
                continue
            expected = theirs.compute(scheduler="threads")
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
            t_dask = best_of(lambda: theirs.compute(scheduler="threads"))
            row += f" {t_dask:>8.3f} {t_dask / t:>13.2f}x"
        print(row)


if __name__ == "__main__":
    main()
