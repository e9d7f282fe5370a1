"""``Fused``: a group of layers that runs as one task per output block.

Blockwise layers, basic slices, transposes, the first step of reductions,
the block products of contractions and sources (layers without inputs:
in-memory arrays, constants, random, zarr) all compute an output block from
*one* block of each input, and which block that is factors by axis. A
chain of them is therefore one layer whose task computes the whole chain
for its block, reading only the group's outside inputs::

    Fused(root, parts, inputs, leaves, internal_bytes, cheap)

``root`` is the group's top layer. ``parts`` says, for each distinct
dependency of ``root`` (by name), what it is now and whether the group
computes it: ``(name, layer, absorbed)``. An absorbed part is either
another ``Fused`` (a nested group) or a layer whose own dependencies are
all read from outside; a part that is not absorbed is read from outside.
``inputs`` are the outside layers the group reads (its dependencies) and
``leaves[j]`` the name under which the nested parts refer to ``inputs[j]``
(replacing an input keeps its leaf name). Each member is computed at most
once per task, for each distinct block of it the output block needs, and
dropped as soon as its last reader in the group has run.

A *block map* (``lamina.layers.blockmaps``) says, for one member, which of
its blocks an output block needs; each member's type says at which block
maps it reads its own dependencies (``Layer.dependency_block_maps``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.blockmaps import (
    BlockMap,
    flat_ids,
    flat_one,
    identity_map,
    normal_map,
    unravel_one,
)
from lamina.layers.deps import unravel
from lamina.layers.registry import trusted

Member = tuple  # (kind, layer, block map, argument instances, input number)


@trusted(version=1)
class Fused(Layer):
    """Several layers computed together, one task per block (see the module docstring)."""

    _parameters = ("root", "parts", "inputs", "leaves", "internal_bytes", "cheap")
    _defaults = {"internal_bytes": 0, "cheap": False}

    @property
    def dependencies(self) -> tuple[Layer, ...]:
        return tuple(self.inputs)

    def with_dependencies(self, mapping: dict[str, Layer]) -> "Fused":
        """The same group reading replaced inputs (the members are kept)."""
        inputs = tuple(mapping.get(i.name, i) for i in self.inputs)
        if all(a is b for a, b in zip(inputs, self.inputs)):
            return self
        return type(self)(self.root, self.parts, inputs, self.leaves, self.internal_bytes,
                          self.cheap)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.root.chunks, self.root.dtype

    @property
    def array_module(self) -> Any:
        for kind, node, _, _, arg in self._members:
            if kind == "input":
                return self.inputs[arg].array_module
            if kind == "source":
                return node.array_module
        return np

    def label(self) -> str:
        names = [node.label() for kind, node, _, _, _ in self._members if kind != "input"]
        shown = ", ".join(names[-3:][::-1])
        more = f", +{len(names) - 3}" if len(names) > 3 else ""
        return f"Fused[{shown}{more}]"

    @property
    def n_members(self) -> int:
        """How many layers (sources, operations) this group computes per task."""
        return sum(1 for m in self._members if m[0] != "input")

    @cached_property
    def projected_bytes(self) -> int:
        """Projected memory of one task: input blocks held plus the group's working set."""
        held = sum(max_block_bytes(self.inputs[j]) * len(maps)
                   for j, maps in enumerate(self._input_maps))
        return held + int(self.internal_bytes)

    # structure ---------------------------------------------------------------
    @cached_property
    def _members(self) -> list[Member]:
        """Member instances in evaluation order: (kind, layer, block map, arguments, arg).

        ``kind`` is "input" (``arg``: input number), "source" or "op";
        ``arguments`` index earlier instances.
        """
        leaf_of = {name: j for j, name in enumerate(self.leaves)}
        index: dict[tuple, int] = {}
        out: list[Member] = []
        start = ("group", self, normal_map(self, identity_map(self)))
        stack: list[tuple[tuple, bool]] = [(start, False)]
        while stack:
            item, ready = stack.pop()
            kind, layer, bmap = item
            node = layer.root if kind == "group" else layer
            key = (kind == "input", node.name, bmap)
            if key in index:
                continue
            if kind == "input":
                index[key] = len(out)
                out.append(("input", node, bmap, [], leaf_of[node.name]))
                continue
            kids = _kid_items(kind, layer, node, bmap)
            if not ready:
                stack.append((item, True))
                stack.extend((k, False) for k in reversed(kids)
                             if (k[0] == "input", _node(k).name, k[2]) not in index)
                continue
            index[key] = len(out)
            out.append(("op" if node.dependencies else "source", node, bmap,
                        [index[(k[0] == "input", _node(k).name, k[2])] for k in kids], -1))
        return out

    @cached_property
    def _input_maps(self) -> list[list[BlockMap]]:
        maps: list[list[BlockMap]] = [[] for _ in self.inputs]
        for kind, _, bmap, _, arg in self._members:
            if kind == "input":
                maps[arg].append(bmap)
        return maps

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out_blocks = np.asarray(out_blocks, dtype=np.int64)
        n = len(out_blocks)
        coords = unravel(out_blocks, self.numblocks)
        result = []
        for dep, maps in zip(self.inputs, self._input_maps):
            columns = [flat_ids(coords, bmap, dep.numblocks) for bmap in maps]
            indptr = np.arange(n + 1, dtype=np.int64) * len(columns)
            flat = (np.stack(columns, axis=1).reshape(-1) if columns
                    else np.empty(0, dtype=np.int64))
            result.append((indptr, flat))
        return result

    def kernel(self) -> Kernel:
        members = self._members
        offsets = np.concatenate([[0], np.cumsum([len(m) for m in self._input_maps])])
        position = {}
        for j, maps in enumerate(self._input_maps):
            for d, bmap in enumerate(maps):
                position[(j, bmap)] = int(offsets[j]) + d
        last_use = list(range(len(members)))
        for i, (_, _, _, args, _) in enumerate(members):
            for a in args:
                last_use[a] = i
        free_after: list[list[int]] = [[] for _ in members]
        for a, i in enumerate(last_use):
            if i != a:
                free_after[i].append(a)
        identity = normal_map(self, identity_map(self))
        steps = []
        for i, (kind, node, bmap, args, arg) in enumerate(members):
            if kind == "input":
                steps.append((0, position[(arg, bmap)], None, None, args, free_after[i]))
            else:
                same = bmap == identity and node.numblocks == self.numblocks
                steps.append((1, node.kernel(), None if same else bmap, node.numblocks, args,
                              free_after[i]))
        out_numblocks = self.numblocks
        n_steps = len(steps)

        def run(block: int, inputs: list) -> Any:
            idx = unravel_one(block, out_numblocks)
            values: list[Any] = [None] * n_steps
            for i, (kind, fn, bmap, numblocks, args, free) in enumerate(steps):
                if kind == 0:
                    values[i] = inputs[fn]
                else:
                    flat = block if bmap is None else flat_one(idx, bmap, numblocks)
                    values[i] = fn(flat, [values[a] for a in args])
                for a in free:
                    values[a] = None
            return values[-1]

        return run

    @cached_property
    def _part_of(self) -> dict[str, tuple[Layer, bool]]:
        return {name: (layer, absorbed) for name, layer, absorbed in self.parts}


def _node(item: tuple) -> Layer:
    return item[1].root if item[0] == "group" else item[1]


def _kid_items(kind: str, layer: Layer, node: Layer, bmap: BlockMap) -> list[tuple]:
    """Walk items for the dependencies of a member: nested groups, members or inputs."""
    kids = []
    for dep, m in zip(node.dependencies, node.dependency_block_maps(bmap)):
        if kind == "member":
            kids.append(("input", dep, normal_map(dep, m)))
            continue
        part, absorbed = layer._part_of[dep.name]
        if not absorbed:
            kids.append(("input", part, normal_map(part, m)))
        elif isinstance(part, Fused):
            kids.append(("group", part, normal_map(part, m)))
        else:
            kids.append(("member", part, normal_map(part, m)))
    return kids


def max_block_bytes(layer: Layer) -> int:
    """Bytes of the largest block of ``layer`` (a frame layer estimates its partitions)."""
    estimate = getattr(layer, "max_partition_bytes", None)
    if estimate is not None:
        return int(estimate())
    size = layer.dtype.itemsize
    for c in layer.chunks:
        size *= max(c) if c else 0
    return size
