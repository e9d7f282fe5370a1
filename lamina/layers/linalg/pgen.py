"""Source layer of a PLINK 2 ``.pgen`` file, read through ``pgenlib``.

``.pgen`` compresses each variant's calls (LD-based difference coding,
sparse rare alleles), so there is no fixed byte layout to slice as for
``.bed``: each block is decoded by ``pgenlib.PgenReader.read_range`` into
ALT allele counts (0/1/2, -9 missing) for its variants and samples, then
packed to our 2-bit codes (3 missing), so the pass kernels see the same
``Packed2Bit`` payload as from a ``.bed``. A block of all samples reads
the whole rows; a narrower one opens the reader on that sample subset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Chunks
from lamina.layers.file_stamps import check_unchanged
from lamina.layers.linalg.packing import pack_2bit
from lamina.layers.linalg.payload import Packed2Bit, genotype_payload
from lamina.layers.linalg.sources import EncodedSource
from lamina.layers.registry import trusted

PGEN_MISSING = -9


def import_pgenlib() -> Any:
    """``pgenlib``, or an ImportError that says how to get it."""
    try:
        import pgenlib
    except ImportError as exc:
        raise ImportError("reading a PLINK 2 .pgen file needs the optional package pgenlib "
                          "(pip install pgenlib), or convert it with plink2 --make-bed") from exc
    return pgenlib


def pgen_reader(path: str, samples: slice | None = None, n_samples: int | None = None) -> Any:
    """A ``PgenReader`` of ``path``, on the samples ``samples`` when not all of them."""
    pgenlib = import_pgenlib()
    subset = None
    if samples is not None and (samples.start, samples.stop) != (0, n_samples):
        subset = np.arange(samples.start, samples.stop, dtype=np.uint32)
    return pgenlib.PgenReader(path.encode(), raw_sample_ct=n_samples, sample_subset=subset)


@trusted(version=2)
class PgenBlocks(EncodedSource):
    """Source of a PLINK 2 ``.pgen`` file: ALT allele counts (see the module docs).

    ``stamp``: the file's ``file_stamp`` when opened, as ``BedBlocks``'s.
    """

    _parameters = ("path", "shape_", "in_chunks", "stamp")
    missing_calls = True

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, np.dtype(np.int8)

    def load_block(self, block: int) -> Packed2Bit:
        rows, cols = self.block_region(block)
        check_unchanged(self.path, self.stamp)
        reader = pgen_reader(self.path, cols, self.shape_[1])
        try:
            counts = np.empty((rows.stop - rows.start, cols.stop - cols.start), dtype=np.int8)
            if counts.size:
                reader.read_range(rows.start, rows.stop, counts)
        finally:
            reader.close()
        return genotype_payload(pack_2bit(pgen_codes(counts), check=False), counts.shape)


def pgen_codes(counts: np.ndarray) -> np.ndarray:
    """Our codes (0/1/2, 3 for missing) of ``pgenlib`` allele counts (-9 missing)."""
    codes = counts.view(np.uint8)
    codes[counts == PGEN_MISSING] = 3
    return codes
