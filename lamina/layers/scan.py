"""The last step of a blocked scan: add each block's carry from the blocks before it.

A scan (``cumsum``, ``cumprod``, ``ufunc.accumulate``) along an axis with
several blocks runs in three steps, none of which holds the whole array:

1. each block is scanned on its own (a ``Blockwise`` layer);
2. the last slice of each scanned block (its total) is taken, the totals are
   put in one block along the axis and scanned there: ``carry[j]`` is then
   the scan of everything up to the end of block ``j``;
3. ``ScanCarry`` combines block ``j`` of step 1 with ``carry[j - 1]``::

       ScanCarry(scanned, carry, axis=0, combine="add")

Block ``j`` reads block ``j`` of ``scanned`` and the one block of ``carry``
along the axis (the same block on the other axes), so dependencies stay
one or two blocks per task however long the axis is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted

ASSOCIATIVE = frozenset({
    "add", "multiply", "maximum", "minimum", "fmax", "fmin", "logical_and", "logical_or",
    "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm",
})


@trusted(version=1)
class ScanCarry(Layer):
    """Block ``j`` of ``scanned`` combined (``np.<combine>``) with ``carry[j - 1]``
    along ``axis``; ``carry`` has one block along ``axis`` holding one slice per
    block of ``scanned``."""

    _parameters = ("scanned", "carry", "axis", "combine")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.combine not in ASSOCIATIVE:
            raise ValueError(f"ScanCarry combines with an associative ufunc name, one of "
                             f"{sorted(ASSOCIATIVE)}; got {self.combine!r}")
        expected = tuple((len(c),) if k == self.axis else c
                         for k, c in enumerate(self.scanned.chunks))
        if self.carry.chunks != expected:
            raise ValueError(f"ScanCarry's carry has chunks {self.carry.chunks}; it needs "
                             f"{expected}: one slice per block of the scanned axis")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.scanned.chunks, self.scanned.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        maps = [AxisMap.constant(nb) if k == self.axis else AxisMap.identity(nb)
                for k, nb in enumerate(self.numblocks)]
        return [one_to_one(out_blocks),
                product_deps(out_blocks, self.numblocks, maps, self.carry.numblocks)]

    def kernel(self) -> Kernel:
        ufunc = getattr(np, self.combine)
        axis, dtype, index = self.axis, self.dtype, self.block_index

        def run(block: int, inputs: list) -> Any:
            scanned, carry = inputs
            j = index(block)[axis]
            if j == 0:
                return scanned
            take = (slice(None),) * axis + (slice(j - 1, j),)
            with np.errstate(all="ignore"):
                return ufunc(carry[take], scanned).astype(dtype, copy=False)

        return run
