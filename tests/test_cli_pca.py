"""``lamina pca`` detects the input format and writes PLINK's .eigenval /
.eigenvec layout: values equal eigh of the dense scaled matrix, and PLINK 2's
exact ``--pca`` on the same file where plink2 is installed."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest

from lamina.cli import main
from lamina.linalg import genotype_matrix, patterson_reference
from lamina.linalg.readers import write_bed

PLINK2 = shutil.which("plink2")


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    g = genotype_matrix((2400, 160), chunks=(800, 160), seed=9, n_populations=3,
                        fst=0.05).compute().astype(np.int8)
    prefix = write_bed(g, tmp_path_factory.mktemp("pca") / "c")
    return g, prefix


def read_eigenvec(path):
    lines = open(path).read().splitlines()
    return lines[0].split("\t"), [line.split("\t")[:2] for line in lines[1:]], \
        np.array([[float(x) for x in line.split("\t")[2:]] for line in lines[1:]])


def test_pca_command_writes_plink_layout_with_exact_values(bed, tmp_path):
    g, prefix = bed
    out = io.StringIO()
    assert main(["pca", prefix + ".bed", "-k", "5", "--out", str(tmp_path / "r"),
                 "--threads", "2"], out=out) == 0
    assert "passes:" in out.getvalue() and "peak memory" in out.getvalue()
    x = patterson_reference(g)
    lam, vecs = np.linalg.eigh(x.T @ x / g.shape[0])
    lam, vecs = lam[::-1][:5], vecs[:, ::-1][:, :5]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "r.eigenval"), lam, rtol=3e-3)
    header, ids, values = read_eigenvec(tmp_path / "r.eigenvec")
    assert header == ["#FID", "IID", "PC1", "PC2", "PC3", "PC4", "PC5"]
    assert ids[:2] == [["s0", "s0"], ["s1", "s1"]] and len(ids) == g.shape[1]
    np.testing.assert_allclose(np.abs(np.sum(values[:, :2] * vecs[:, :2], axis=0)), 1,
                               atol=1e-4)


def test_pca_command_reports_a_missing_input(tmp_path):
    err = io.StringIO()
    assert main(["pca", str(tmp_path / "nothing.bed")], err=err) == 1
    assert "does not exist" in err.getvalue()


@pytest.mark.skipif(PLINK2 is None, reason="plink2 is not installed")
def test_pca_command_matches_plink2_exact_pca(bed, tmp_path):
    g, prefix = bed
    subprocess.run([PLINK2, "--bfile", prefix, "--pca", "5", "--threads", "2", "--out",
                    str(tmp_path / "p")], check=True, capture_output=True)
    main(["pca", prefix, "-k", "5", "--out", str(tmp_path / "r")], out=io.StringIO())
    np.testing.assert_allclose(np.loadtxt(tmp_path / "r.eigenval"),
                               np.loadtxt(tmp_path / "p.eigenval"), rtol=3e-3)
    _, ids_p, vec_p = read_eigenvec(tmp_path / "p.eigenvec")
    _, ids_r, vec_r = read_eigenvec(tmp_path / "r.eigenvec")
    assert ids_p == ids_r
    for j in range(2):
        cos = abs(vec_p[:, j] @ vec_r[:, j]) / np.linalg.norm(vec_p[:, j])
        assert cos > 0.9999
