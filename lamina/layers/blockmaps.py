"""Block maps: which block of a layer one output block reads, axis by axis.

A layer that computes each output block from *one* block of each input
(elementwise, slices, transposes, the first step of reductions, block
products) describes that block with a map per input axis: an ``int``
(always that block) or ``(o, table)``, the block index along output axis
``o``, looked up in ``table`` when not None. Maps compose, so a chain of
such layers can run as one ``Fused`` task::

    identity_map(x)                                    # ((0, None), (1, None)), x 2-d
    Transpose(x, (1, 0)).dependency_block_maps(identity_map(x))
                                                       # [((1, None), (0, None))]

Each layer type answers for itself through ``Layer.dependency_block_maps``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lamina.layers.deps import ravel

if TYPE_CHECKING:
    from lamina.layers.base import Layer

BlockMap = tuple


def identity_map(layer: "Layer") -> BlockMap:
    """Each axis read at the output block's own index."""
    return tuple((o, None) for o in range(layer.ndim))


def normal_map(layer: "Layer", bmap: BlockMap) -> BlockMap:
    """Canonical block map: one-block axes constant, identity tables dropped."""
    out = []
    for nb, entry in zip(layer.numblocks, bmap):
        if nb == 1:
            out.append(0)
        elif isinstance(entry, tuple) and entry[1] is not None and entry[1] == tuple(range(nb)):
            out.append((entry[0], None))
        else:
            out.append(entry)
    return tuple(out)


def through(entry: Any, table: np.ndarray) -> Any:
    """Compose a block map entry with a per-axis lookup ``table``."""
    if isinstance(entry, int):
        return int(table[entry])
    o, t = entry
    if t is None:
        return (o, tuple(table.tolist()))
    return (o, tuple(table[list(t)].tolist()))


def grid_map(out_numblocks: tuple[int, ...], arg: "Layer", axes: tuple,
             bmap: BlockMap) -> BlockMap:
    """Block map of an argument whose axis ``k`` lines up with output axis ``axes[k]``
    (None: dropped, one block), or is broadcast when its block counts differ."""
    return tuple(bmap[o] if o is not None and nb == out_numblocks[o] and nb != 1 else 0
                 for o, nb in zip(axes, arg.numblocks))


def flat_ids(coords: np.ndarray, bmap: BlockMap, numblocks: tuple[int, ...]) -> np.ndarray:
    """Flat ids of the blocks ``bmap`` selects, one per row of output block ``coords``."""
    n = coords.shape[0]
    cols = np.empty((n, len(numblocks)), dtype=np.int64)
    for k, entry in enumerate(bmap):
        if isinstance(entry, int):
            cols[:, k] = entry
        elif entry[1] is None:
            cols[:, k] = coords[:, entry[0]]
        else:
            cols[:, k] = np.asarray(entry[1], dtype=np.int64)[coords[:, entry[0]]]
    return ravel(cols, numblocks)


def unravel_one(flat: int, numblocks: tuple[int, ...]) -> tuple[int, ...]:
    """Block index tuple of one flat block id (C order)."""
    out = []
    for nb in reversed(numblocks):
        flat, r = divmod(flat, nb)
        out.append(r)
    return tuple(reversed(out))


def flat_one(idx: tuple[int, ...], bmap: BlockMap, numblocks: tuple[int, ...]) -> int:
    """Flat id of the block ``bmap`` selects for output block ``idx``."""
    flat = 0
    for entry, nb in zip(bmap, numblocks):
        if isinstance(entry, int):
            b = entry
        elif entry[1] is None:
            b = idx[entry[0]]
        else:
            b = entry[1][idx[entry[0]]]
        flat = flat * nb + b
    return flat
