"""Transpose: permute the axes of an array, block by block.

    Transpose(x, (1, 0))     # x.T for a 2-D x

Output axis ``j`` is input axis ``axes[j]``; output block ``(i, j)`` is the
transposed input block ``(j, i)``, so dependencies are one to one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted


@trusted(version=1)
class Transpose(Layer):
    """Axes of ``x`` reordered: output axis ``j`` is input axis ``axes[j]``."""

    _parameters = ("x", "axes")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return tuple(self.x.chunks[a] for a in self.axes), self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        maps = [AxisMap.identity(nb) for nb in self.x.numblocks]
        out_axis_of = [0] * self.ndim
        for j, a in enumerate(self.axes):
            out_axis_of[a] = j
        return [product_deps(out_blocks, self.numblocks, maps, self.x.numblocks, out_axis_of)]

    def dependency_block_maps(self, block_map: tuple) -> list[tuple]:
        child: list = [None] * self.ndim
        for j, a in enumerate(self.axes):
            child[a] = block_map[j]
        return [tuple(child)]

    def kernel(self) -> Kernel:
        xp = self.array_module
        axes = tuple(self.axes)

        def run(block: int, inputs: list) -> Any:
            return xp.transpose(inputs[0], axes)

        return run
