"""``Aᵀ Y`` of one held genotype block: packed along columns (``G Z`` kernel) vs the
row-packed bucket kernel (``Gᵀ Y``) vs unpacking and the BLAS, side by side.

Run:  python benchmarks/bench_colpacked.py [--rows 20000 --cols 5000 --l 20 --repeat 3]

One block of the demo genotype matrix (the ``bench_svd.py`` block), one
thread (run with ``OPENBLAS_NUM_THREADS=1``), best of ``--repeat``, CPU
seconds of the calling thread. "float64" is a later power iteration (``Y``
Gaussian); "first pass" is ``Y = A Ω`` with a sign sketch (integer ``Y``:
exact float32 pieces of 4,096 rows for the column-packed block; the bucket
kernel sums over the whole block, so it runs in float32 only when that
whole sum is exact, which 20,000 rows are too many for). The column-packed
time includes packing the block (it is packed once per pass and read once).

Run from the repository root with ``PYTHONPATH=.`` (or an installed checkout).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

from lamina.layers.linalg.colpacked import columns_product, pack_columns
from lamina.layers.linalg.exact import product_dtype
from lamina.layers.linalg.fused import packed_gty
from lamina.layers.linalg.genotypes import GenotypeBlocks
from lamina.layers.linalg.payload import BlockView, try_pack


def best(f: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.thread_time()
        out = f()
        times.append(time.thread_time() - start)
    return min(times), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--cols", type=int, default=5_000)
    p.add_argument("--l", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    m, n = args.rows, args.cols
    block = GenotypeBlocks((m, n), ((m,), (n,)), 0, 4, 0.1).load_block(0)
    rng = np.random.default_rng(0)
    signs = np.sign(rng.standard_normal((n, args.l)))
    cases = {"float64": rng.standard_normal((m, args.l)),
             "first pass": block.astype(np.float64) @ signs}
    row_packed = try_pack(block)
    print(f"## Aᵀ Y of one {m:,} x {n:,} genotype block, l={args.l}, one thread, "
          f"best of {args.repeat} (CPU s)")
    print(f"{'Y':>11} {'col-packed':>11} {'(pack)':>7} {'bucket':>8} {'unpack+BLAS':>12} "
          f"{'bucket / col':>13} {'max |diff|':>11}")
    for name, y in cases.items():
        t_pack, held = best(lambda: pack_columns(block), args.repeat)
        t_col, w_col = best(lambda: columns_product(held, y, np.float64), args.repeat)
        dtype = product_dtype(3, m, y, np.float64)
        t_gty, w_gty = best(lambda: packed_gty(row_packed.data, n, y.astype(dtype)),
                            args.repeat)
        t_blas, w_blas = best(lambda: _unpacked(row_packed, y), args.repeat)
        diff = max(np.abs(w_col - w_gty).max(), np.abs(w_col - w_blas).max())
        col = t_pack + t_col
        print(f"{name:>11} {col:>11.3f} {t_pack:>7.3f} {t_gty:>8.3f} {t_blas:>12.3f} "
              f"{t_gty / col:>13.2f} {diff:>11.1e}")


def _unpacked(packed: Any, y: np.ndarray) -> np.ndarray:
    wt = np.zeros((y.shape[1], packed.shape[1]))
    for start, stop, slab in BlockView(packed).slabs(np.float64):
        wt += y[start:stop].T @ slab
    return wt.T


if __name__ == "__main__":
    main()
