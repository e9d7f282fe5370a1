"""Large-SVD benchmarks: lamina beside Dask in the same run, 2 threads each.

Run:  python benchmarks/bench_svd.py                  # a few minutes on 2 cores
      python benchmarks/bench_svd.py --full           # the issue's sizes (much longer)
      python benchmarks/bench_svd.py --only tall --tall-rows 2000000

Every measurement runs in a fresh subprocess (machines are shared and
noisy: the fastest of several runs is reported, and the CPU seconds of
the timed part, which other users' load disturbs less), so peak RSS (``ru_maxrss``)
belongs to that one computation (imports included; the "base" column is
the RSS after importing both libraries and making the input). Both libraries read the same
input: the demo genotype matrix of ``lamina.linalg.genotype_matrix``
(uint8 0/1/2 with population structure), generated block by block from the
seed each time a block is read — Dask through ``map_blocks`` on the same
block function — and both count how often each block was generated.
OpenBLAS runs one thread per worker thread in both (``--blas-threads``).

Tables:

1. ``svd_compressed`` (k=10, q=0 and q=2): lamina ``svd_compressed``
   vs ``dask.array.linalg.svd_compressed(..., compute=True)`` (Dask's
   memory-friendly mode: recompute instead of pin), threaded scheduler.
   Accuracy: largest and mean relative error of the k singular values
   against a reference run (lamina, QR iterator, q=4, 20 oversamples),
   median over ``--seeds`` sketch seeds. A "lamina f32" row computes the
   uint8 input in float32 (``dtype=np.float32``).
2. Tall-and-skinny exact SVD of a random float64 matrix held in memory:
   ``lamina.linalg.svd`` vs ``dask.array.linalg.svd``; accuracy is
   ``||A − U S V|| / ||A||`` and ``||UᵀU − I||``.
3. Peak RSS when the row count doubles (svd_compressed, q=0).

The default compressed size, 80_000 x 10_000 in blocks of 20_000 x 5_000,
gives 4 row blocks, an even load for 2 threads (the single-read passes
work per row block). The issue's full case: ``--full`` = 200_000 x 20_000,
chunks 20_000 x 5_000, and a tall matrix of 2_000_000 x 20.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# workers (each runs in its own process) -------------------------------------
def _genotype_layer(spec: dict) -> Any:
    from lamina.linalg import genotype_matrix

    return genotype_matrix(tuple(spec["shape"]), chunks=tuple(spec["chunks"]),
                           seed=spec.get("data_seed", 0)).layer


def _count_reads(layer: Any) -> dict:
    """Wrap the layer class's block generator to count calls per block."""
    import threading

    counts: dict = {}
    lock = threading.Lock()
    generate = type(layer).load_block

    def counting(self: Any, block: int) -> Any:
        with lock:
            counts[block] = counts.get(block, 0) + 1
        return generate(self, block)

    type(layer).load_block = counting
    return counts


def worker_compressed(spec: dict) -> dict:
    import dask
    import dask.array as da

    from lamina.array.core import Array
    from lamina.linalg import randomized_svd

    layer = _genotype_layer(spec)
    counts = _count_reads(layer)
    k, q = spec["k"], spec["q"]
    base = rss_mib()
    cpu, start = cpu_seconds(), time.perf_counter()
    if spec["lib"] == "lamina":
        result = randomized_svd(Array(layer), k, n_power_iter=q, iterator=spec["iterator"],
                                n_oversamples=spec["oversamples"], seed=spec["seed"],
                                dtype=spec.get("dtype"), nthreads=spec["threads"])
        s = result.s
    else:
        def block(block_id: tuple = None) -> np.ndarray:
            return layer.load_block(int(np.ravel_multi_index(block_id, layer.numblocks)))

        x = da.map_blocks(block, chunks=layer.chunks, dtype=np.uint8,
                          meta=np.empty((0, 0), dtype=np.uint8))
        with dask.config.set(scheduler="threads", num_workers=spec["threads"]):
            u, s, v = da.linalg.svd_compressed(x, k, n_power_iter=q, iterator=spec["iterator"],
                                               n_oversamples=spec["oversamples"],
                                               seed=spec["seed"], compute=True)
            u, s, v = dask.compute(u, s, v)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    reads = sorted(set(counts.values()))
    return {"wall": wall, "cpu": cpu, "peak": rss_mib(), "base": base,
            "s": np.asarray(s).tolist(), "reads": reads}


