"""Genotype matrices straight from their files: PLINK 1 ``.bed``, VCF Zarr, zarr.

    gt = read_bed("cohort")            # cohort.bed / .bim / .fam
    gt = read_vcf_zarr("cohort.vcz")   # call_genotype, dosages summed over ploidy
    gt = read_pgen("cohort")           # cohort.pgen / .pvar / .psam (needs pgenlib)
    gt = open_genotypes(path)          # any of them, or a 2-D zarr array of codes
    u, s, v = pca(gt.array, k=10)      # gt.samples: (FID, IID) per column
    write_bed(codes, "out")            # variants x samples, -1 for missing

The arrays are variants x samples int8 codes (0/1/2 copies of the counted
allele, -1 missing) read block by block by the kernels that use them (see
``lamina.layers.linalg.plink``); nothing is converted or copied up front.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from lamina.array.core import Array
from lamina.layers.chunks import normalize_chunks
from lamina.layers.file_stamps import file_stamp, tree_stamp
from lamina.layers.linalg.packing import pack_2bit, packed_width
from lamina.layers.linalg.pgen import PgenBlocks, pgen_reader
from lamina.layers.linalg.plink import BED_MAGIC, CODE_TO_PLINK, BedBlocks, VcfZarrBlocks

BLOCK_BYTES = 8 * 2**20
MIN_BLOCKS = 4
"""A small file still splits into this many blocks (of at least 4096 variants), so
that two threads each read their own blocks in a pass."""


@dataclass
class Genotypes:
    """A variants x samples genotype ``Array`` with the IDs of its samples."""

    array: Array
    samples: list[tuple[str, str]]
    format: str
    variants: list[str] = field(default_factory=list, repr=False)


def default_rows(n_samples: int, n_variants: int) -> int:
    """Variants per block: about ``BLOCK_BYTES`` of 2-bit codes, 256..65536 rows,
    and at least ``MIN_BLOCKS`` blocks where they keep 4096 rows."""
    rows = BLOCK_BYTES // max(packed_width(n_samples), 1)
    rows = min(rows, max(-(-n_variants // MIN_BLOCKS), 4096))
    return int(min(max(rows, 256), 65536, max(n_variants, 1)))


def _prefix(path: str | os.PathLike) -> str:
    path = os.fspath(path)
    for ext in (".bed", ".bim", ".fam", ".pgen", ".pvar", ".psam"):
        if path.endswith(ext):
            return path[:-len(ext)]
    return path


def _columns(path: str, what: str, ncols: int) -> list[list[str]]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: a PLINK fileset needs the {what} file")
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < ncols:
                raise ValueError(f"{path} line {number} has {len(parts)} fields, a {what} "
                                 f"line has {ncols}")
            rows.append(parts)
    return rows


def read_bed(path: str | os.PathLike, variants_per_block: int | None = None,
             samples_per_block: int | None = None) -> Genotypes:
    """The genotypes of a PLINK 1 fileset (``path`` with or without ``.bed``).

    ``samples_per_block`` (default: all) must be a multiple of 4.
    """
    prefix = _prefix(path)
    fam = _columns(prefix + ".fam", ".fam", 6)
    bim = _columns(prefix + ".bim", ".bim", 6)
    bed = prefix + ".bed"
    if not os.path.exists(bed):
        raise FileNotFoundError(f"{bed} does not exist")
    with open(bed, "rb") as f:
        magic = f.read(3)
    if magic[:2] != BED_MAGIC[:2]:
        raise ValueError(f"{bed} is not a PLINK 1 .bed file (bad magic bytes {magic!r})")
    if magic[2:] != BED_MAGIC[2:]:
        raise ValueError(f"{bed} is sample-major: rewrite it variant-major with "
                         "plink --make-bed")
    shape = (len(bim), len(fam))
    expected = len(BED_MAGIC) + shape[0] * packed_width(shape[1])
    if os.path.getsize(bed) != expected:
        raise ValueError(f"{bed} has {os.path.getsize(bed)} bytes; {shape[0]} variants x "
                         f"{shape[1]} samples (.bim x .fam) need {expected}")
    cols = samples_per_block or max(shape[1], 1)
    if cols % 4 and cols < shape[1]:
        raise ValueError(f"samples_per_block={cols} must be a multiple of 4 (whole bytes)")
    rows = variants_per_block or default_rows(shape[1], shape[0])
    chunks = normalize_chunks((rows, cols), shape, np.int8)
    return Genotypes(Array(BedBlocks(os.path.abspath(bed), shape, chunks, file_stamp(bed))),
                     [(r[0], r[1]) for r in fam], "bed", [r[1] for r in bim])


def read_vcf_zarr(path: str | os.PathLike, variants_per_block: int | None = None,
                  samples_per_block: int | None = None) -> Genotypes:
    """The genotype dosages of a VCF Zarr store (``call_genotype``, ``sample_id``)."""
    import zarr

    url = os.fspath(path)
    group = zarr.open_group(url, mode="r")
    if "call_genotype" not in group:
        raise ValueError(f"{url} has no call_genotype array: is it a VCF Zarr store?")
    calls = group["call_genotype"]
    if len(calls.shape) != 3:
        raise ValueError(f"{url}/call_genotype is {len(calls.shape)}-D, not "
                         "variants x samples x ploidy")
    shape = calls.shape[:2]
    ids = [str(s) for s in group["sample_id"][:]] if "sample_id" in group \
        else [str(i) for i in range(shape[1])]
    rows = variants_per_block or max(calls.chunks[0], default_rows(shape[1], shape[0])
                                     // calls.chunks[0] * calls.chunks[0])
    chunks = normalize_chunks((rows, samples_per_block or max(shape[1], 1)), shape, np.int8)
    variants = [str(v) for v in group["variant_id"][:]] if "variant_id" in group else []
    calls_url = os.path.join(os.path.abspath(url), "call_genotype")
    return Genotypes(Array(VcfZarrBlocks(calls_url, chunks, tree_stamp(calls_url))),
                     [(s, s) for s in ids], "vcf-zarr", variants)


def _psam_samples(path: str) -> list[tuple[str, str]]:
    """(FID, IID) of each sample of a ``.psam`` (or ``.fam``) file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: a .pgen needs its .psam")
    with open(path) as f:
        lines = [line.split() for line in f if line.strip()]
    header = lines[0] if lines and lines[0][0].startswith("#") else None
    rows = lines[1:] if header else lines
    if header is None:  # headerless: a .fam layout
        return [(r[0], r[1]) for r in rows]
    names = [h.lstrip("#") for h in header]
    if "IID" not in names:
        raise ValueError(f"{path} header {header} has no IID column")
    iid = names.index("IID")
    fid = names.index("FID") if "FID" in names else None
    return [(r[fid] if fid is not None else r[iid], r[iid]) for r in rows]


