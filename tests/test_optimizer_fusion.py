"""Blockwise fusion, common subexpressions and speculative-dispatch hints."""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import given, settings

import lamina
import lamina.array as la
import lamina.optimizer as lo
import lamina.random
from lamina.layers.base import Layer
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower
from lamina.testing import array_expressions, raw_compute


def optimized(*ys: la.Array, **changes) -> tuple[la.Array, ...]:
    return lo.optimize(*ys, **changes)


def test_ten_elementwise_operations_over_a_random_source_run_one_task_per_block():
    x = lamina.random.default_rng(1).random((400, 300), chunks=(100, 60))
    y = x
    for i in range(10):
        y = y + i if i % 2 else np.sin(y)
    (z,) = optimized(y)
    assert isinstance(z.layer, lo.Fused) and not z.layer.dependencies
    assert z.layer.n_members == 11
    assert lower([z.layer]).n_tasks == x.npartitions == 20
    np.testing.assert_array_equal(raw_compute(z), raw_compute(y))


def test_a_layer_read_twice_stays_apart_unless_cheap_to_compute_again():
    x = lamina.random.default_rng(2).random((40, 30), chunks=10)
    shared = np.sin(x)
    (z,) = optimized(la.concatenate([shared + 1, shared * 2]))
    layers = topological([z.layer])
    (group,) = [l for l in layers if isinstance(l, lo.Fused)]
    assert group.root.fname == "sin"
    readers = [l for l in layers if group in l.dependencies]
    assert sorted(r.label() for r in readers) == ["Blockwise[add]", "Blockwise[multiply]"]

    ones = la.ones((40, 30), chunks=10)
    (w,) = optimized(la.concatenate([ones + 1, ones * 2]))
    assert all(not g.dependencies for g in topological([w.layer]) if isinstance(g, lo.Fused))
    np.testing.assert_array_equal(raw_compute(w), np.concatenate([np.full((40, 30), 2.0)] * 2))


def test_a_broadcast_input_is_not_computed_again_for_every_block():
    row = lamina.random.default_rng(3).random((1, 300), chunks=(1, 300))
    x = la.ones((400, 300), chunks=(100, 300))
    plan = lo.optimize_plan([(x + np.sin(row)).layer])
    (fused,) = [l for l in topological(plan.layers) if isinstance(l, lo.Fused)
                and l.root.fname == "add"]
    assert [d.label() for d in fused.dependencies] == [
        "Fused[Blockwise[sin], RandomBlocks[random]]"]
    assert any("read by 4 blocks" in n.message for n in plan.trace.notes)


def test_a_fusion_over_the_memory_limit_is_refused_and_the_trace_says_why():
    rng = lamina.random.default_rng(4)
    x = rng.random((1000, 1000), chunks=(500, 500))
    w = rng.random((1000, 1000), chunks=(500, 500))
    y = np.cos(x) + np.sin(w)
    block = 500 * 500 * 8
    with lo.set_options(fuse_memory_limit=int(2.5 * block)):
        plan = lo.optimize_plan([y.layer])
    notes = [n.message for n in plan.trace.notes]
    assert any("projected memory per task 5.7 MiB exceeds the limit 4.8 MiB" in m
               for m in notes)
    groups = [l for l in topological(plan.layers) if isinstance(l, lo.Fused)]
    assert len(groups) == 2 and all(g.projected_bytes <= 2.5 * block for g in groups)
    assert plan.layers[0].label() == "Blockwise[add]"
    (whole,) = lo.optimize(y)
    assert isinstance(whole.layer, lo.Fused) and whole.layer.projected_bytes == 3 * block
    np.testing.assert_array_equal(raw_compute(la.Array(plan.layers[0])), raw_compute(y))


def test_reductions_and_contractions_start_with_a_fused_block_step():
    x = lamina.random.default_rng(5).random((60, 40), chunks=(20, 40))
    (s,) = optimized((x * 2 + 1).sum(axis=0))
    chunk_steps = [l for l in topological([s.layer]) if isinstance(l, lo.Fused)]
    assert [g.root.label() for g in chunk_steps] == ["ReduceChunk[sum]"]
    np.testing.assert_allclose(raw_compute(s), (raw_compute(x) * 2 + 1).sum(axis=0))

    w = la.from_array(np.arange(40.0 * 3).reshape(40, 3), chunks=(40, 3))
    (m,) = optimized(np.sin(x) @ w)
    products = [l for l in topological([m.layer]) if isinstance(l, lo.Fused)]
    assert [g.root.label() for g in products] == ["Contraction[matmul]"]
    np.testing.assert_allclose(raw_compute(m), np.sin(raw_compute(x)) @ raw_compute(w))


