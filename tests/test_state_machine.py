"""The compiled state machine on its own: no layers, no threads."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._state import (
    DONE,
    ERRED,
    READY,
    RELEASED,
    WAITING,
    GraphState,
    dependents_of,
    depth_first_priority,
)


def csr(deps: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(len(deps) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(d) for d in deps])
    flat = [i for d in deps for i in d]
    return indptr, np.asarray(flat, dtype=np.int64)


@st.composite
def random_dags(draw):
    n = draw(st.integers(1, 40))
    deps = [sorted(draw(st.sets(st.integers(0, i - 1), max_size=4))) if i else []
            for i in range(n)]
    return deps


def test_chain_runs_in_order_and_releases_inputs():
    ptr, idx = csr([[], [0], [1]])
    state = GraphState(ptr, idx, np.arange(3), np.array([0, 0, 1], dtype=np.uint8))
    assert state.pop_ready(10).tolist() == [0]
    assert state.finish([0]).tolist() == []
    assert state.pop_ready(10).tolist() == [1]
    assert state.finish([1]).tolist() == [0]
    assert state.pop_ready(10).tolist() == [2]
    assert state.finish([2]).tolist() == [1]
    assert state.complete and state.finished
    assert state.state_of(2) == DONE
    assert state.state_of(0) == RELEASED


def test_ready_tasks_come_out_by_priority():
    ptr, idx = csr([[], [], [], []])
    state = GraphState(ptr, idx, np.array([3, 1, 2, 0]), np.ones(4, dtype=np.uint8))
    assert state.pop_ready(4).tolist() == [3, 1, 2, 0]


def test_failure_marks_all_dependents_erred():
    ptr, idx = csr([[], [0], [1], [], [3]])
    state = GraphState(ptr, idx, np.arange(5), np.zeros(5, dtype=np.uint8))
    first = state.pop_ready(1).tolist()
    assert first == [0]
    erred = sorted(state.fail(0).tolist())
    assert erred == [0, 1, 2]
    assert state.state_of(2) == ERRED
    assert state.state_of(3) == READY
    assert state.n_running == 0


def test_failure_removes_ready_dependents_from_queue():
    ptr, idx = csr([[], [], [0, 1]])
    state = GraphState(ptr, idx, np.arange(3), np.zeros(3, dtype=np.uint8))
    ids = state.pop_ready(1).tolist()
    state.finish(ids)
    state.fail(1)
    assert state.n_ready == 0
    assert state.state_of(2) == ERRED
    assert state.finished and not state.complete


def test_duplicate_dependency_counts_twice_and_releases_once():
    ptr, idx = csr([[], [0, 0]])
    state = GraphState(ptr, idx, np.arange(2), np.array([0, 1], dtype=np.uint8))
    state.finish(state.pop_ready(1))
    assert state.state_of(1) == READY
    freed = state.finish(state.pop_ready(1))
    assert freed.tolist() == [0]


def test_bad_tables_are_rejected_with_a_message():
    ptr, idx = csr([[], [5]])
    with pytest.raises(ValueError, match="dependency ids"):
        GraphState(ptr, idx, np.arange(2), np.zeros(2, dtype=np.uint8))
    ptr, idx = csr([[], [0]])
    with pytest.raises(ValueError, match="one entry per task"):
        GraphState(ptr, idx, np.arange(3), np.zeros(2, dtype=np.uint8))


def test_waiting_until_all_inputs_done():
    ptr, idx = csr([[], [], [0, 1]])
    state = GraphState(ptr, idx, np.arange(3), np.zeros(3, dtype=np.uint8))
    assert state.state_of(2) == WAITING
    state.finish(state.pop_ready(1))
    assert state.state_of(2) == WAITING
    state.finish(state.pop_ready(1))
    assert state.state_of(2) == READY


@settings(max_examples=60, deadline=None)
@given(random_dags(), st.integers(1, 5), st.randoms(use_true_random=False))
def test_random_dags_run_every_task_after_its_inputs(deps, batch, rnd):
    ptr, idx = csr(deps)
    n = len(deps)
    sinks = np.ones(n, dtype=np.uint8)
    has_dependents = set(idx.tolist())
    for t in has_dependents:
        sinks[t] = 0
    prio = depth_first_priority(ptr, idx, np.flatnonzero(sinks))
    assert sorted(prio.tolist()) == list(range(n))
    state = GraphState(ptr, idx, prio, sinks)
    finished: set[int] = set()
    freed: set[int] = set()
    while not state.finished:
        ids = state.pop_ready(batch).tolist()
        rnd.shuffle(ids)
        for t in ids:
            assert all(d in finished for d in deps[t])
            assert not any(d in freed for d in deps[t])
        finished.update(ids)
        freed.update(state.finish(ids).tolist())
    assert state.complete
    assert finished == set(range(n))
    assert freed == set(range(n)) - set(np.flatnonzero(sinks).tolist())


@settings(max_examples=40, deadline=None)
@given(random_dags())
def test_dependents_is_the_transpose(deps):
    ptr, idx = csr(deps)
    dptr, didx = dependents_of(ptr, idx)
    for t in range(len(deps)):
        expected = sorted(u for u in range(len(deps)) for d in deps[u] if d == t)
        assert sorted(didx[dptr[t]:dptr[t + 1]].tolist()) == expected


@settings(max_examples=40, deadline=None)
@given(random_dags())
def test_depth_first_priority_puts_inputs_before_their_task(deps):
    ptr, idx = csr(deps)
    prio = depth_first_priority(ptr, idx, np.array([len(deps) - 1]))
    for t, ds in enumerate(deps):
        for d in ds:
            assert prio[d] < prio[t]