def _pvar_ids(path: str) -> list[str]:
    """Variant IDs of a ``.pvar`` (or ``.bim``) file: the ID column (3rd of .pvar, 2nd of .bim)."""
    if not os.path.exists(path):
        return []
    ids, column = [], 1
    with open(path) as f:
        for line in f:
            if line.startswith("##"):
                continue
            parts = line.split()
            if line.startswith("#"):
                column = [p.lstrip("#") for p in parts].index("ID")
            elif parts:
                ids.append(parts[column])
    return ids


def read_pgen(path: str | os.PathLike, variants_per_block: int | None = None,
              samples_per_block: int | None = None) -> Genotypes:
    """The ALT allele counts of a PLINK 2 fileset (``.pgen/.pvar/.psam``), read by ``pgenlib``."""
    prefix = _prefix(path)
    pgen = prefix + ".pgen"
    if not os.path.exists(pgen):
        raise FileNotFoundError(f"{pgen} does not exist")
    samples = _psam_samples(prefix + ".psam" if os.path.exists(prefix + ".psam")
                            else prefix + ".fam")
    reader = pgen_reader(os.path.abspath(pgen), n_samples=len(samples))
    try:
        shape = (int(reader.get_variant_ct()), int(reader.get_raw_sample_ct()))
    finally:
        reader.close()
    variants = _pvar_ids(prefix + ".pvar")
    rows = variants_per_block or default_rows(shape[1], shape[0])
    chunks = normalize_chunks((rows, samples_per_block or max(shape[1], 1)), shape, np.int8)
    return Genotypes(Array(PgenBlocks(os.path.abspath(pgen), shape, chunks, file_stamp(pgen))),
                     samples, "pgen",
                     variants)


