"""Each layer type's block maps agree with its own block dependencies.

Blockwise fusion trusts ``Layer.dependency_block_maps`` instead of asking
a type by name, so for every fusable built-in type the block each map
selects must be exactly the one block ``block_deps`` lists.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina.array as la
from lamina.layers.base import Layer
from lamina.layers.blockmaps import flat_ids, identity_map, normal_map
from lamina.layers.deps import unravel
from lamina.layers.walk import topological

x = la.from_array(np.arange(48.0).reshape(6, 8), chunks=(2, 3))
row = la.from_array(np.arange(8.0), chunks=3)
y = la.from_array(np.arange(32.0).reshape(8, 4), chunks=(3, 2))

EXPRESSIONS = {
    "Blockwise": lambda: x + 1,
    "Blockwise broadcast": lambda: x * row,
    "Blockwise one block": lambda: x + la.from_array(np.ones((1, 8)), chunks=(1, 8)),
    "BasicSlice": lambda: x[1:5, ::-2],
    "BasicSlice int and new axis": lambda: x[3, None, 2:7],
    "Transpose": lambda: x.T,
    "ReduceChunk": lambda: x.sum(axis=0),
    "Contraction": lambda: x @ y,
}


def _fusable_layers(array: la.Array) -> list[Layer]:
    return [layer for layer in topological([array.layer])
            if layer.dependencies
            and layer.dependency_block_maps(identity_map(layer)) is not None]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_block_maps_select_the_blocks_block_deps_lists(name):
    layers = _fusable_layers(EXPRESSIONS[name]())
    assert layers, f"{name} built no fusable layer"
    for layer in layers:
        blocks = np.arange(layer.nblocks, dtype=np.int64)
        coords = unravel(blocks, layer.numblocks)
        maps = layer.dependency_block_maps(normal_map(layer, identity_map(layer)))
        assert len(maps) == len(layer.dependencies)
        for dep, bmap, (indptr, ids) in zip(layer.dependencies, maps,
                                             layer.block_deps(blocks)):
            assert np.array_equal(np.diff(indptr), np.ones(len(blocks))), layer.label()
            assert np.array_equal(flat_ids(coords, normal_map(dep, bmap), dep.numblocks), ids)


def test_sources_read_nothing_and_other_layers_do_not_fuse():
    assert x.layer.dependency_block_maps(identity_map(x.layer)) == []
    rechunked = x.rechunk((3, 4)).layer
    assert rechunked.dependency_block_maps(identity_map(rechunked)) is None
