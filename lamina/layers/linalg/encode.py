"""Layers that encode blocks: to compressed payloads in memory, or into a zarr store.

    EncodeBlocks(x, "2bit", None)      # each block a Packed2Bit payload
    EncodeBlocks(x, "blosc", 5)        # each block a BloscBlock payload
    WriteZarr(x, url)                  # each block written; its value: bytes written

``lamina.linalg.compressed`` builds them (``persist_compressed``, ``write_zarr``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.linalg.codecs import BLOSC_CLEVEL, blosc_codec
from lamina.layers.linalg.packing import pack_2bit
from lamina.layers.linalg.payload import BloscBlock, Packed2Bit
from lamina.layers.registry import trusted


@trusted(version=1)
class EncodeBlocks(Layer):
    """Each block of ``x`` encoded as a ``Packed2Bit`` or ``BloscBlock`` payload."""

    _parameters = ("x", "codec", "clevel")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.x.chunks, self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        if self.codec == "2bit":
            return lambda block, inputs: encode_2bit(inputs[0])
        clevel = self.clevel
        return lambda block, inputs: encode_blosc(inputs[0], clevel)


def encode_2bit(block: Any) -> Packed2Bit:
    """A ``Packed2Bit`` payload of one block (values must be 0..3)."""
    return Packed2Bit(pack_2bit(block), tuple(block.shape), block.dtype)


def encode_blosc(block: Any, clevel: int = BLOSC_CLEVEL) -> BloscBlock:
    """A ``BloscBlock`` payload of one block."""
    block = np.ascontiguousarray(block)
    return BloscBlock(blosc_codec(clevel).encode(block), tuple(block.shape), block.dtype)


@trusted(version=1)
class WriteZarr(Layer):
    """Writes block ``b`` of ``x`` into the zarr array at ``url``; its value: bytes written."""

    _parameters = ("x", "url")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.x.chunks, np.dtype(np.int64)

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        import zarr

        target = zarr.open_array(self.url, mode="r+")
        starts = [np.concatenate([[0], np.cumsum(c)]).tolist() for c in self.x.chunks]
        index = self.block_index

        def run(block: int, inputs: list) -> int:
            idx = index(block)
            region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))
            target[region] = inputs[0]
            return int(inputs[0].nbytes)

        return run