def open_genotypes(path: str | os.PathLike, variants_per_block: int | None = None) -> Genotypes:
    """Detect the format of ``path`` (PLINK 1 or 2 fileset, VCF Zarr, 2-D zarr array) and read it."""
    path = os.fspath(path)
    prefix = _prefix(path)
    if path.endswith((".pgen", ".pvar", ".psam")) or (
            os.path.exists(prefix + ".pgen") and not os.path.exists(prefix + ".bed")):
        return read_pgen(prefix, variants_per_block)
    if os.path.exists(prefix + ".bed"):
        return read_bed(prefix, variants_per_block)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist (nor {prefix}.bed or {prefix}.pgen)")
    import zarr

    try:
        node = zarr.open(path, mode="r")
    except Exception as exc:
        raise ValueError(f"{path} is neither a PLINK .bed fileset nor a zarr store") from exc
    if isinstance(node, zarr.Group):
        return read_vcf_zarr(path, variants_per_block)
    from lamina.linalg.compressed import open_zarr

    if len(node.shape) != 2:
        raise ValueError(f"{path} is a {len(node.shape)}-D zarr array; genotypes are 2-D")
    chunks = None if variants_per_block is None else (variants_per_block, node.chunks[1])
    ids = [str(i) for i in range(node.shape[1])]
    return Genotypes(open_zarr(path, chunks=chunks), [(s, s) for s in ids], "zarr")


class BedWriter:
    """Writes a PLINK 1 fileset a block of variants at a time (``write_bed`` uses it).

    ``write(block)`` takes variants x samples codes (0/1/2 copies of A1, -1
    missing); ``close()`` writes the ``.bim`` for the variants written.
    """

    def __init__(self, path: str | os.PathLike, samples: Sequence[tuple[str, str]]) -> None:
        self.prefix = _prefix(path)
        self.samples = list(samples)
        self.count = 0
        self._table = np.array(CODE_TO_PLINK, dtype=np.uint8)
        self._bed = open(self.prefix + ".bed", "wb")
        self._bed.write(BED_MAGIC)
        with open(self.prefix + ".fam", "w") as f:
            f.writelines(f"{fid} {iid} 0 0 0 -9\n" for fid, iid in self.samples)

    def write(self, block: Any) -> None:
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != len(self.samples):
            raise ValueError(f"a block is variants x {len(self.samples)} samples, got shape "
                             f"{block.shape}")
        if block.size and (block.min() < -1 or block.max() > 2):
            raise ValueError("genotype codes must be -1 (missing), 0, 1 or 2, found "
                             f"values in [{block.min()}, {block.max()}]")
        codes = np.where(block < 0, 3, block).astype(np.uint8)
        self._bed.write(pack_2bit(self._table[codes], check=False).tobytes())
        self.count += block.shape[0]

    def close(self, variants: Sequence[str] | None = None) -> str:
        """Finish the files; ``variants`` names them (default ``v0``, ``v1``, ...)."""
        self._bed.close()
        variants = list(variants) if variants is not None else \
            [f"v{i}" for i in range(self.count)]
        if len(variants) != self.count:
            raise ValueError(f"{len(variants)} variant names for {self.count} variants written")
        with open(self.prefix + ".bim", "w") as f:
            f.writelines(f"1\t{v}\t0\t{i + 1}\tA\tG\n" for i, v in enumerate(variants))
        return self.prefix


def write_bed(genotypes: Any, path: str | os.PathLike,
              samples: Sequence[tuple[str, str]] | None = None,
              variants: Sequence[str] | None = None, variants_per_block: int = 4096) -> str:
    """Write variants x samples codes (0/1/2 copies of A1, -1 missing) as a PLINK 1 fileset.

    ``genotypes`` is a NumPy array or a lamina ``Array`` (computed a block of
    variants at a time). Returns the prefix written.
    """
    shape = tuple(genotypes.shape)
    if len(shape) != 2:
        raise ValueError(f"genotypes are 2-D (variants x samples), got shape {shape}")
    samples = list(samples) if samples is not None else \
        [(f"s{i}", f"s{i}") for i in range(shape[1])]
    if len(samples) != shape[1] or (variants is not None and len(variants) != shape[0]):
        raise ValueError(f"{len(samples)} samples and {len(variants or [])} variants given "
                         f"for shape {shape}")
    writer = BedWriter(path, samples)
    for start in range(0, shape[0], variants_per_block):
        block = genotypes[start:start + variants_per_block]
        writer.write(block.compute() if isinstance(block, Array) else block)
    return writer.close(variants)
