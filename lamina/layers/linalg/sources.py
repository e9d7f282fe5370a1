"""Source layers whose blocks can travel encoded to the pass kernels.

An ``EncodedSource`` has two ways to give a block: ``kernel()`` decodes it
(what every ordinary lamina operation sees), ``payload_kernel()`` hands over
the payload (packed bytes, compressed bytes or a recipe) so that a pass
kernel decodes it itself, slab by slab: decompression fused with its
consumer. ``Payloads(source)`` is the layer of those payloads.

``HoldPacked(x)`` turns any integer input's blocks into 2-bit payloads
(when the values allow) so that a task holding a whole row of blocks holds
a quarter of the bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.linalg.payload import BlockRef, open_block, try_pack
from lamina.layers.registry import trusted
from lamina.layers.sources import SourceLayer, unwrap_array


class EncodedSource(SourceLayer):
    """A source whose blocks a consumer may decode itself (see module docs)."""

    def payload_kernel(self) -> Kernel:
        """``f(block, inputs) -> payload``; by default a ``BlockRef`` to ``load_block``."""
        return lambda block, inputs: BlockRef(self, block)

    def load_block(self, block: int) -> Any:
        """The decoded value of one block."""
        raise NotImplementedError

    def kernel(self) -> Kernel:
        payload = self.payload_kernel()
        return lambda block, inputs: decode_payload(payload(block, inputs))


def decode_payload(payload: Any) -> Any:
    """The decoded block of any payload."""
    view = open_block(payload)
    return view.value.decode() if view.packed else view.value


@trusted(version=1)
class Payloads(Layer):
    """The payloads of an ``EncodedSource``: same blocks, not decoded."""

    _parameters = ("source",)

    @property
    def dependencies(self) -> tuple[Layer, ...]:
        return ()

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.source.chunks, self.source.dtype

    @property
    def array_module(self) -> Any:
        return self.source.array_module

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return []

    def kernel(self) -> Kernel:
        return self.source.payload_kernel()


@trusted(version=1)
class HoldPacked(Layer):
    """Blocks of ``x`` as 2-bit payloads where their values are 0..3."""

    _parameters = ("x",)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.x.chunks, self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        return lambda block, inputs: try_pack(inputs[0])


@trusted(version=1)
class EncodedBlocks(EncodedSource):
    """Blocks held in memory encoded (``Packed2Bit`` or ``BloscBlock``)."""

    _parameters = ("blocks", "in_chunks", "out_dtype", "codec", "key")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def payload_kernel(self) -> Kernel:
        blocks = unwrap_array(self.blocks)
        return lambda block, inputs: blocks[block]

    def load_block(self, block: int) -> Any:
        return decode_payload(unwrap_array(self.blocks)[block])

    @property
    def nbytes_stored(self) -> int:
        """Bytes the encoded blocks take in memory."""
        return sum(int(getattr(b, "nbytes", 0)) for b in unwrap_array(self.blocks))


@trusted(version=2)
class ZarrBlocks(EncodedSource):
    """Blocks of a zarr array, read and decompressed by the kernel that uses them.

    ``stamp`` (``tree_stamp`` of a local array's directory, None for a URL)
    names the stored contents in the token, so a rewritten array gets a new name.
    """

    _parameters = ("url", "in_chunks", "out_dtype", "stamp")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def load_block(self, block: int) -> Any:
        import zarr

        return zarr.open_array(self.url, mode="r")[self.block_region(block)]
