"""Linear algebra on chunked arrays: exact TSQR/SVD and few-pass randomized SVD.

    import lamina.linalg as ll
    q, r = ll.tsqr(tall)                           # tall: one block along the columns
    u, s, v = ll.svd(tall)                         # exact, lazy Arrays
    u, s, v = ll.svd_compressed(g, k=10, n_power_iter=2, iterator="QR", seed=0, compute=True)
    u, s, v = ll.pca(genotypes, k=10)              # Patterson-scaled, never densified
    gt = ll.open_genotypes("cohort.bed")           # or VCF Zarr; gt.array, gt.samples
    g2 = ll.persist_compressed(genotypes, codec="2bit")

Sign convention: the largest-magnitude entry of each right singular vector
(row of ``v``) is positive (``lamina.layers.linalg.signs``); QR has ``diag(r) ≥ 0``.
"""

from lamina.layers.linalg.packing import pack_2bit, unpack_2bit
from lamina.layers.linalg.scaling import patterson_reference
from lamina.layers.linalg.signs import flip_signs
from lamina.linalg.compressed import open_zarr, persist_compressed, write_zarr
from lamina.linalg.genotypes import genotype_matrix
from lamina.linalg.pca import pca, pca_result
from lamina.linalg.randomized import (
    SVDResult,
    compression_matrix,
    randomized_svd,
    svd_compressed,
)
from lamina.linalg.readers import (
    BedWriter,
    Genotypes,
    open_genotypes,
    read_bed,
    read_pgen,
    read_vcf_zarr,
    write_bed,
)
from lamina.linalg.tsqr import qr, svd, tsqr

__all__ = [
    "BedWriter", "Genotypes", "SVDResult", "compression_matrix", "flip_signs", "genotype_matrix",
    "open_genotypes", "open_zarr", "pack_2bit", "pca", "pca_result", "patterson_reference",
    "persist_compressed", "qr", "randomized_svd", "read_bed", "read_pgen", "read_vcf_zarr", "svd",
    "svd_compressed", "tsqr", "unpack_2bit", "write_bed", "write_zarr",
]
