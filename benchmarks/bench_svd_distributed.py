"""Randomized SVD on a cluster: bytes on the wire per pass, and time.

    python benchmarks/bench_svd_distributed.py
    python benchmarks/bench_svd_distributed.py --workers 4 --threads 1 --power-iter 2

For demo genotype matrices of growing block counts, runs
``randomized_svd(g, k, n_power_iter=q, seed=0)`` on the embedded runner and
on a ``LocalCluster`` (loopback TCP), and prints per input:

* the graph message of each pass as ``Client.compute`` sends it (layers as
  parameters), how much of it is in-memory buffers (the sketch matrix ``Z``
  and row statistics), and the same pass sent lowered (every layer's block
  dependencies as integer arrays, what an untrusted layer type costs);
* wall time embedded and on the cluster, and the largest difference of the
  singular values between the two.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import lamina.linalg as ll  # noqa: E402
from lamina.client import Client, Future, LocalCluster  # noqa: E402
from lamina.comm.core import framed_nbytes  # noqa: E402
from lamina.comm.wire import dumps  # noqa: E402
from lamina.layers.codec import LayerCodec  # noqa: E402

CASES = [
    ((20_000, 2_000), (2_000, 500)),
    ((100_000, 2_000), (1_000, 250)),
    ((200_000, 1_000), (200, 100)),
]


class PassLog:
    """Wraps ``client.compute``: per run, bytes sent, bytes in buffers, bytes if lowered."""

    def __init__(self, client: Client) -> None:
        self.rows: list[tuple[int, int, int]] = []
        self.compute = client.compute
        client.compute = self.logged

    def logged(self, *arrays: Any, **kwargs: Any) -> Any:
        futures = self.compute(*arrays, **kwargs)
        first = futures if isinstance(futures, Future) else futures[0]
        roots = {"roots": tuple(a.layer for a in arrays)}
        lowered = dumps(roots, extension=LayerCodec(lambda _: False), warn_above=None)
        frames = dumps(roots, extension=LayerCodec())
        self.rows.append((first.graph_nbytes, framed_nbytes(frames) - len(frames[0]),
                          framed_nbytes(lowered)))
        return futures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--power-iter", type=int, default=1)
    args = parser.parse_args()
    nthreads = args.workers * args.threads
    print(f"randomized_svd(k={args.k}, n_power_iter={args.power_iter}); cluster: "
          f"{args.workers} workers x {args.threads} threads; embedded: {nthreads} threads\n")
    header = ("shape", "chunks", "blocks", "bytes/pass", "of which buffers", "lowered/pass",
              "embedded", "cluster", "max |Δs|")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads) as cluster:
        for shape, chunks in CASES:
            g = ll.genotype_matrix(shape, chunks=chunks, seed=0)
            options = dict(n_power_iter=args.power_iter, seed=0)
            start = time.perf_counter()
            here = ll.randomized_svd(g, args.k, nthreads=nthreads, **options)
            embedded = time.perf_counter() - start
            with Client(cluster) as client:
                log = PassLog(client)
                start = time.perf_counter()
                there = ll.randomized_svd(g, args.k, **options)
                on_cluster = time.perf_counter() - start
            sent = [r[0] for r in log.rows]
            buffers = [r[1] for r in log.rows]
            lowered = [r[2] for r in log.rows]
            print(f"| {shape[0]}x{shape[1]} | {chunks[0]}x{chunks[1]} | {g.layer.nblocks:,} | "
                  f"{_span(sent)} | {_span(buffers)} | {_span(lowered)} | {embedded:.2f} s | "
                  f"{on_cluster:.2f} s | {np.abs(there.s - here.s).max():.1e} |")


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return _bytes(lo) if lo == hi else f"{_bytes(lo)}–{_bytes(hi)}"


def _bytes(n: int) -> str:
    if n < 10_000:
        return f"{n:,} B"
    if n < 10_000_000:
        return f"{n / 1e3:.1f} KB"
    return f"{n / 1e6:.1f} MB"


if __name__ == "__main__":
    main()
