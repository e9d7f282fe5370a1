"""Lowering: layers -> integer task table, checked against a brute force.

The reference walks the expression one block at a time, asking each layer
for the dependencies of a single block, and builds a dict of tasks. The
vectorized lowering must produce exactly the same tasks and edges.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
from lamina.layers.base import Layer
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower


def reference_tasks(roots: list[Layer]) -> dict[tuple[str, int], list[tuple[str, int]]]:
    tasks: dict[tuple[str, int], list[tuple[str, int]]] = {}
    stack = [(r, b) for r in roots for b in range(r.nblocks)]
    while stack:
        layer, block = stack.pop()
        key = (layer.name, block)
        if key in tasks:
            continue
        inputs = []
        if layer.dependencies:
            csrs = layer.block_deps(np.array([block], dtype=np.int64))
            for dep, (ptr, flat) in zip(layer.dependencies, csrs):
                assert ptr.tolist() == [0, len(flat)]
                inputs += [(dep.name, int(f)) for f in flat]
        tasks[key] = inputs
        stack += [(next(l for l in topological(roots) if l.name == n), b)
                  for n, b in inputs]
    return tasks


def table_tasks(roots: list[Layer]) -> dict[tuple[str, int], list[tuple[str, int]]]:
    table = lower(roots)
    keys = [(table.layers[l].name, int(b)) for l, b in zip(table.task_layer, table.task_block)]
    return {
        keys[t]: [keys[d] for d in table.dep_indices[table.dep_indptr[t]:table.dep_indptr[t + 1]]]
        for t in range(table.n_tasks)
    }


shapes = st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple)


@st.composite
def chunked(draw, shape):
    return tuple(draw(st.integers(1, max(n, 1))) for n in shape)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_elementwise_broadcast_and_rechunk_match_reference(data):
    shape = data.draw(shapes)
    a = la.from_array(np.arange(np.prod(shape), dtype=float).reshape(shape),
                      chunks=data.draw(chunked(shape)))
    b_shape = tuple(1 if data.draw(st.booleans()) else n for n in shape[1:])
    b = la.ones(b_shape, chunks=data.draw(chunked(b_shape)))
    expr = (a + b) * a
    expr = expr.rechunk(data.draw(chunked(shape)))
    roots = [expr.layer, (a - 1).layer]
    assert table_tasks(roots) == reference_tasks(roots)


def test_shared_subexpression_is_lowered_once():
    a = la.ones((10,), chunks=2)
    s = a + 1
    t = a + 1
    table = lower([(s * 2).layer, (t * 3).layer])
    assert len(table.layers) == 4
    assert table.n_tasks == 4 * 5


def test_only_requested_blocks_become_tasks():
    x = la.ones((1000, 1000), chunks=10)
    y = (x + 1) * 2
    table = lower([y.layer], [np.array([5], dtype=np.int64)])
    assert table.n_tasks == 3
    assert sorted(table.task_block.tolist()) == [5, 5, 5]


def test_outputs_map_requested_blocks_to_task_ids():
    x = la.ones((6,), chunks=2) + 1
    table = lower([x.layer], [np.array([2, 0], dtype=np.int64)])
    out = table.outputs[0]
    assert [int(table.task_block[t]) for t in out] == [2, 0]
    assert all(table.layers[table.task_layer[t]].name == x.name for t in out)


def test_priority_finishes_one_output_branch_first():
    x = la.ones((8,), chunks=1)
    y = x + 1
    table = lower([y.layer])
    order = np.argsort(table.priority)
    # depth-first: each source block is followed by its dependent elementwise task
    kinds = [table.layers[table.task_layer[t]].name == y.name for t in order]
    assert kinds == [False, True] * 8


def test_compute_many_roots_together():
    a = la.arange(10, chunks=3)
    total, doubled = lamina.compute(a.rechunk(5) + 0, a * 2)
    np.testing.assert_array_equal(total, np.arange(10))
    np.testing.assert_array_equal(doubled, np.arange(10) * 2)
