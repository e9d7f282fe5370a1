"""The SVD pass kernels on one block: 2-bit codecs and exact float32 products.

Run:  python benchmarks/bench_kernels.py [--rows 20000 --cols 5000]

One genotype-like block (uint8 codes 0..2), one thread (BLAS too), best of
``--repeat`` runs. Dask has no counterpart of these kernels; each row
compares two ways of doing the same work in the same run:

1. 2-bit packing and unpacking: the compiled loops (``_bits.pyx``) against
   the whole-array NumPy formulation kept for CuPy.
2. Unpacking into float64 slabs for a product: straight into the slab
   buffer against unpacking to uint8 and casting.
3. One single-read pass over the block (``Y = A Z`` and ``Aᵀ Y``) in
   float64: with a sign sketch, whose products run exactly in float32,
   against a Gaussian sketch, which keeps them in float64.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from lamina.layers.linalg import products  # noqa: E402
from lamina.layers.linalg.packing import (  # noqa: E402
    pack_2bit,
    pack_rows_vectorized,
    unpack_2bit,
    unpack_rows_vectorized,
)
from lamina.layers.linalg.payload import BlockView, try_pack  # noqa: E402
from lamina.linalg.randomized import sketch_matrix  # noqa: E402


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def drain_slabs(view: BlockView, dtype: Any) -> None:
    for _ in view.slabs(dtype):
        pass


def cast_after_unpack(packed: np.ndarray, width: int) -> None:
    drain_slabs(BlockView(unpack_rows_vectorized(np, packed, width)), np.float64)


def row_pass(block: np.ndarray, z: np.ndarray) -> None:
    products.row_pass([block], [z], None, dtype=np.float64, scaler=None, want_y=True,
                      want_w=True, pack=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--cols", type=int, default=5_000)
    p.add_argument("--l", type=int, default=20, help="sketch columns")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    block = rng.integers(0, 3, size=(args.rows, args.cols), dtype=np.uint8)
    packed = pack_2bit(block)
    payload = try_pack(block)
    assert np.array_equal(pack_rows_vectorized(np, block), packed)
    assert np.array_equal(unpack_2bit(packed, args.cols), block)
    signs = sketch_matrix(args.cols, args.l, 0, np.float64, signs=True)
    gauss = sketch_matrix(args.cols, args.l, 0, np.float64)
    r = args.repeat
    rows = [
        ("pack to 2 bits", best(lambda: pack_2bit(block), r),
         best(lambda: pack_rows_vectorized(np, block), r), "compiled", "whole-array"),
        ("unpack to uint8", best(lambda: unpack_2bit(packed, args.cols), r),
         best(lambda: unpack_rows_vectorized(np, packed, args.cols), r),
         "compiled", "whole-array"),
        ("unpack into float64 slabs", best(lambda: drain_slabs(BlockView(payload), np.float64),
                                            r),
         best(lambda: cast_after_unpack(packed, args.cols), r), "straight", "via uint8"),
        (f"pass Y = A Z, Aᵀ Y (l={args.l}, float64)", best(lambda: row_pass(block, signs), r),
         best(lambda: row_pass(block, gauss), r), "signs: exact f32", "Gaussian: f64"),
    ]
    print(f"\n## one {args.rows:,} x {args.cols:,} block of codes, 1 thread, best of {r}")
    print(f"{'kernel':<36} {'new':>16} {'s':>7} {'old':>16} {'s':>7} {'speed-up':>9}")
    for name, new, old, new_name, old_name in rows:
        print(f"{name:<36} {new_name:>16} {new:>7.3f} {old_name:>16} {old:>7.3f} "
              f"{old / new:>8.1f}x")


if __name__ == "__main__":
    main()
