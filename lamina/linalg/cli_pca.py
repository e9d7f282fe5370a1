"""``lamina pca``: genotype PCA from a file, written in PLINK's layout.

    lamina pca cohort.bed -k 10 --out cohort        # cohort.eigenval, cohort.eigenvec
    lamina pca cohort.vcz -k 10 --threads 2         # VCF Zarr
    lamina pca geno.zarr -k 10 --power-iter 2       # Dask's power iteration instead

The input format is detected (``open_genotypes``). ``.eigenval`` holds one
eigenvalue of the genomic relationship matrix per line (``s² / variants``,
as PLINK 2 reports them); ``.eigenvec`` a ``#FID IID PC1 ...`` header and one
line per sample with its unit eigenvector entries. The summary line gives
the passes over the data, the wall time and the peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from typing import Any, TextIO

import numpy as np


def add_pca_parser(sub: Any) -> None:
    """Register the ``pca`` subcommand on an argparse subparsers object."""
    from lamina.linalg.pca import KRYLOV_MAX_ITER, KRYLOV_TOL

    p = sub.add_parser("pca", help="principal components of a genotype file",
                       description="Genotype PCA of a PLINK 1 .bed fileset, a VCF Zarr "
                                   "store or a 2-D zarr array of codes; missing calls are "
                                   "mean-imputed per variant.")
    p.add_argument("input", help="INPUT.bed (or its prefix), a VCF Zarr store or a zarr array")
    p.add_argument("-k", type=int, default=10, help="number of components (default 10)")
    p.add_argument("--out", default="lamina", metavar="PREFIX",
                   help="write PREFIX.eigenval and PREFIX.eigenvec (default: lamina)")
    p.add_argument("--scaler", choices=("patterson", "center"), default="patterson",
                   help="variant scaling (default patterson, as PLINK)")
    p.add_argument("--tol", type=float, default=KRYLOV_TOL,
                   help=f"stop once the relative error left in the top-k eigenvalues, "
                        f"estimated from the last two passes, is at most this "
                        f"(default {KRYLOV_TOL})")
    p.add_argument("--max-iter", type=int, default=KRYLOV_MAX_ITER,
                   help=f"at most this many block Krylov iterations (default {KRYLOV_MAX_ITER})")
    p.add_argument("--power-iter", type=int, default=None, metavar="Q",
                   help="run Dask's power iteration with Q iterations instead of block Krylov")
    p.add_argument("--oversamples", type=int, default=10, help="extra sketch columns (default 10)")
    p.add_argument("--variants-per-block", type=int, default=None,
                   help="variants per block (default: about 8 MiB of 2-bit codes)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random sketch (default 0)")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")


def write_plink_pca(prefix: str, samples: list, s: np.ndarray, v: np.ndarray,
                    n_variants: int) -> None:
    """``prefix.eigenval`` and ``prefix.eigenvec`` in PLINK 2's layout."""
    with open(prefix + ".eigenval", "w") as f:
        f.writelines(f"{x:.6g}\n" for x in s**2 / max(n_variants, 1))
    header = "#FID\tIID\t" + "\t".join(f"PC{j + 1}" for j in range(v.shape[0]))
    with open(prefix + ".eigenvec", "w") as f:
        f.write(header + "\n")
        for (fid, iid), row in zip(samples, v.T):
            f.write(f"{fid}\t{iid}\t" + "\t".join(f"{x:.6g}" for x in row) + "\n")


def peak_memory_mib() -> float:
    """Peak resident memory of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


def run_pca(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``lamina pca`` (see the module docs); returns the exit status."""
    from lamina.linalg.pca import pca_result
    from lamina.linalg.readers import open_genotypes

    start = time.perf_counter()
    gt = open_genotypes(args.input, args.variants_per_block)
    m, n = gt.array.shape
    if args.power_iter is None:
        options = dict(method="krylov", n_power_iter=args.max_iter, tol=args.tol,
                       want_u=False)
    else:
        options = dict(method="power", n_power_iter=args.power_iter)
    result = pca_result(gt.array, args.k, scaler=args.scaler, n_oversamples=args.oversamples,
                        seed=args.seed, nthreads=args.threads, **options)
    write_plink_pca(args.out, gt.samples, result.s, result.v, m)
    elapsed = time.perf_counter() - start
    out.write(f"pca: {m} variants x {n} samples ({gt.format}), k={args.k}, "
              f"{options['method']}, passes: {result.passes}, {elapsed:.2f} s, "
              f"peak memory {peak_memory_mib():.0f} MiB\n")
    out.write(f"wrote {args.out}.eigenval and {args.out}.eigenvec\n")
    return 0
