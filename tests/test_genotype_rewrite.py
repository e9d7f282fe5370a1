"""A genotype file rewritten in place is a new input: its source layer gets a
new name (size and mtime are in the token), a computation after the rewrite
reads the new calls, and a layer opened before the rewrite refuses to read
the changed file instead of mixing old and new blocks."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from lamina.array.creation import asarray
from lamina.linalg import patterson_reference
from lamina.linalg.compressed import open_zarr, write_zarr
from lamina.linalg.pca import pca_result
from lamina.linalg.readers import open_genotypes, write_bed


def codes(seed: int, m: int = 60, n: int = 23) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < 0.05] = -1
    return g


def after_next_tick(path: str) -> None:
    """Return once the clock is past ``path``'s mtime by more than a timestamp tick,
    so that a rewrite gets a later mtime (Linux stamps files with a coarse clock)."""
    mtime = os.stat(path).st_mtime_ns
    while time.time_ns() < mtime + 20_000_000:
        time.sleep(0.005)


def top_eigenvalues(g: np.ndarray, k: int = 5) -> np.ndarray:
    x = patterson_reference(g)
    return np.linalg.eigvalsh(x.T @ x)[::-1][:k]


def test_bed_rewritten_in_place_is_read_again(tmp_path):
    old, new = codes(1), codes(2)
    prefix = write_bed(old, tmp_path / "c")
    first = open_genotypes(prefix + ".bed").array
    np.testing.assert_array_equal(first.compute(), old)
    before = pca_result(first, 5, seed=0, want_u=False).s ** 2
    np.testing.assert_allclose(before, top_eigenvalues(old), rtol=1e-6)

    after_next_tick(prefix + ".bed")
    write_bed(new, tmp_path / "c")               # same path, same shape, other calls
    second = open_genotypes(prefix + ".bed").array
    assert second.name != first.name
    np.testing.assert_array_equal(second.compute(), new)
    after = pca_result(second, 5, seed=0, want_u=False).s ** 2
    np.testing.assert_allclose(after, top_eigenvalues(new), rtol=1e-6)
    assert not np.allclose(after, before)

    with pytest.raises(ValueError, match="changed .* since it was opened"):
        first.compute()


def test_unchanged_bed_keeps_its_name(tmp_path):
    prefix = write_bed(codes(3), tmp_path / "c")
    assert open_genotypes(prefix + ".bed").array.name == \
        open_genotypes(prefix + ".bed").array.name


def test_pgen_rewritten_in_place_is_read_again(tmp_path):
    pgenlib = pytest.importorskip("pgenlib", reason="pgenlib (optional, pip install pgenlib) "
                                                    "reads .pgen files")

    def write_pgen(g: np.ndarray) -> str:
        m, n = g.shape
        writer = pgenlib.PgenWriter(str(tmp_path / "c.pgen").encode(), n, m, False)
        for row in g:
            writer.append_biallelic(np.where(row < 0, -9, row).astype(np.int8))
        writer.close()
        with open(tmp_path / "c.psam", "w") as f:
            f.write("#IID\n" + "".join(f"p{i}\n" for i in range(n)))
        return str(tmp_path / "c.pgen")

    old, new = codes(4), codes(5)
    path = write_pgen(old)
    first = open_genotypes(path).array
    np.testing.assert_array_equal(first.compute(), old)
    after_next_tick(path)
    write_pgen(new)
    second = open_genotypes(path).array
    assert second.name != first.name
    np.testing.assert_array_equal(second.compute(), new)
    with pytest.raises(ValueError, match="since it was opened"):
        first.compute()


def test_vcf_zarr_rewritten_in_place_is_read_again(tmp_path):
    import zarr

    def write_vcz(g: np.ndarray) -> None:
        calls = np.stack([g > 0, g > 1], axis=2).astype(np.int8)
        calls[g < 0] = -1
        group = zarr.open_group(str(tmp_path / "c.vcz"), mode="w")
        group.create_array("call_genotype", data=calls, chunks=(16, 8, 2))

    old, new = codes(6), codes(7)
    write_vcz(old)
    first = open_genotypes(tmp_path / "c.vcz").array
    np.testing.assert_array_equal(first.compute(), old)
    after_next_tick(str(tmp_path / "c.vcz" / "call_genotype" / "zarr.json"))
    write_vcz(new)
    second = open_genotypes(tmp_path / "c.vcz").array
    assert second.name != first.name
    np.testing.assert_array_equal(second.compute(), new)


def test_zarr_codes_rewritten_in_place_are_read_again(tmp_path):
    old, new = codes(8).astype(np.uint8) % 3, codes(9).astype(np.uint8) % 3
    store = str(tmp_path / "g.zarr")
    write_zarr(asarray(old).rechunk((16, 23)), store)
    first = open_zarr(store)
    np.testing.assert_array_equal(first.compute(), old)
    after_next_tick(os.path.join(store, "zarr.json"))
    write_zarr(asarray(new).rechunk((16, 23)), store)
    second = open_zarr(store)
    assert second.name != first.name
    np.testing.assert_array_equal(second.compute(), new)
