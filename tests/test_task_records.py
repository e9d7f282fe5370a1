"""Task records without a Python object per task: the ring buffer, the
per-layer state counts of the state machine, and the embedded runner's feed."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._execute import now, run_batch
from lamina.scheduler._records import FIELDS, TaskRecords
from lamina.scheduler._state import GraphState

import lamina
import lamina.array as la
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower
from lamina.scheduler.records import (
    Recorder,
    compact_tasks,
    plan_graph,
    starts_of,
    watched,
    watching,
)
from tests.test_state_machine import csr, random_dags


@given(capacity=st.integers(1, 20),
       batches=st.lists(st.integers(0, 9), max_size=12),
       cursor=st.integers(0, 150))
@settings(max_examples=80, deadline=None)
def test_ring_keeps_the_newest_records_in_order(capacity, batches, cursor):
    ring = TaskRecords(capacity)
    reference = []
    for b, n in enumerate(batches):
        tasks = np.arange(len(reference), len(reference) + n)
        starts = tasks * 1.5
        ring.add(b, tasks, tasks % 3, b % 4, b % 2, starts, starts + 0.25)
        reference += [(b, t, t % 3, b % 4, b % 2, t * 1.5, t * 1.5 + 0.25) for t in tasks]
    total, got = ring.since(cursor)
    assert total == len(reference) == ring.total
    expected = reference[max(cursor, len(reference) - capacity):]
    rows = list(zip(*(got[f].tolist() for f in FIELDS)))
    assert rows == expected
    assert ring.dropped == max(len(reference) - capacity, 0)


def test_ring_rejects_mismatched_lengths_and_empty_capacity():
    with pytest.raises(ValueError, match="capacity must be 1 or more"):
        TaskRecords(0)
    with pytest.raises(ValueError, match="one entry per task"):
        TaskRecords(4).add(0, np.arange(3), np.arange(2), 0, 0, np.zeros(3), np.zeros(3))


@given(deps=random_dags(), steps=st.lists(st.integers(1, 5), max_size=30),
       n_layers=st.integers(1, 4))
@settings(max_examples=30, deadline=None)
def test_layer_counts_match_a_bincount_of_states(deps, steps, n_layers):
    ptr, idx = csr(deps)
    n = len(deps)
    keep = np.zeros(n, dtype=np.uint8)
    keep[-1] = 1
    state = GraphState(ptr, idx, np.arange(n), keep)
    task_layer = np.arange(n) * n_layers // n
    offsets = np.searchsorted(task_layer, np.arange(n_layers + 1))
    for i, k in enumerate(steps):
        ids = state.pop_ready(k)
        if i % 3 == 2 and len(ids):
            state.fail(int(ids[0]))
            ids = ids[1:]
        state.finish(ids[: len(ids) // 2 + 1] if i % 2 else ids)
        counts = state.layer_counts(offsets)
        reference = np.zeros((n_layers, 7), dtype=np.int64)
        np.add.at(reference, (task_layer, state.states()), 1)
        np.testing.assert_array_equal(counts, reference)
        assert counts.sum() == n


@pytest.mark.parametrize("offsets", [[0, 3], [1, 2], [0, 2, 1, 2], []])
def test_layer_counts_name_wrong_offsets(offsets):
    ptr, idx = csr([[], [0]])
    state = GraphState(ptr, idx, np.arange(2), np.ones(2, dtype=np.uint8))
    with pytest.raises(ValueError, match="layer_offsets must rise from 0 to the number of tasks"):
        state.layer_counts(np.array(offsets, dtype=np.int64))


def test_run_batch_stamps_each_task_as_it_ends():
    table = lower([(la.ones((8,), chunks=(2,)) + 1).layer])
    store = [None] * table.n_tasks
    state = GraphState(table.dep_indptr, table.dep_indices, table.priority, table.keep_mask())
    kernels = [layer.kernel() for layer in table.layers]
    ids = state.pop_ready(table.n_tasks)
    stops = np.zeros(len(ids))
    before = now()
    n_ok, exc = run_batch(ids, kernels, table.task_layer, table.task_block, table.dep_indptr,
                          table.dep_indices, store, stops)
    assert (n_ok, exc) == (len(ids), None)
    assert before <= stops[0] and np.all(np.diff(stops) >= 0) and stops[-1] <= now()
    np.testing.assert_array_equal(starts_of(before, stops)[1:], stops[:-1])


@pytest.mark.parametrize("nthreads", [1, 3])
def test_embedded_runner_records_every_task_once(nthreads):
    x = la.from_array(np.arange(600.0).reshape(20, 30), chunks=(3, 7))
    y = (x * 2).sum(axis=0)
    recorder = Recorder()
    with watched(recorder):
        assert watching() == [recorder]
        (value,) = lamina.compute(y, nthreads=nthreads)
    assert watching() == []
    np.testing.assert_allclose(value, (np.arange(600.0).reshape(20, 30) * 2).sum(axis=0))
    (rid, run), = recorder.runs.items()
    _, got = recorder.records.since(0)
    assert sorted(got["task"].tolist()) == list(range(run["n_tasks"]))
    assert set(got["run"].tolist()) == {rid}
    (plan,) = recorder.plans
    assert plan.before == (y.layer,)
    table = lower(list(plan.layers))
    np.testing.assert_array_equal(got["layer"], table.task_layer[got["task"]])
    assert run["layers"] == [layer.label() for layer in table.layers]
    assert np.all(got["start"] <= got["stop"])
    assert set(got["thread"].tolist()) <= set(range(nthreads))


def test_nothing_is_recorded_without_a_watcher():
    recorder = Recorder()
    lamina.compute(la.ones((4,), chunks=(2,)) + 1)
    assert recorder.records.total == 0 and not recorder.runs


def test_a_watcher_sees_computations_on_other_threads():
    seen = []
    recorder = Recorder()
    with watched(recorder):
        t = threading.Thread(target=lambda: seen.append(len(watching())))
        t.start()
        t.join()
    assert seen == [1]


def test_plan_graph_lists_each_layer_once_with_its_inputs():
    x = la.ones((10,), chunks=(5,))
    y = x + x * 2
    graph = plan_graph(topological([y.layer]))
    labels = [n["label"] for n in graph["nodes"]]
    assert len(labels) == 3 and graph["nodes"][-1]["root"]
    assert sum(n["root"] for n in graph["nodes"]) == 1
    assert all(a < b for a, b in graph["edges"])
    assert {b for _, b in graph["edges"]} == {1, 2}


@given(times=st.lists(st.tuples(st.floats(1.7e9, 1.8e9), st.floats(0, 100)), max_size=20))
@settings(max_examples=50, deadline=None)
def test_compact_tasks_keep_times_to_the_microsecond(times):
    start = np.array([t for t, _ in times])
    stop = start + np.array([d for _, d in times])
    tasks = {"cursor": 7, "task": np.arange(len(times)), "start": start, "stop": stop}
    out = compact_tasks(tasks)
    assert out["cursor"] == 7 and out["task"] == list(range(len(times)))
    assert all(isinstance(v, int) for v in out["start"] + out["stop"])
    np.testing.assert_allclose(out["base"] + np.array(out["start"], dtype=float) * 1e-6, start,
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["base"] + np.array(out["stop"], dtype=float) * 1e-6, stop,
                               rtol=0, atol=1e-6)
