"""Lowering: requested output blocks -> an integer task table.

Demand-driven: starting from the blocks asked for, each layer (parents
before children) says, vectorized, which blocks of its inputs those need;
only those blocks become tasks. Tasks of one layer get a contiguous id
range, and dependencies are one CSR over all tasks::

    table = lower([layer])
    table.n_tasks, table.dep_indptr, table.dep_indices, table.outputs[0]

No Python object is created per task: every step is a NumPy operation (or
a C loop, for the depth-first priority).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.deps import merge_csr
from lamina.layers.walk import topological
from lamina.scheduler._state import depth_first_priority


@dataclass
class TaskTable:
    """Integer tasks of a computation and everything needed to run them."""

    layers: list[Layer]
    layer_offsets: np.ndarray
    task_layer: np.ndarray
    task_block: np.ndarray
    dep_indptr: np.ndarray
    dep_indices: np.ndarray
    priority: np.ndarray
    outputs: list[np.ndarray]

    @property
    def n_tasks(self) -> int:
        return len(self.task_block)

    def keep_mask(self) -> np.ndarray:
        keep = np.zeros(self.n_tasks, dtype=np.uint8)
        for out in self.outputs:
            keep[out] = 1
        return keep

    def describe_task(self, task: int) -> str:
        layer = self.layers[int(self.task_layer[task])]
        block = layer.block_index(int(self.task_block[task]))
        return f"layer {layer.label()} ({layer.name}), block {block}"



def lower(roots: Sequence[Layer], blocks: Sequence[np.ndarray] | None = None) -> TaskTable:
    """Build the task table that computes ``blocks`` of each root layer.

    ``blocks[i]`` holds flat block ids of ``roots[i]``; by default all of
    them. Shared layers (equal tokens) become one set of tasks.
    """
    order = topological(roots)
    index = {layer.name: i for i, layer in enumerate(order)}
    requests: list[list[np.ndarray]] = [[] for _ in order]
    if blocks is None:
        blocks = [np.arange(r.nblocks, dtype=np.int64) for r in roots]
    for root, req in zip(roots, blocks):
        requests[index[root.name]].append(np.asarray(req, dtype=np.int64))

    needed: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(order)
    deps_of: list[list] = [[] for _ in order]
    for i in range(len(order) - 1, -1, -1):
        layer = order[i]
        needed[i] = _union(requests[i], layer.nblocks)
        if not layer.dependencies or len(needed[i]) == 0:
            deps_of[i] = [
                (np.zeros(len(needed[i]) + 1, dtype=np.int64), np.empty(0, dtype=np.int64))
                for _ in layer.dependencies
            ]
            continue
        csrs = layer.block_deps(needed[i])
        if len(csrs) != len(layer.dependencies):
            raise RuntimeError(
                f"{layer.label()}.block_deps returned {len(csrs)} tables for "
                f"{len(layer.dependencies)} dependencies"
            )
        deps_of[i] = csrs
        for dep, (_, flat) in zip(layer.dependencies, csrs):
            requests[index[dep.name]].append(flat)

    counts = np.array([len(n) for n in needed], dtype=np.int64)
    offsets = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n_tasks = int(offsets[-1])

    indptr_parts = []
    index_parts = []
    edge_offset = 0
    for i, layer in enumerate(order):
        parts = []
        for dep, (ptr, flat) in zip(layer.dependencies, deps_of[i]):
            j = index[dep.name]
            parts.append((ptr, _to_task_ids(flat, needed[j], dep.nblocks, offsets[j])))
        if parts:
            ptr, idx = merge_csr(parts, len(needed[i]))
        else:
            ptr = np.zeros(len(needed[i]) + 1, dtype=np.int64)
            idx = np.empty(0, dtype=np.int64)
        indptr_parts.append(ptr[:-1] + edge_offset)
        index_parts.append(idx)
        edge_offset += int(ptr[-1])
    dep_indptr = np.concatenate(indptr_parts + [np.array([edge_offset], dtype=np.int64)])
    dep_indices = np.concatenate(index_parts) if index_parts else np.empty(0, dtype=np.int64)

    task_layer = np.repeat(np.arange(len(order), dtype=np.int32), counts)
    task_block = np.concatenate(needed) if needed else np.empty(0, dtype=np.int64)
    outputs = [
        _to_task_ids(np.asarray(req, dtype=np.int64), needed[index[r.name]], r.nblocks,
                     offsets[index[r.name]])
        for r, req in zip(roots, blocks)
    ]
    roots_ids = np.concatenate(outputs) if outputs else np.empty(0, dtype=np.int64)
    priority = depth_first_priority(dep_indptr, dep_indices, roots_ids)
    assert len(task_block) == n_tasks
    return TaskTable(order, offsets, task_layer, task_block, dep_indptr, dep_indices,
                     priority, outputs)


def _union(parts: list[np.ndarray], nblocks: int) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=np.int64)
    if len(parts) == 1 and _strictly_increasing(parts[0]):
        return parts[0]
    merged = np.concatenate(parts)
    if len(merged) >= nblocks // 4 and nblocks:
        mask = np.zeros(nblocks, dtype=bool)
        mask[merged] = True
        return np.flatnonzero(mask).astype(np.int64)
    return np.unique(merged)


def _strictly_increasing(p: np.ndarray) -> bool:
    return len(p) < 2 or bool(np.all(p[1:] > p[:-1]))


def _to_task_ids(flat: np.ndarray, needed: np.ndarray, nblocks: int, offset: int) -> np.ndarray:
    if len(needed) == nblocks:
        return flat + offset
    return np.searchsorted(needed, flat) + offset
