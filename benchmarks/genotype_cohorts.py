"""msprime cohorts for the genotype PCA benchmarks, written as ``.bed`` and VCF Zarr.

    python benchmarks/genotype_cohorts.py --samples 5000 --variants 100000 --out c5k
    python benchmarks/genotype_cohorts.py --samples 50000 --variants 200000 --tiles 4 ...

Populations: ``--populations`` demes of 10,000 diploids each in an island
model (symmetric migration ``--migration`` per generation), sampled evenly,
coalescent with recombination (1e-8 per base per generation) and biallelic
mutations (``--mutation-rate``). Variants with minor allele frequency
under ``--maf`` are dropped, as genotype PCA pipelines do. Chromosomes of
``--length`` bases are simulated with their own seeds until the cohort
has ``--variants`` variants (independent segments, as real chromosomes).

``--tiles T`` makes a large cohort affordable: each simulated block of
variants is written ``T`` times, copy ``t`` with its samples permuted
within each population by a permutation fixed per copy. Allele
frequencies per population (the structure PCA finds) and linkage within
a copy are kept; only between copies do the samples' relatedness differ
from one simulated genome, not their ancestry. Without tiles (the
default) every variant is simulated.

Output: ``OUT.bed/.bim/.fam`` and, with ``--vcz``, ``OUT.vcz`` in the
layout ``vcf2zarr`` writes (``call_genotype`` variants x samples x 2
int8, ``sample_id``, ``variant_position``, ``variant_allele``; zarr v2
format and xarray dimension names as vcf2zarr writes them).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lamina.linalg.readers import BedWriter  # noqa: E402

BUFFER = 2000


def population_permutations(n_samples: int, n_pops: int, tiles: int, seed: int) -> list:
    """One permutation of the samples per tile, each within populations (tile 0: identity)."""
    rng = np.random.default_rng(seed)
    bounds = np.linspace(0, n_samples, n_pops + 1).astype(int)
    perms = [np.arange(n_samples)]
    for _ in range(1, tiles):
        perms.append(np.concatenate([lo + rng.permutation(hi - lo)
                                     for lo, hi in zip(bounds[:-1], bounds[1:])]))
    return perms


def chromosome_blocks(n_samples: int, n_pops: int, length: float, migration: float,
                      mutation_rate: float, maf: float, seed: int):
    """Blocks (variants x samples uint8 dosages) of one simulated chromosome, MAF-filtered."""
    import msprime

    demography = msprime.Demography.island_model([1e4] * n_pops, migration_rate=migration)
    sizes = np.diff(np.linspace(0, n_samples, n_pops + 1).astype(int))
    ts = msprime.sim_ancestry(samples={f"pop_{i}": int(s) for i, s in enumerate(sizes)},
                              demography=demography, sequence_length=length,
                              recombination_rate=1e-8, random_seed=seed)
    ts = msprime.sim_mutations(ts, rate=mutation_rate, random_seed=seed,
                               model=msprime.BinaryMutationModel())
    haps = np.empty((BUFFER, 2 * n_samples), dtype=np.int8)
    filled = 0
    for variant in ts.variants(copy=False):
        haps[filled] = variant.genotypes
        filled += 1
        if filled == BUFFER:
            yield _filtered(haps, maf)
            filled = 0
    if filled:
        yield _filtered(haps[:filled], maf)


def _filtered(haps: np.ndarray, maf: float) -> np.ndarray:
    dosage = haps[:, 0::2] + haps[:, 1::2]
    freq = dosage.mean(axis=1, dtype=np.float64) / 2
    keep = np.minimum(freq, 1 - freq) >= maf
    return dosage[keep].astype(np.uint8)


DIMENSIONS = {"call_genotype": ["variants", "samples", "ploidy"], "sample_id": ["samples"],
              "variant_position": ["variants"], "variant_allele": ["variants", "alleles"]}
"""xarray's dimension names, as vcf2zarr sets them (sgkit opens the store with xarray)."""


class VczWriter:
    """``call_genotype`` and friends in the vcf2zarr layout, appended block by block."""

    def __init__(self, path: str, n_samples: int, n_variants: int) -> None:
        import zarr

        self.group = zarr.open_group(path, mode="w", zarr_format=2)
        self.calls = self.group.create_array(
            "call_genotype", shape=(n_variants, n_samples, 2), dtype="i1",
            chunks=(10000, 1000, 2), fill_value=-1)
        self.group.create_array("sample_id", data=np.array([f"s{i}" for i in
                                                           range(n_samples)], dtype="<U16"))
        self.positions = self.group.create_array("variant_position", shape=(n_variants,),
                                                 dtype="i4", chunks=(10000,))
        self.alleles = self.group.create_array("variant_allele", shape=(n_variants, 2),
                                               dtype="<U1", chunks=(10000, 2))
        for name, dims in DIMENSIONS.items():
            self.group[name].attrs["_ARRAY_DIMENSIONS"] = dims
        self.filled = 0

    def write(self, haps: np.ndarray) -> None:
        stop = self.filled + haps.shape[0]
        self.calls[self.filled:stop] = haps
        self.positions[self.filled:stop] = np.arange(self.filled, stop) + 1
        self.alleles[self.filled:stop] = np.array([["A", "G"]] * haps.shape[0])
        self.filled = stop


def dosage_haplotypes(dosage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Phased-looking calls (variants x samples x 2) with the given dosages."""
    first = np.where(dosage == 1, rng.integers(0, 2, size=dosage.shape), dosage // 2)
    return np.stack([first, dosage - first], axis=2).astype(np.int8)


def write_cohort(out: str, n_samples: int, n_variants: int, n_pops: int = 3,
                 tiles: int = 1, length: float = 2e6, migration: float = 2e-4,
                 mutation_rate: float = 2e-8, maf: float = 0.01, vcz: bool = False,
                 seed: int = 1, log=print) -> str:
    """Simulate and write the cohort (see the module docs); returns the ``.bed`` prefix."""
    samples = [(f"s{i}", f"s{i}") for i in range(n_samples)]
    bed = BedWriter(out, samples)
    zarr_out = VczWriter(out + ".vcz", n_samples, n_variants) if vcz else None
    perms = population_permutations(n_samples, n_pops, tiles, seed)
    rng = np.random.default_rng(seed)
    start, chromosome = time.perf_counter(), 0
    while bed.count < n_variants:
        for block in chromosome_blocks(n_samples, n_pops, length, migration, mutation_rate,
                                       maf, seed * 1000 + chromosome):
            for perm in perms:
                part = block[:n_variants - bed.count, perm]
                if not part.shape[0]:
                    break
                bed.write(part)
                if zarr_out is not None:
                    zarr_out.write(dosage_haplotypes(part, rng))
        chromosome += 1
        log(f"chromosome {chromosome}: {bed.count} variants, "
            f"{time.perf_counter() - start:.0f} s")
    return bed.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100000)
    parser.add_argument("--populations", type=int, default=3)
    parser.add_argument("--tiles", type=int, default=1)
    parser.add_argument("--length", type=float, default=2e6)
    parser.add_argument("--migration", type=float, default=2e-4)
    parser.add_argument("--mutation-rate", type=float, default=2e-8)
    parser.add_argument("--maf", type=float, default=0.01)
    parser.add_argument("--vcz", action="store_true", help="also write OUT.vcz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    write_cohort(args.out, args.samples, args.variants, args.populations, args.tiles,
                 args.length, args.migration, args.mutation_rate, args.maf, args.vcz,
                 args.seed)


if __name__ == "__main__":
    main()
