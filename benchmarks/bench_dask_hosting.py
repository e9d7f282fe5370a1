"""lamina's runtime hosted on a Dask cluster, beside lamina's own cluster and dask.distributed.

    python benchmarks/bench_dask_hosting.py                          # 100k chunks, README SVD
    python benchmarks/bench_dask_hosting.py --chunks 10000 --svd 20000x2000 --svd-chunks 5000,1000

Three systems, each 2 worker processes x 1 thread on loopback:

* ``lamina LocalCluster``: lamina's scheduler and workers as their own processes;
* ``lamina on Dask``: the same runtime inside a ``distributed.LocalCluster``
  (``lamina.Client.from_dask``: scheduler and worker plugins);
* ``dask.distributed``: Dask's own runtime on the same kind of cluster.

Two workloads: ``((x + 1) * 2).sum()`` over ``--chunks`` chunks, and the
README's SVD (``randomized_svd(g, 10, n_power_iter=2)`` on the demo genotype
matrix; Dask runs ``dask.array.linalg.svd_compressed`` on the same blocks,
given by ``Array.to_dask``). Each run is timed once after a warm-up, and
results are checked against each other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_distributed import dask_expression, lamina_expression, side_of  # noqa: E402

import lamina  # noqa: E402
import lamina.linalg as ll  # noqa: E402


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def lamina_runs(client: Any, side: int, g: Any, k: int, q: int) -> dict[str, tuple]:
    with client:  # randomized_svd's passes run on the client of the innermost `with`
        client.compute(lamina_expression(4)).result(600)  # warm-up
        return {"sum": timed(lambda: client.compute(lamina_expression(side)).result(1800)),
                "svd": timed(lambda: ll.randomized_svd(g, k, n_power_iter=q, seed=0).s)}


def dask_runs(dask_client: Any, side: int, g: Any, k: int, q: int,
              with_sum: bool) -> dict[str, tuple]:
    import dask.array as da

    dask_client.compute(dask_expression(4)).result()
    out = {"sum": timed(lambda: dask_client.compute(dask_expression(side)).result())
           if with_sum else (float("nan"), 4.0 * (side * 10) ** 2)}
    x = g.astype(np.float64).to_dask()

    def svd() -> np.ndarray:
        _, s, _ = da.linalg.svd_compressed(x, k, n_power_iter=q, seed=0)
        return dask_client.compute(s).result()

    out["svd"] = timed(svd)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--dask-max-chunks", type=int, default=100_000,
                        help="skip Dask's sum above this many chunks (it takes minutes)")
    parser.add_argument("--svd", default="100000x5000", help="demo matrix ROWSxCOLS")
    parser.add_argument("--svd-chunks", default="10000,2500", help="block R,C")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--power-iter", type=int, default=2)
    args = parser.parse_args()
    import distributed

    side = side_of(args.chunks)
    shape = tuple(int(v) for v in args.svd.split("x"))
    chunks = tuple(int(v) for v in args.svd_chunks.split(","))
    g = ll.genotype_matrix(shape, chunks=chunks)
    rows: dict[str, dict[str, tuple]] = {}
    with lamina.LocalCluster(n_workers=2, threads_per_worker=1) as cluster:
        rows["lamina LocalCluster"] = lamina_runs(lamina.Client(cluster), side, g, args.k,
                                                  args.power_iter)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as dask_client:
        rows["lamina on Dask"] = lamina_runs(lamina.Client.from_dask(dask_client), side, g,
                                             args.k, args.power_iter)
        rows["dask.distributed"] = dask_runs(dask_client, side, g, args.k, args.power_iter,
                                             side * side <= args.dask_max_chunks)

    expected_sum = 4.0 * (side * 10) ** 2
    reference = rows["lamina LocalCluster"]["svd"][1]
    for name, row in rows.items():
        assert row["sum"][1] == expected_sum, (name, row["sum"][1])
    # same runtime, same seed: the same values; Dask's own sketch: the same leading value
    np.testing.assert_allclose(rows["lamina on Dask"]["svd"][1], reference, rtol=1e-10)
    np.testing.assert_allclose(rows["dask.distributed"]["svd"][1][0], reference[0], rtol=1e-3)
    base = rows["dask.distributed"]
    print(f"\n2 workers x 1 thread; ((x + 1) * 2).sum() over {side * side:,} chunks; "
          f"randomized SVD {shape[0]:,}x{shape[1]:,} uint8, chunks {chunks[0]:,}x{chunks[1]:,}, "
          f"k={args.k}, q={args.power_iter}")
    print("| system | sum s | sum ÷ Dask | SVD s | SVD ÷ Dask | top singular value |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['sum'][0]:.2f} | {row['sum'][0] / base['sum'][0]:.2f} | "
              f"{row['svd'][0]:.2f} | {row['svd'][0] / base['svd'][0]:.2f} | "
              f"{row['svd'][1][0]:.6g} |")


if __name__ == "__main__":
    main()
