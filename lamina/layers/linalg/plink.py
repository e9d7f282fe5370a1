"""Source layers of genotype files read without a conversion step.

* ``BedBlocks``: a PLINK 1 ``.bed`` file (variant-major). Each variant is
  ``ceil(samples / 4)`` bytes of 2-bit codes, first sample in the low bits,
  after a 3-byte magic header. PLINK's codes are ``00`` homozygous for the
  first ``.bim`` allele (A1), ``10`` heterozygous, ``11`` homozygous for A2
  and ``01`` missing; one byte-table lookup recodes four calls at once to
  ours (the count of A1 alleles 0/1/2, 3 for missing), so a block reaches
  the pass kernels as a ``Packed2Bit`` (``missing`` set when the block has a
  missing call, found by the same loop), the bytes read straight from the file.
* ``VcfZarrBlocks``: the ``call_genotype`` array of a VCF Zarr store (as
  ``vcf2zarr`` writes it: variants x samples x ploidy int8 allele indices,
  -1 missing, -2 padding of mixed ploidy). The kernel that reads a block
  sums the non-reference alleles over ploidy and packs the dosages to 2 bits.

Both decode, for ordinary lamina operations, to int8 codes with -1 for a
missing call. Blocks are loaded by the kernel that uses them (``BlockRef``).
"""

from __future__ import annotations

import numpy as np

from lamina.layers.base import Chunks
from lamina.layers.file_stamps import check_unchanged
from lamina.layers.linalg import _bits
from lamina.layers.linalg.packing import pack_2bit, packed_width
from lamina.layers.linalg.payload import Packed2Bit, genotype_payload
from lamina.layers.linalg.sources import EncodedSource
from lamina.layers.registry import trusted

BED_MAGIC = b"\x6c\x1b\x01"
PLINK_TO_CODE = (2, 3, 1, 0)
"""Our code for each PLINK 2-bit value: 00 → 2 copies of A1, 01 → missing, 10 → 1, 11 → 0."""


def byte_table(mapping: tuple[int, int, int, int]) -> np.ndarray:
    """The 256-entry table that applies ``mapping`` to each of a byte's four codes."""
    b = np.arange(256)
    out = np.zeros(256, dtype=np.int64)
    for k in range(4):
        out |= np.asarray(mapping)[(b >> (2 * k)) & 3] << (2 * k)
    return out.astype(np.uint8)


BED_TABLE = byte_table(PLINK_TO_CODE)
CODE_TO_PLINK = tuple(PLINK_TO_CODE.index(code) for code in range(4))


@trusted(version=2)
class BedBlocks(EncodedSource):
    """Source of a PLINK 1 ``.bed`` file (see the module docs).

    Column blocks start at multiples of 4 samples, so a block is whole bytes.
    ``stamp`` is the file's ``file_stamp`` when opened: it names the contents
    in the token, and a block read after the file changed raises.
    """

    _parameters = ("path", "shape_", "in_chunks", "stamp")
    missing_calls = True

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, np.dtype(np.int8)

    def load_block(self, block: int) -> Packed2Bit:
        rows, cols = self.block_region(block)
        check_unchanged(self.path, self.stamp)
        width = packed_width(self.shape_[1])
        nrows = rows.stop - rows.start
        raw = np.fromfile(self.path, dtype=np.uint8, count=nrows * width,
                          offset=len(BED_MAGIC) + rows.start * width)
        if raw.size != nrows * width:
            raise ValueError(f"{self.path} ended early: is it the .bed of its .bim/.fam?")
        raw = raw.reshape(nrows, width)[:, cols.start // 4:packed_width(cols.stop)]
        data = np.empty(raw.shape, dtype=np.uint8)
        missing = _bits.remap_bytes(np.ascontiguousarray(raw), BED_TABLE, data)
        tail = (cols.stop - cols.start) % 4
        if tail and data.shape[1]:
            data[:, -1] &= (1 << (2 * tail)) - 1
        return genotype_payload(data, (nrows, cols.stop - cols.start), missing)


@trusted(version=2)
class VcfZarrBlocks(EncodedSource):
    """Source of the ``call_genotype`` array of a VCF Zarr store (see the module docs).

    ``stamp`` (``tree_stamp`` of the array's directory) names its contents in the token.
    """

    _parameters = ("url", "in_chunks", "stamp")
    missing_calls = True

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, np.dtype(np.int8)

    def load_block(self, block: int) -> Packed2Bit:
        import zarr

        rows, cols = self.block_region(block)
        calls = np.asarray(zarr.open_array(self.url, mode="r")[rows, cols, :])
        return genotype_payload(pack_2bit(dosage_codes(calls), check=False),
                                (calls.shape[0], calls.shape[1]))


def dosage_codes(calls: np.ndarray) -> np.ndarray:
    """Codes 0..2 (non-reference alleles per call) and 3 for a call with a missing allele.

    ``calls`` is variants x samples x ploidy allele indices (-1 missing, -2
    no allele in that slot); ploidy must be at most 2 for 2-bit codes.
    """
    if calls.ndim != 3:
        raise ValueError(f"call_genotype is variants x samples x ploidy, got {calls.ndim}-D")
    if calls.shape[2] > 2:
        raise ValueError(f"ploidy {calls.shape[2]} is not supported: dosages of at most 2 "
                         "alleles fit the 2-bit codes")
    missing = (calls == -1).any(axis=2)
    codes = (calls > 0).sum(axis=2, dtype=np.uint8)
    codes[missing] = 3
    return codes
