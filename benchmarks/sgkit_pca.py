"""sgkit's PCA of a VCF Zarr store, written as PLINK-style ``.eigenval``/``.eigenvec``.

    PYTHON_WITH_SGKIT benchmarks/sgkit_pca.py cohort.vcz -k 10 --out prefix

Run by ``bench_genotype_pca.py`` with the Python given as ``--sgkit-python``:
sgkit pins its own dask and zarr versions, so it lives in its own
environment. ``sgkit.pca`` (Patterson scaling, randomized SVD on Dask with
``--n-iter`` power iterations) on the alternate allele counts; the
eigenvalues are ``|projection_j|² / (2 variants)``: sgkit's Patterson
scale is ``sqrt(p (1 - p))`` where PLINK 2's (and lamina's) is
``sqrt(2 p (1 - p))``, so its squared singular values are twice theirs.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--n-iter", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants-per-chunk", type=int, default=10000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import dask
    import sgkit

    dask.config.set(scheduler="threads", num_workers=args.threads)
    ds = sgkit.load_dataset(args.store)
    ds = ds.chunk({"variants": args.variants_per_chunk, "samples": -1})
    calls = ds["call_genotype"]
    ds["call_alternate_allele_count"] = (calls > 0).sum("ploidy").astype("int8").where(
        (calls >= 0).all("ploidy"), -1)
    ds = sgkit.pca(ds, n_components=args.k, algorithm="randomized", n_iter=args.n_iter,
                   random_state=0, merge=False)
    projection = np.asarray(ds["sample_pca_projection"].compute())
    s2 = (projection**2).sum(axis=0)
    with open(args.out + ".eigenval", "w") as f:
        f.writelines(f"{x:.6g}\n" for x in s2 / (2 * ds.sizes["variants"]))
    vectors = projection / np.sqrt(s2)[None, :]
    with open(args.out + ".eigenvec", "w") as f:
        f.write("#FID\tIID\t" + "\t".join(f"PC{j + 1}" for j in range(args.k)) + "\n")
        for i, row in enumerate(vectors):
            f.write(f"s{i}\ts{i}\t" + "\t".join(f"{x:.6g}" for x in row) + "\n")
    print(f"sgkit: {ds.sizes['variants']} variants x {ds.sizes['samples']} samples, "
          f"n_iter={args.n_iter}")


if __name__ == "__main__":
    main()