def worker_tall(spec: dict) -> dict:
    import dask
    import dask.array as da

    import lamina
    import lamina.array as la
    from lamina.linalg import svd

    x = np.random.default_rng(spec["seed"]).standard_normal(tuple(spec["shape"]))
    chunks = (spec["chunk_rows"], x.shape[1])
    base = rss_mib()
    cpu, start = cpu_seconds(), time.perf_counter()
    if spec["lib"] == "lamina":
        u, s, v = lamina.compute(*svd(la.from_array(x, chunks=chunks)), nthreads=spec["threads"])
    else:
        with dask.config.set(scheduler="threads", num_workers=spec["threads"]):
            u, s, v = dask.compute(*da.linalg.svd(da.from_array(x, chunks=chunks)))
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    peak = rss_mib()
    residual = np.linalg.norm(x - (u * s) @ v) / np.linalg.norm(x)
    ortho = np.abs(u.T @ u - np.eye(u.shape[1])).max()
    return {"wall": wall, "cpu": cpu, "peak": peak, "base": base, "residual": float(residual),
            "ortho": float(ortho)}


WORKERS = {"compressed": worker_compressed, "tall": worker_tall}


def measure(kind: str, spec: dict, blas_threads: int, repeat: int = 1) -> dict:
    """Best (by wall time) of ``repeat`` runs of a worker, each in a fresh interpreter."""
    runs = [_measure_once(kind, spec, blas_threads) for _ in range(max(repeat, 1))]
    return min(runs, key=lambda r: r["wall"])


def _measure_once(kind: str, spec: dict, blas_threads: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads),
               OMP_NUM_THREADS=str(blas_threads), MKL_NUM_THREADS=str(blas_threads))
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(here), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# tables -----------------------------------------------------------------------
def compressed_table(args: argparse.Namespace) -> None:
    shape, chunks = (args.rows, args.cols), args.chunks
    base = dict(shape=shape, chunks=chunks, seed=0, k=args.k, oversamples=10,
                threads=args.threads, dtype=None)
    print(f"\n## svd_compressed, {shape[0]:,} x {shape[1]:,} uint8 genotypes, chunks "
          f"{chunks[0]:,} x {chunks[1]:,}, k={args.k}, {args.threads} threads, "
          f"{args.seeds} sketch seed(s)")
    if args.no_reference:
        s_ref = None
        print("no reference run: the error columns are left empty")
    else:
        ref = measure("compressed", dict(base, lib="lamina", q=4, iterator="QR",
                                         oversamples=20), args.blas_threads)
        s_ref = np.asarray(ref["s"])
        print(f"reference: lamina QR q=4 p=20 in {ref['wall']:.1f} s; s = "
              + " ".join(f"{v:.5g}" for v in s_ref))
    print(f"{'q':>2} {'iterator':>8} {'lib':>11} {'wall s':>8} {'cpu s':>7} {'peak MiB':>9} "
          f"{'base MiB':>9} {'reads/block':>11} {'max rel err':>12} {'mean rel err':>13}")
    libs = [("lamina", None), ("lamina f32", "float32"), ("dask", None)]
    for q in args.q:
        rows = {}
        for lib, dtype in libs:
            if lib == "dask" and args.skip_dask:
                continue
            runs = [measure("compressed", dict(base, lib=lib.split()[0], q=q, dtype=dtype,
                                               iterator=args.iterator, seed=seed),
                            args.blas_threads) for seed in range(args.seeds)]
            errors = [np.abs(np.asarray(r["s"]) - s_ref) / s_ref if s_ref is not None
                      else np.full(len(r["s"]), np.nan) for r in runs]
            rows[lib] = r = dict(wall=min(r["wall"] for r in runs),
                                 cpu=min(r["cpu"] for r in runs),
                                 peak=max(r["peak"] for r in runs))
            print(f"{q:>2} {args.iterator:>8} {lib:>11} {r['wall']:>8.2f} {r['cpu']:>7.1f} "
                  f"{r['peak']:>9.0f} "
                  f"{runs[0]['base']:>9.0f} {','.join(map(str, runs[0]['reads'])):>11} "
                  f"{np.median([e.max() for e in errors]):>12.2e} "
                  f"{np.median([e.mean() for e in errors]):>13.2e}")
        if "dask" in rows:
            lam, dsk = rows["lamina"], rows["dask"]
            print(f"{'':>2} {'':>8} {'ratio':>11} {lam['wall'] / dsk['wall']:>8.2f} "
                  f"{lam['cpu'] / dsk['cpu']:>7.2f} {lam['peak'] / dsk['peak']:>9.2f}"
                  "   (lamina float64 / dask)")


