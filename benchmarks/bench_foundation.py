"""Foundation benchmarks: lowering throughput, per-task overhead, peak memory.

Run:  python benchmarks/bench_foundation.py [--quick]

Prints three tables, lamina beside Dask (when installed) in the same run.
Ratios matter, not absolute times: machines are shared and noisy.

1. Lowering: ``((x + 1) * 2).sum()`` over 10k, 100k, 1M chunks -> integer
   task table (lamina) vs materializing the optimized task graph (Dask).
2. Per-task overhead of the embedded runner on the same expression with
   10-element chunks, vs Dask's threaded scheduler (2 threads each).
3. Peak RSS of summing an 8 GB random array (chunks 1000 x 5000) with 2
   threads, each measured in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def have_dask() -> bool:
    try:
        import dask.array  # noqa: F401
    except ImportError:
        return False
    return True


def lowering_table(sizes: list[int]) -> None:
    import lamina.array as la
    from lamina.scheduler.lowering import lower

    print("\n## Lowering ((x + 1) * 2).sum() to tasks")
    print(f"{'chunks':>10} {'tasks':>10} {'lamina s':>10} {'lamina tasks/s':>15} "
          f"{'dask s':>10} {'dask tasks/s':>13} {'ratio':>7}")
    for n in sizes:
        y = ((la.ones((n * 10,), chunks=10) + 1) * 2).sum()
        table = lower([y.layer])
        t_lamina = best_of(lambda: lower([y.layer]))
        row = f"{n:>10,} {table.n_tasks:>10,} {t_lamina:>10.3f} {table.n_tasks / t_lamina:>15,.0f}"
        if have_dask() and n <= 1_000_000:
            import dask
            import dask.array as da

            d = ((da.ones((n * 10,), chunks=10) + 1) * 2).sum()

            def materialize():
                (opt,) = dask.optimize(d)
                return dict(opt.__dask_graph__())

            t_dask = best_of(materialize, repeat=1)
            ntasks = len(materialize())
            row += f" {t_dask:>10.3f} {ntasks / t_dask:>13,.0f} {t_dask / t_lamina:>6.0f}x"
        print(row)


def overhead_table(nchunks: int) -> None:
    import lamina.array as la
    from lamina.scheduler.lowering import lower

    print(f"\n## Per-task overhead, ((x + 1) * 2).sum(), {nchunks:,} chunks of 10, 2 threads")
    y = ((la.ones((nchunks * 10,), chunks=10) + 1) * 2).sum()
    ntasks = lower([y.layer]).n_tasks
    t = best_of(lambda: y.compute(nthreads=2))
    assert float(y.compute(nthreads=2)) == nchunks * 10 * 4
    print(f"{'runner':>22} {'tasks':>9} {'seconds':>9} {'us/task':>9}")
    print(f"{'lamina embedded':>22} {ntasks:>9,} {t:>9.3f} {t / ntasks * 1e6:>9.2f}")
    if have_dask():
        import dask
        import dask.array as da

        d = ((da.ones((nchunks * 10,), chunks=10) + 1) * 2).sum()
        (opt,) = dask.optimize(d)
        dtasks = len(dict(opt.__dask_graph__()))
        td = best_of(lambda: d.compute(scheduler="threads", num_workers=2), repeat=1)
        print(f"{'dask threaded':>22} {dtasks:>9,} {td:>9.3f} {td / dtasks * 1e6:>9.2f}")
        print(f"lamina per-task overhead = 1/{(td / dtasks) / (t / ntasks):.0f} of Dask's; "
              f"wall time 1/{td / t:.0f} of Dask's")


RSS_SNIPPET = {
    "lamina": (
        "import lamina.random as lr; "
        "x = lr.default_rng(0).random({shape}, chunks={chunks}); "
        "v = float(x.sum().compute(nthreads=2))"
    ),
    "dask": (
        "import dask, dask.array as da; "
        "x = da.random.default_rng(0).random({shape}, chunks={chunks}); "
        "v = float(x.sum().compute(scheduler='threads', num_workers=2))"
    ),
}


def peak_rss(engine: str, shape: tuple, chunks: tuple) -> dict:
    """Run one engine in a fresh process; its peak is the kernel's VmHWM.

    (``ru_maxrss`` would be wrong here: Linux carries it across exec from
    the parent, which may itself be large.)
    """
    code = (
        "import json, time; t = time.perf_counter(); "
        + RSS_SNIPPET[engine].format(shape=shape, chunks=chunks)
        + "; hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]; "
        "print(json.dumps({'seconds': time.perf_counter() - t, 'value': v, "
        "'peak_mb': int(hwm.split()[1]) / 1024}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_table(shape: tuple, chunks: tuple) -> None:
    gb = np.prod(shape) * 8 / 1e9
    print(f"\n## Peak RSS, random({shape}, chunks={chunks}).sum() ({gb:.1f} GB), 2 threads")
    print(f"{'engine':>8} {'seconds':>9} {'peak MB':>9} {'mean':>10}")
    engines = ["lamina"] + (["dask"] if have_dask() else [])
    for engine in engines:
        r = peak_rss(engine, shape, chunks)
        print(f"{engine:>8} {r['seconds']:>9.2f} {r['peak_mb']:>9.0f} "
              f"{r['value'] / np.prod(shape):>10.6f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        lowering_table([10_000, 100_000])
        overhead_table(2_000)
        memory_table((2_000, 50_000), (1000, 5000))
    else:
        lowering_table([10_000, 100_000, 1_000_000])
        overhead_table(20_000)
        memory_table((20_000, 50_000), (1000, 5000))


if __name__ == "__main__":
    main()
