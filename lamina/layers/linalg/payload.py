"""Block payloads: the forms in which an input block reaches a pass kernel.

A pass kernel reads each block of its input as one of

* a plain array;
* ``Packed2Bit`` — codes 0..3, four per byte, unpacked slab by slab
  (genotype readers set ``missing``: code 3 is then a missing call);
* ``BloscBlock`` — Blosc-compressed bytes, decompressed inside the kernel;
* ``BlockRef`` — a recipe (a zarr region, a generated block) that the
  kernel evaluates itself, so no task ever holds the decoded block.

``open_block(payload)`` gives a ``BlockView`` whose ``slabs(dtype)`` yields
short row ranges already cast to the compute dtype (small enough to stay in
cache, so a uint8 block is never converted whole). ``keep(payload, view)``
is the compact form a kernel holds when it reads a block twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from lamina.layers.linalg.packing import (
    any_missing,
    array_module,
    missing_positions,
    pack_2bit,
    unpack_2bit,
    unpack_2bit_into,
)

SLAB_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Packed2Bit:
    """A 2-D block of codes 0..3 stored four per byte.

    With ``missing`` the codes are genotypes 0..2 and 3 marks a missing
    call, decoded as -1 (``dtype`` is then a signed integer type).
    """

    data: Any
    shape: tuple[int, int]
    dtype: np.dtype
    missing: bool = False

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def rows(self, start: int, stop: int) -> Any:
        return unpack_2bit(self.data[start:stop], self.shape[1])

    def decode(self) -> Any:
        codes = self.rows(0, self.shape[0]).astype(self.dtype, copy=False)
        if self.missing:
            codes[codes == 3] = -1
        return codes


@dataclass(frozen=True)
class BloscBlock:
    """A block compressed with Blosc (zstd, bit shuffle by default)."""

    blob: bytes
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return len(self.blob)

    def decode(self) -> np.ndarray:
        from lamina.layers.linalg.codecs import blosc_codec

        out = np.empty(self.shape, dtype=self.dtype)
        blosc_codec().decode(self.blob, out=out)
        return out


@dataclass(frozen=True)
class BlockRef:
    """Block ``block`` of ``source``, loaded by the kernel that reads it."""

    source: Any
    block: int

    def load(self) -> Any:
        return self.source.load_block(self.block)


class BlockView:
    """Row access to one decoded (or packed) block."""

    __slots__ = ("value", "shape", "packed", "missing", "_all_missing")

    def __init__(self, value: Any) -> None:
        self.packed = isinstance(value, Packed2Bit)
        self.missing = self.packed and value.missing
        self.value = value
        self.shape = tuple(value.shape)
        self._all_missing = None

    def missing_in(self, start: int, stop: int) -> tuple[Any, Any]:
        """``(rows, cols)`` of the missing calls in rows ``start:stop`` (rows from 0).

        Those of the whole block are found once and kept (a pass asks for
        them for both of its products).
        """
        if not self.missing:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        if (start, stop) != (0, self.shape[0]):
            return missing_positions(self.value.data[start:stop], self.shape[1])
        if self._all_missing is None:
            self._all_missing = missing_positions(self.value.data, self.shape[1])
        return self._all_missing

    def slabs(self, dtype: Any) -> Iterator[tuple[int, int, Any]]:
        """``(start, stop, rows cast to dtype)`` over the block, a few MiB at a time.

        The cast rows share one buffer: a slab is valid until the next one.
        Missing calls (``self.missing``) come out as 0.
        """
        nrows, ncols = self.shape
        dtype = np.dtype(dtype)
        step = slab_rows(ncols, dtype.itemsize)
        buffer = None
        for start in range(0, nrows, step):
            stop = min(start + step, nrows)
            if buffer is None and (self.packed or self.value.dtype != dtype):
                buffer = np.empty((min(step, nrows), ncols), dtype=dtype)
            if self.packed:
                yield start, stop, unpack_2bit_into(self.value.data[start:stop],
                                                    buffer[:stop - start], self.missing)
            elif self.value.dtype == dtype:
                yield start, stop, self.value[start:stop]
            else:
                slab = buffer[:stop - start]
                np.copyto(slab, self.value[start:stop], casting="unsafe")
                yield start, stop, slab


def slab_rows(ncols: int, itemsize: int) -> int:
    """Rows per slab so that one cast slab is about ``SLAB_BYTES``."""
    return max(1, SLAB_BYTES // max(ncols * itemsize, 1))


def open_block(payload: Any) -> BlockView:
    """A ``BlockView`` of any payload; refs are loaded, Blosc blocks decoded."""
    if isinstance(payload, BlockRef):
        payload = payload.load()
    elif isinstance(payload, BloscBlock):
        payload = payload.decode()
    if not isinstance(payload, Packed2Bit) and getattr(payload, "ndim", 2) != 2:
        raise ValueError(f"pass kernels read 2-D blocks, got {getattr(payload, 'ndim', '?')}-D")
    return BlockView(payload)


def keep(payload: Any, view: BlockView, pack: bool) -> Any:
    """What to hold of a block read once and needed again in the same task.

    In-memory payloads are kept as they are. A loaded ref is packed to
    2 bits when ``pack`` is set and its values allow, else kept decoded.
    """
    if not isinstance(payload, BlockRef):
        return payload
    return try_pack(view.value) if pack else view.value


def try_pack(block: Any) -> Any:
    """``Packed2Bit`` of an integer block whose values are all 0..3, else the block."""
    if isinstance(block, Packed2Bit) or block.dtype.kind not in "biu" or block.ndim != 2:
        return block
    if block.size and (int(block.max()) > 3 or (block.dtype.kind == "i" and int(block.min()) < 0)):
        return block
    return Packed2Bit(pack_2bit(block, check=False), tuple(block.shape), block.dtype)


def missing_as_code(payload: Any) -> Any:
    """A signed integer block with negative codes (missing calls) as ``Packed2Bit`` with
    ``missing``; any other payload unchanged.

    Called codes must be 0, 1 or 2 (``ValueError`` otherwise).
    """
    if isinstance(payload, BlockRef):
        payload = payload.load()
    dtype = getattr(payload, "dtype", None)
    if isinstance(payload, Packed2Bit) or dtype is None or dtype.kind != "i" \
            or payload.ndim != 2 or payload.size == 0 or int(payload.min()) >= 0:
        return payload
    if int(payload.max()) > 2:
        raise ValueError(f"genotype codes with missing calls must be -1, 0, 1 or 2, found "
                         f"{int(payload.max())}: recode them first")
    codes = np.where(payload < 0, 3, payload).astype(np.uint8)
    return Packed2Bit(pack_2bit(codes, check=False), tuple(payload.shape), dtype, True)


def genotype_payload(data: Any, shape: tuple[int, int], missing: bool | None = None) -> Packed2Bit:
    """A genotype block (2-bit codes, 3 a missing call) as an int8 ``Packed2Bit``.

    ``missing`` is set only when the block holds a missing call (``None``:
    look), so a block without any skips the imputation's sparse sums.
    """
    if missing is None:
        missing = any_missing(data)
    return Packed2Bit(data, tuple(shape), np.dtype(np.int8), bool(missing))


def payload_nbytes(payload: Any) -> int:
    """Memory a held payload takes."""
    if isinstance(payload, BlockRef):
        return 0
    return int(getattr(payload, "nbytes", 0))


def module_of_payload(payload: Any) -> Any:
    """The array module (NumPy or CuPy) of a payload's data."""
    if isinstance(payload, Packed2Bit):
        return array_module(payload.data)
    return array_module(payload)