def tall_table(args: argparse.Namespace) -> None:
    shape = (args.tall_rows, args.tall_cols)
    print(f"\n## exact tall-and-skinny svd, {shape[0]:,} x {shape[1]} float64, chunks "
          f"{args.tall_chunk:,} rows, {args.threads} threads")
    print(f"{'lib':>7} {'wall s':>8} {'cpu s':>7} {'peak MiB':>9} {'base MiB':>9} "
          f"{'residual':>10} {'|UtU-I|':>10}")
    rows = {}
    for lib in ("lamina", "dask"):
        if lib == "dask" and args.skip_dask:
            continue
        r = measure("tall", dict(shape=shape, chunk_rows=args.tall_chunk, seed=1, lib=lib,
                                 threads=args.threads), args.blas_threads, args.repeat)
        rows[lib] = r
        print(f"{lib:>7} {r['wall']:>8.2f} {r['cpu']:>7.2f} {r['peak']:>9.0f} {r['base']:>9.0f} "
              f"{r['residual']:>10.1e} {r['ortho']:>10.1e}")
    if "dask" in rows:
        lam, dsk = rows["lamina"], rows["dask"]
        print(f"{'ratio':>7} {lam['wall'] / dsk['wall']:>8.2f} {lam['cpu'] / dsk['cpu']:>7.2f} "
              f"{lam['peak'] / dsk['peak']:>9.2f}   (lamina / dask)")


def rows_table(args: argparse.Namespace) -> None:
    print(f"\n## peak RSS as the rows double (svd_compressed q=0, {args.cols:,} columns, "
          f"chunks {args.chunks[0]:,} x {args.chunks[1]:,})")
    print(f"{'rows':>10} {'lib':>7} {'wall s':>8} {'peak MiB':>9}")
    peaks: dict = {}
    for lib in ("lamina", "dask"):
        if lib == "dask" and args.skip_dask:
            continue
        for rows in (args.rows, 2 * args.rows):
            r = measure("compressed", dict(shape=(rows, args.cols), chunks=args.chunks, seed=0,
                                           k=args.k, oversamples=10, threads=args.threads,
                                           lib=lib, q=0, iterator="power"), args.blas_threads)
            peaks.setdefault(lib, []).append(r["peak"])
            print(f"{rows:>10,} {lib:>7} {r['wall']:>8.2f} {r['peak']:>9.0f}")
    for lib, (small, large) in peaks.items():
        print(f"{lib}: peak RSS x{large / small:.3f} when the rows double")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="the issue's sizes")
    p.add_argument("--rows", type=int, default=80_000)
    p.add_argument("--cols", type=int, default=10_000)
    p.add_argument("--chunks", type=lambda s: tuple(int(v) for v in s.split(",")),
                   default=(20_000, 5_000))
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--q", type=lambda s: [int(v) for v in s.split(",")], default=[0, 2])
    p.add_argument("--iterator", choices=("power", "QR"), default="power")
    p.add_argument("--tall-rows", type=int, default=500_000)
    p.add_argument("--tall-cols", type=int, default=20)
    p.add_argument("--tall-chunk", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--blas-threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3,
                   help="runs per tall-SVD measurement, the fastest reported")
    p.add_argument("--seeds", type=int, default=1,
                   help="sketch seeds per svd_compressed measurement: fastest wall time, "
                        "largest peak, median errors")
    p.add_argument("--skip-dask", action="store_true")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the reference run (timings only, no errors)")
    p.add_argument("--only", choices=("compressed", "tall", "rows"), action="append")
    args = p.parse_args()
    if args.full:
        args.rows, args.cols, args.chunks = 200_000, 20_000, (20_000, 5_000)
        args.tall_rows = 2_000_000
    only = set(args.only or ("compressed", "tall", "rows"))
    if "compressed" in only:
        compressed_table(args)
    if "tall" in only:
        tall_table(args)
    if "rows" in only:
        rows_table(args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(WORKERS[sys.argv[2]](json.loads(sys.argv[3]))))
    else:
        main()
