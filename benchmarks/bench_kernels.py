"""The SVD pass kernels on one block: 2-bit codecs and exact float32 products.

Run:  python benchmarks/bench_kernels.py [--rows 20000 --cols 5000]

One genotype-like block (uint8 codes 0..2), one thread (BLAS too), the
least CPU seconds of ``--repeat`` runs. Dask has no counterpart of these kernels; each row
compares two ways of doing the same work in the same run:

1. 2-bit packing and unpacking: the compiled loops (``_bits.pyx``) against
   the whole-array NumPy formulation kept for CuPy.
2. Unpacking into float64 slabs for a product: straight into the slab
   buffer against unpacking to uint8 and casting.
3. One single-read pass over the block (``Y = A Z`` and ``Aᵀ Y``) in
   float64: with a sign sketch, whose products run exactly in float32,
   against a Gaussian sketch, which keeps them in float64.
4. The fused kernels (``fused.py``: ``G Z`` by per-byte tables of four rows
   of ``Z``, ``Gᵀ Y`` by per-byte tables of four rows of ``Y``, straight from
   the packed bytes) against unpacking into
   float slabs and the BLAS, in float32 and float64, and one whole pass of a
   genotype PCA (missing calls, Patterson scaling) each way. A second table
   puts each product against the machine's bounds measured in the same run:
   GB/s of packed input beside a large memory copy, and GFLOP/s (the dense
   product's ``2 m n l``) beside a large square BLAS product (the compute
   bound of the unpack-then-BLAS path).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from lamina.layers.linalg import fused, products  # noqa: E402
from lamina.layers.linalg.packing import (  # noqa: E402
    pack_2bit,
    pack_rows_vectorized,
    unpack_2bit,
    unpack_rows_vectorized,
)
from lamina.layers.linalg.payload import BlockView, Packed2Bit, try_pack  # noqa: E402
from lamina.linalg.randomized import sketch_matrix  # noqa: E402


def best(fn: Callable[[], Any], repeat: int) -> float:
    """Least CPU seconds of ``repeat`` calls (one thread: steadier than wall time
    when other users load the machine)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def drain_slabs(view: BlockView, dtype: Any) -> None:
    for _ in view.slabs(dtype):
        pass


def cast_after_unpack(packed: np.ndarray, width: int) -> None:
    drain_slabs(BlockView(unpack_rows_vectorized(np, packed, width)), np.float64)


def row_pass(block: np.ndarray, z: np.ndarray) -> None:
    products.row_pass([block], [z], None, dtype=np.float64, scaler=None, want_y=True,
                      want_w=True, pack=False)


def blas_gz(payload: Packed2Bit, z: np.ndarray) -> np.ndarray:
    """``G z`` the old way: unpack a slab at a time into floats, then the BLAS."""
    view = BlockView(payload)
    out = np.empty((payload.shape[0], z.shape[1]), dtype=z.dtype)
    for start, stop, slab in view.slabs(z.dtype):
        np.matmul(slab, z, out=out[start:stop])
    return out


def blas_gty(payload: Packed2Bit, y: np.ndarray) -> np.ndarray:
    view = BlockView(payload)
    out = np.zeros((y.shape[1], payload.shape[1]), dtype=y.dtype)
    for start, stop, slab in view.slabs(y.dtype):
        out += y[start:stop].T @ slab
    return out.T


def genotype_pass(payload: Packed2Bit, z: np.ndarray, stats: Any, on: bool) -> Any:
    """One later pass of a genotype PCA (stats known), fused kernels on or off."""
    saved = fused.MIN_ROWS
    fused.MIN_ROWS = saved if on else 2**62
    try:
        return products.row_pass([payload], [z], stats, dtype=np.float64, scaler="patterson",
                                 want_y=True, want_w=True, pack=False)
    finally:
        fused.MIN_ROWS = saved


def bounds(repeat: int) -> tuple[float, float]:
    """(GB/s of a 256 MiB copy, float64 GFLOP/s of a 2000^3 BLAS product) on one thread."""
    src = np.ones(2**25)
    dst = np.empty_like(src)
    copy = best(lambda: np.copyto(dst, src), repeat)
    a = np.ones((2000, 2000))
    gemm = best(lambda: a @ a, max(2, repeat // 2))
    return 2 * src.nbytes / copy / 1e9, 2 * 2000**3 / gemm / 1e9


def fused_tables(args: argparse.Namespace, block: np.ndarray, payload: Packed2Bit) -> None:
    rng = np.random.default_rng(1)
    r, (m, n), l = args.repeat, block.shape, args.l
    rows, bound_rows = [], []
    packed_gb = payload.nbytes / 1e9
    for dtype in (np.float32, np.float64):
        z = rng.standard_normal((n, l)).astype(dtype)
        y = rng.standard_normal((m, l)).astype(dtype)
        for name, new, old in [
            ("G Z", lambda: fused.packed_gz(payload.data, n, z), lambda: blas_gz(payload, z)),
            ("Gᵀ Y", lambda: fused.packed_gty(payload.data, n, y),
             lambda: blas_gty(payload, y)),
        ]:
            t_new, t_old = best(new, r), best(old, r)
            label = f"{name}, l={l}, {np.dtype(dtype).name}"
            rows.append((label, t_new, t_old, "fused 2-bit", "unpack + BLAS"))
            bound_rows.append((label, t_new, t_old))
    codes = np.where(rng.random(block.shape) < 0.02, 3, block).astype(np.uint8)
    genotypes = Packed2Bit(pack_2bit(codes), block.shape, np.dtype(np.int8), True)
    omega = sketch_matrix(n, l, 0, np.float64, signs=True)
    _, _, stats = genotype_pass(genotypes, omega, None, True)
    z = np.linalg.qr(rng.standard_normal((n, l)))[0]
    rows.append((f"PCA pass (2% missing), l={l}, float64",
                 best(lambda: genotype_pass(genotypes, z, stats, True), r),
                 best(lambda: genotype_pass(genotypes, z, stats, False), r),
                 "fused 2-bit", "unpack + BLAS"))
    print_rows(f"fused kernels on one {m:,} x {n:,} block, 1 thread, best of {r}", rows)
    copy_gbs, gemm_gflops = bounds(r)
    print(f"\n## against the bounds: memory copy {copy_gbs:.1f} GB/s, float64 BLAS "
          f"{gemm_gflops:.1f} GFLOP/s (2000^3), one thread")
    print(f"{'product':<28} {'fused GB/s':>10} {'fused GFLOP/s':>13} {'BLAS path GFLOP/s':>17} "
          f"{'fused/BLAS bound':>16}")
    flops = 2 * m * n * l / 1e9
    for label, t_new, t_old in bound_rows:
        print(f"{label:<28} {packed_gb / t_new:>10.2f} {flops / t_new:>13.1f} "
              f"{flops / t_old:>17.1f} {flops / t_new / gemm_gflops:>16.2f}")


def print_rows(title: str, rows: list) -> None:
    print(f"\n## {title}")
    print(f"{'kernel':<40} {'new':>16} {'s':>7} {'old':>16} {'s':>7} {'speed-up':>9}")
    for name, new, old, new_name, old_name in rows:
        print(f"{name:<40} {new_name:>16} {new:>7.3f} {old_name:>16} {old:>7.3f} "
              f"{old / new:>8.1f}x")


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
    print_rows(f"one {args.rows:,} x {args.cols:,} block of codes, 1 thread, best of {r}", rows)
    fused_tables(args, block, payload)


if __name__ == "__main__":
    main()