def test_sources_and_slices_fuse_with_their_reader():
    x = lamina.random.default_rng(6).random((100, 100), chunks=10)
    (y,) = optimized(x.T[::-1, 3:50] + 1)
    assert isinstance(y.layer, lo.Fused) and not y.layer.dependencies
    assert lower([y.layer]).n_tasks == y.npartitions
    np.testing.assert_array_equal(raw_compute(y), raw_compute(x).T[::-1, 3:50] + 1)


def test_equal_subexpressions_are_one_node_and_computed_once():
    calls = []
    lock = threading.Lock()

    def count(block):
        with lock:
            calls.append(block.shape)
        return block + 1

    x = la.from_array(np.arange(100.0).reshape(10, 10), chunks=5)
    y = x.map_blocks(count, dtype=x.dtype)
    a, b = lamina.compute(*optimized(y, y.sum()))
    assert len(calls) == 4
    np.testing.assert_array_equal(a, np.arange(100.0).reshape(10, 10) + 1)
    assert b == a.sum()


def test_commutative_operations_put_their_arguments_in_one_order():
    a = la.from_array(np.arange(6.0), chunks=2)
    b = lamina.random.default_rng(7).random(6, chunks=2)
    (left, right) = optimized(a + b, b + a, disabled_rules={"blockwise_fusion"})
    assert left.layer == right.layer
    (c1, c2) = optimized(2 * a, a * 2, disabled_rules={"blockwise_fusion"})
    assert c1.layer == c2.layer
    (s1, s2) = optimized(a - b, b - a, disabled_rules={"blockwise_fusion"})
    assert s1.layer != s2.layer


def test_string_addition_keeps_its_order():
    words = la.from_array(np.array(["a", "b"]), chunks=1)
    other = la.from_array(np.array(["x", "y"]), chunks=1)
    (z,) = optimized(other + words, disabled_rules={"blockwise_fusion"})
    np.testing.assert_array_equal(raw_compute(z), np.array(["xa", "yb"]))


def test_hints_mark_single_reader_edges_and_are_plain_names():
    x = lamina.random.default_rng(8).random((80, 60), chunks=(20, 20))
    y = (x + 1).sum(axis=0)
    plan = lo.optimize_plan([y.layer])
    names = {l.name: l for l in topological(plan.layers)}
    assert plan.hints
    for producer, consumer in plan.hints:
        assert isinstance(producer, str) and isinstance(consumer, str)
        assert names[producer] in names[consumer].dependencies
    assert lamina.compute(la.Array(plan.layers[0]))[0].shape == (60,)


def test_a_layer_read_by_two_gets_no_hint():
    x = lamina.random.default_rng(9).random((40, 40), chunks=20)
    s = x.sum(axis=0)
    plan = lo.optimize_plan([(s + 1).layer, (s * 2).layer])
    assert not any(p == plan.layers[0].name for p, _ in plan.hints)
    shared = {l.name for l in topological(plan.layers) if sum(
        l in m.dependencies for m in topological(plan.layers)) > 1}
    assert not any(p in shared for p, _ in plan.hints)


def _reachable_blocks(root: Layer, block: int, leaf: str) -> set[int]:
    """Blocks of ``leaf`` the unfused plan computes for one block of ``root``."""
    table = lower([root], [np.array([block], dtype=np.int64)])
    index = [i for i, l in enumerate(table.layers) if l.name == leaf]
    return set(table.task_block[table.task_layer == index[0]].tolist()) if index else set()


def _original_names(group: lo.Fused, original: dict[str, Layer]) -> dict[str, str]:
    """Leaf name in the fused group -> name of that input in the unfused plan."""
    out = {}
    for name, layer, absorbed in group.parts:
        if not absorbed:
            out[layer.name] = name
        elif isinstance(layer, lo.Fused):
            out.update(_original_names(layer, original))
        else:
            for now, then in zip(layer.dependencies, original[name].dependencies):
                out[now.name] = then.name
    return out


@settings(max_examples=40, deadline=None)
@given(array_expressions(ops=("unary", "binary", "scalar", "shared", "slice", "transpose",
                              "map_blocks", "where", "rechunk")))
def test_fused_dependencies_match_the_unfused_plan_block_by_block(expr):
    plan = lo.optimize_plan([expr.array.layer], rules=[lo.get_rule("blockwise_fusion")],
                            options=lo.Options(cheap_layers=frozenset()))
    original = {l.name: l for l in topological([expr.array.layer])}
    for group in topological(plan.layers):
        if not isinstance(group, lo.Fused):
            continue
        names = _original_names(group, original)
        csrs = group.block_deps(np.arange(group.nblocks, dtype=np.int64))
        for (indptr, flat), leaf in zip(csrs, group.leaves):
            for b in range(group.nblocks):
                got = set(flat[indptr[b]:indptr[b + 1]].tolist())
                assert got == _reachable_blocks(group.root, b, names[leaf])
    np.testing.assert_array_equal(raw_compute(la.Array(plan.layers[0])),
                                  raw_compute(expr.array))
