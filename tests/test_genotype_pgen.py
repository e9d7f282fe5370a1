"""PLINK 2 ``.pgen`` input: a file written by ``pgenlib`` reads back the same
calls on uneven blocks; the ``.pgen`` that ``plink2 --make-pgen`` converts from
our ``.bed`` gives the same codes and the same PCA (equal to eigh of the
densely imputed matrix); ``lamina pca x.pgen`` detects it. Skipped where
pgenlib (or plink2, for the conversion) is absent."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.cli import main
from lamina.linalg import genotype_matrix, patterson_reference
from lamina.linalg.pca import pca_result
from lamina.linalg.readers import open_genotypes, read_bed, read_pgen, write_bed

pgenlib = pytest.importorskip("pgenlib", reason="pgenlib (optional, pip install pgenlib) "
                              "is not installed")
PLINK2 = shutil.which("plink2")
needs_plink2 = pytest.mark.skipif(PLINK2 is None, reason="plink2 is not installed")


def write_pgen(codes: np.ndarray, prefix: str) -> str:
    """``codes`` (variants x samples, -1 missing) as .pgen/.pvar/.psam through pgenlib."""
    m, n = codes.shape
    writer = pgenlib.PgenWriter(f"{prefix}.pgen".encode(), n, m, False)
    for row in codes:
        writer.append_biallelic(np.where(row < 0, -9, row).astype(np.int8))
    writer.close()
    with open(prefix + ".psam", "w") as f:
        f.write("#IID\tSEX\n" + "".join(f"p{i}\tNA\n" for i in range(n)))
    with open(prefix + ".pvar", "w") as f:
        f.write("#CHROM\tPOS\tID\tREF\tALT\n" +
                "".join(f"1\t{i + 1}\tr{i}\tG\tA\n" for i in range(m)))
    return prefix


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 40), n=st.integers(1, 23),
       rows=st.integers(1, 40), cols=st.integers(1, 23))
def test_pgen_reads_back_every_call_on_uneven_blocks(tmp_path_factory, seed, m, n, rows, cols):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < 0.15] = -1
    prefix = write_pgen(g, str(tmp_path_factory.mktemp("pgen") / "x"))
    gt = read_pgen(prefix + ".pgen", variants_per_block=rows, samples_per_block=cols)
    assert gt.format == "pgen" and gt.array.shape == (m, n) and gt.array.dtype == np.int8
    np.testing.assert_array_equal(gt.array.compute(), g)
    assert gt.samples == [(f"p{i}", f"p{i}") for i in range(n)]
    assert gt.variants == [f"r{i}" for i in range(m)]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A three-population cohort with 2% missing calls as .bed, and plink2's .pgen of it."""
    if PLINK2 is None:
        pytest.skip("plink2 is not installed")
    g = genotype_matrix((1500, 120), chunks=(500, 120), seed=3, n_populations=3,
                        fst=0.05).compute().astype(np.int8)
    g[np.random.default_rng(1).random(g.shape) < 0.02] = -1
    folder = tmp_path_factory.mktemp("convert")
    bed = write_bed(g, folder / "c")
    subprocess.run([PLINK2, "--bfile", bed, "--make-pgen", "--threads", "1", "--out",
                    str(folder / "p")], check=True, capture_output=True)
    return g, bed, str(folder / "p")


@needs_plink2
def test_plink2_pgen_of_our_bed_has_the_same_calls(converted):
    g, bed, pgen = converted
    gt = open_genotypes(pgen + ".pgen", variants_per_block=333)
    assert gt.format == "pgen"
    np.testing.assert_array_equal(gt.array.compute(), g)
    np.testing.assert_array_equal(gt.array.compute(), read_bed(bed).array.compute())
    assert gt.samples == read_bed(bed).samples


@needs_plink2
def test_pca_from_pgen_equals_bed_and_eigh(converted):
    g, bed, pgen = converted
    x = patterson_reference(g)
    lam, vecs = np.linalg.eigh(x.T @ x)
    lam, vecs = lam[::-1][:6], vecs[:, ::-1][:, :6]
    from_pgen = pca_result(read_pgen(pgen, variants_per_block=400).array, 6, seed=0)
    from_bed = pca_result(read_bed(bed, variants_per_block=400).array, 6, seed=0)
    np.testing.assert_allclose(from_pgen.s, from_bed.s, rtol=1e-10)
    np.testing.assert_allclose(from_pgen.v, from_bed.v, atol=1e-10)
    np.testing.assert_allclose(from_pgen.s**2, lam, rtol=3e-3)
    np.testing.assert_allclose(np.abs(from_pgen.v[:2] @ vecs[:, :2]), np.eye(2), atol=1e-6)


@needs_plink2
def test_pca_command_detects_pgen(converted, tmp_path):
    g, bed, pgen = converted
    out = io.StringIO()
    assert main(["pca", pgen + ".pgen", "-k", "3", "--out", str(tmp_path / "r"),
                 "--threads", "1"], out=out) == 0
    assert "(pgen)" in out.getvalue()
    x = patterson_reference(g)
    lam = np.linalg.eigvalsh(x.T @ x)[::-1][:3] / g.shape[0]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "r.eigenval"), lam, rtol=3e-3)
    header = open(tmp_path / "r.eigenvec").readline().split()
    assert header == ["#FID", "IID", "PC1", "PC2", "PC3"]


def test_missing_pgenlib_gives_a_clear_error(tmp_path, monkeypatch):
    prefix = write_pgen(np.zeros((3, 4), dtype=np.int8), str(tmp_path / "x"))
    monkeypatch.setitem(sys.modules, "pgenlib", None)
    with pytest.raises(ImportError, match="pip install pgenlib"):
        read_pgen(prefix)


def test_missing_psam_is_named(tmp_path):
    prefix = write_pgen(np.zeros((3, 4), dtype=np.int8), str(tmp_path / "x"))
    (tmp_path / "x.psam").unlink()
    with pytest.raises(FileNotFoundError, match="psam"):
        read_pgen(prefix)
