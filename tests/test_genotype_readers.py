"""Genotype files read without conversion: a PLINK 1 fileset written by
``write_bed`` reads back the same codes (and PLINK 2 reads the same calls),
VCF Zarr dosages are summed over ploidy with -1 as missing, and PCA from
either file equals numpy.linalg.eigh on the densely imputed matrix (and
PLINK 2's own PCA where it is installed)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.linalg import genotype_matrix, patterson_reference
from lamina.linalg.pca import pca_result
from lamina.linalg.readers import open_genotypes, read_bed, read_vcf_zarr, write_bed

PLINK2 = shutil.which("plink2")
needs_plink2 = pytest.mark.skipif(PLINK2 is None, reason="plink2 is not installed")


def codes(seed: int, m: int, n: int, rate: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < rate] = -1
    return g


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(0, 30), n=st.integers(1, 23),
       rows=st.integers(1, 30), cols=st.integers(1, 6))
def test_bed_round_trip_keeps_every_call(tmp_path_factory, seed, m, n, rows, cols):
    g = codes(seed, m, n)
    prefix = write_bed(g, tmp_path_factory.mktemp("bed") / "x", variants_per_block=7)
    gt = read_bed(prefix, variants_per_block=rows, samples_per_block=4 * cols)
    assert gt.array.shape == (m, n) and gt.array.dtype == np.int8
    np.testing.assert_array_equal(gt.array.compute(), g)
    assert gt.samples == [(f"s{i}", f"s{i}") for i in range(n)]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 30), n=st.integers(1, 23),
       rate=st.sampled_from([0.0, 0.05]), rows=st.integers(1, 30), cols=st.integers(1, 6))
def test_bed_blocks_flag_missing_calls_only_where_there_are_some(tmp_path_factory, seed, m, n,
                                                                 rate, rows, cols):
    """A block without missing calls skips the imputation; the flag never hides one."""
    from lamina.layers.linalg.plink import BedBlocks

    g = codes(seed, m, n, rate)
    prefix = write_bed(g, tmp_path_factory.mktemp("bed") / "x")
    layer = read_bed(prefix, variants_per_block=rows, samples_per_block=4 * cols).array.layer
    assert isinstance(layer, BedBlocks)
    for block in range(int(np.prod(layer.numblocks))):
        payload = layer.load_block(block)
        r, c = layer.block_region(block)
        assert payload.missing == bool((g[r, c] < 0).any())
        np.testing.assert_array_equal(payload.decode(), g[r, c])


@needs_plink2
def test_plink2_reads_the_calls_we_write(tmp_path):
    g = codes(1, 23, 11)
    prefix = write_bed(g, tmp_path / "x")
    subprocess.run([PLINK2, "--bfile", prefix, "--export", "A", "--out", str(tmp_path / "y")],
                   check=True, capture_output=True)
    rows = [line.split() for line in open(tmp_path / "y.raw")][1:]
    raw = np.array([[-1 if x == "NA" else int(x) for x in r[6:]] for r in rows]).T
    # plink2 counts the second .bim allele; we count the first
    np.testing.assert_array_equal(raw, np.where(g < 0, -1, 2 - g))


def test_bad_bed_files_give_clear_errors(tmp_path):
    prefix = write_bed(codes(0, 5, 6), tmp_path / "x")
    with open(prefix + ".bed", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="need"):
        read_bed(prefix)
    with open(prefix + ".bed", "wb") as f:
        f.write(b"BAD" + bytes(10))
    with pytest.raises(ValueError, match="magic"):
        read_bed(prefix)
    with pytest.raises(FileNotFoundError, match="fam"):
        read_bed(tmp_path / "missing")
    with pytest.raises(ValueError, match="multiple of 4"):
        write_bed(codes(0, 5, 6), tmp_path / "z")
        read_bed(tmp_path / "z", samples_per_block=3)
    with pytest.raises(ValueError, match="-1 \\(missing\\), 0, 1 or 2"):
        write_bed(np.full((2, 2), 3, dtype=np.int8), tmp_path / "w")


def write_vcf_zarr(path, calls: np.ndarray, chunks=(7, 5)) -> None:
    """A store laid out as vcf2zarr writes it (the arrays the reader uses)."""
    import zarr

    group = zarr.open_group(str(path), mode="w")
    group.create_array("call_genotype", data=calls, chunks=chunks + (calls.shape[2],))
    group.create_array("sample_id", data=np.array([f"id{i}" for i in range(calls.shape[1])]))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 20), n=st.integers(1, 12),
       ploidy=st.sampled_from([1, 2]), rows=st.integers(1, 20))
def test_vcf_zarr_dosages_sum_alleles_over_ploidy(tmp_path_factory, seed, m, n, ploidy, rows):
    rng = np.random.default_rng(seed)
    calls = rng.integers(-1, 3, size=(m, n, ploidy)).astype(np.int8)
    if ploidy == 2:
        calls[0, 0] = [1, -2]               # a haploid call in a diploid array
    path = tmp_path_factory.mktemp("vcz") / "c.vcz"
    write_vcf_zarr(path, calls)
    expected = np.zeros((m, n), dtype=np.int8)
    for i in range(m):
        for j in range(n):
            alleles = calls[i, j]
            expected[i, j] = -1 if (alleles == -1).any() else int((alleles > 0).sum())
    gt = read_vcf_zarr(path, variants_per_block=rows)
    np.testing.assert_array_equal(gt.array.compute(), expected)
    assert gt.samples[0] == ("id0", "id0") and gt.format == "vcf-zarr"
    assert open_genotypes(path).format == "vcf-zarr"


def test_vcf_zarr_with_triploid_calls_is_rejected(tmp_path):
    write_vcf_zarr(tmp_path / "c.vcz", np.zeros((3, 2, 3), dtype=np.int8))
    with pytest.raises(ValueError, match="ploidy 3"):
        read_vcf_zarr(tmp_path / "c.vcz").array.compute()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Three populations with 2% missing calls, written as .bed."""
    g = genotype_matrix((3000, 240), chunks=(1000, 240), seed=4, n_populations=3,
                        fst=0.05).compute().astype(np.int8)
    g[np.random.default_rng(0).random(g.shape) < 0.02] = -1
    return g, write_bed(g, tmp_path_factory.mktemp("cohort") / "c")


