"""Contraction: the partial product of one block of ``a`` and one of ``b``.

The grid of a ``Contraction`` is the grid of the result, followed by one
axis for each contracted axis that has several blocks. Block ``(i..., k...)``
multiplies the block of ``a`` and the block of ``b`` at output position
``i`` and contracted position ``k`` and keeps the contracted axes with
length 1. A sum tree (``lamina.layers.reductions.combine_tree``) over those
trailing axes then gives the result, so a task holds one block pair and
never a whole row of blocks::

    # (m, k) @ (k, n), k in several blocks: grid (m, n, k)
    partial = Contraction(a, b, "matmul", a_grid=(0, 2), b_grid=(2, 1),
                          block_axes=(), grid_chunks=((5, 5), (4,), (1, 1, 1)),
                          out_dtype=np.dtype("f8"), n_reduced=1)

``a_grid[j]`` names the grid axis that indexes axis ``j`` of ``a``, or None
for a contracted axis of one block. An operand with one block where the grid
has several is broadcast (every grid block reads its block 0), as in
``Blockwise``. ``kind`` is ``"tensordot"`` (``np.tensordot(A, B,
axes=block_axes)``) or ``"matmul"`` (``np.matmul(A, B)``, batch axes
broadcast within the blocks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.blockmaps import BlockMap, grid_map
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.exact_products import contract, outer
from lamina.layers.registry import trusted

KINDS = ("tensordot", "matmul")


@trusted(version=1)
class Contraction(Layer):
    """Partial products of block pairs, contracted axes kept with length 1."""

    _parameters = ("a", "b", "kind", "a_grid", "b_grid", "block_axes", "grid_chunks",
                   "out_dtype", "n_reduced")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.grid_chunks, self.out_dtype

    def label(self) -> str:
        return f"Contraction[{self.kind}]"

    def _tables(self, arg: Layer, grid: tuple) -> tuple[list[AxisMap], list[int | None]]:
        maps = []
        for k, o in enumerate(grid):
            if o is None:
                maps.append(AxisMap.constant(1))
            elif arg.numblocks[k] == self.numblocks[o]:
                maps.append(AxisMap.identity(arg.numblocks[k]))
            else:
                maps.append(AxisMap.constant(self.numblocks[o]))
        return maps, list(grid)

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = []
        for arg, grid in ((self.a, self.a_grid), (self.b, self.b_grid)):
            maps, out_axis_of = self._tables(arg, grid)
            out.append(product_deps(out_blocks, self.numblocks, maps, arg.numblocks, out_axis_of))
        return out

    def dependency_block_maps(self, block_map: BlockMap) -> list[BlockMap]:
        return [grid_map(self.numblocks, self.a, self.a_grid, block_map),
                grid_map(self.numblocks, self.b, self.b_grid, block_map)]

    def kernel(self) -> Kernel:
        xp, dtype = self.array_module, self.out_dtype
        extra = (1,) * self.n_reduced
        if self.kind == "matmul":
            def multiply(x: Any, y: Any) -> Any:
                return contract(np.matmul, x, y, -1, -2 if y.ndim >= 2 else 0)
        elif self.block_axes[0]:
            axes = tuple(tuple(a) for a in self.block_axes)

            def multiply(x: Any, y: Any) -> Any:
                return contract(lambda u, v: np.tensordot(u, v, axes=axes), x, y,
                                axes[0][0], axes[1][0])
        else:
            multiply = outer

        def run(block: int, inputs: list) -> Any:
            value = xp.asarray(multiply(inputs[0], inputs[1])).astype(dtype, copy=False)
            return value.reshape(value.shape + extra) if extra else value

        return run


def check_grid(a: Layer, b: Layer, a_grid: tuple, b_grid: tuple, grid_chunks: Chunks) -> None:
    """Raise unless every operand axis lines up with its grid axis."""
    for name, arg, grid in (("a", a, a_grid), ("b", b, b_grid)):
        if len(grid) != arg.ndim:
            raise ValueError(f"{name}_grid {grid} must name a grid axis for each of the "
                             f"{arg.ndim} axes of {name}")
        for k, o in enumerate(grid):
            if o is None:
                if arg.numblocks[k] != 1:
                    raise ValueError(f"axis {k} of {name} has no grid axis but "
                                     f"{arg.numblocks[k]} blocks: give it a grid axis")
            elif arg.numblocks[k] not in (1, len(grid_chunks[o])):
                raise ValueError(f"axis {k} of {name} has {arg.numblocks[k]} blocks but grid "
                                 f"axis {o} has {len(grid_chunks[o])}: rechunk it to match")