def test_pca_from_bed_equals_eigh_of_the_imputed_matrix(cohort):
    g, prefix = cohort
    x = patterson_reference(g)
    lam, vecs = np.linalg.eigh(x.T @ x)
    lam, vecs = lam[::-1][:10], vecs[:, ::-1][:, :10]
    result = pca_result(open_genotypes(prefix + ".bed").array, 10, seed=0)
    np.testing.assert_allclose(result.s**2, lam, rtol=3e-3)
    np.testing.assert_allclose(np.abs(result.v[:2] @ vecs[:, :2]), np.eye(2), atol=1e-6)


@needs_plink2
def test_pca_from_bed_matches_plink2_approx_on_the_structure(cohort, tmp_path):
    g, prefix = cohort
    subprocess.run([PLINK2, "--bfile", prefix, "--pca", "4", "approx", "--threads", "2",
                    "--out", str(tmp_path / "p")], check=True, capture_output=True)
    eigenval = np.loadtxt(tmp_path / "p.eigenval")
    vec = np.loadtxt(tmp_path / "p.eigenvec", skiprows=1, usecols=range(2, 6))
    result = pca_result(read_bed(prefix).array, 4, seed=0)
    ours = result.s**2 / g.shape[0]
    np.testing.assert_allclose(ours[:2], eigenval[:2], rtol=1e-4)
    for j in range(2):
        cos = abs(vec[:, j] @ result.v[j]) / np.linalg.norm(vec[:, j])
        assert cos > 0.9999
