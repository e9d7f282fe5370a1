"""The state machine's ``lose`` transition: a worker left with running work and results.

A reference model runs beside the compiled state machine on random DAGs
through random pops, completions, losses and late reports, and checks the
counts after every step and that every task ends finished exactly once
more than its result was forgotten.
"""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._state import (
    DONE,
    READY,
    RELEASED,
    RUNNING,
    WAITING,
    GraphState,
    depth_first_priority,
)
from test_state_machine import csr, random_dags


def chain_state(keep=(0, 0, 1)):
    ptr, idx = csr([[], [0], [1]])
    return GraphState(ptr, idx, np.arange(3), np.array(keep, dtype=np.uint8))


def test_lost_running_task_goes_back_to_ready():
    state = chain_state()
    assert state.pop_ready(1).tolist() == [0]
    assert state.lose([0]).tolist() == [0]
    assert state.state_of(0) == READY
    assert (state.n_ready, state.n_running) == (1, 0)
    assert state.pop_ready(1).tolist() == [0]


def test_lost_result_runs_again_with_its_released_inputs():
    state = chain_state()
    state.finish(state.pop_ready(1))
    assert state.finish(state.pop_ready(1)).tolist() == [0]
    assert state.state_of(0) == RELEASED
    assert sorted(state.lose([1]).tolist()) == [0, 1]
    assert [state.state_of(t) for t in range(3)] == [READY, WAITING, WAITING]
    assert state.n_done == 0 and state.n_released == 0
    waiting, holders = state.counts()
    assert waiting.tolist()[:3] == [0, 1, 1]
    assert holders.tolist() == [1, 1, 0]
    while not state.finished:
        state.finish(state.pop_ready(5))
    assert state.complete and state.state_of(2) == DONE


def test_ready_dependent_waits_again_for_a_lost_input():
    ptr, idx = csr([[], [0]])
    state = GraphState(ptr, idx, np.arange(2), np.array([0, 1], dtype=np.uint8))
    state.finish(state.pop_ready(1))
    assert state.state_of(1) == READY
    state.lose([0])
    assert (state.state_of(0), state.state_of(1)) == (READY, WAITING)
    assert state.pop_ready(5).tolist() == [0]


def test_lost_kept_output_is_computed_again():
    state = chain_state()
    for _ in range(3):
        state.finish(state.pop_ready(1))
    assert state.complete
    assert sorted(state.lose([2]).tolist()) == [0, 1, 2]
    assert not state.complete
    assert [state.state_of(t) for t in range(3)] == [READY, WAITING, WAITING]
    assert state.lose([]).tolist() == []


def test_running_dependent_of_a_lost_result_stays_running():
    ptr, idx = csr([[], [0], [0]])
    state = GraphState(ptr, idx, np.arange(3), np.array([0, 1, 1], dtype=np.uint8))
    state.finish(state.pop_ready(1))
    assert state.pop_ready(1).tolist() == [1]
    assert state.lose([0]).tolist() == [0]
    assert [state.state_of(t) for t in range(3)] == [READY, RUNNING, WAITING]
    assert state.finish([1]).tolist() == []
    state.finish(state.pop_ready(1))
    assert state.state_of(2) == READY
    state.finish(state.pop_ready(1))
    assert state.complete and state.state_of(0) == RELEASED


def test_late_and_repeated_reports_change_nothing():
    state = chain_state()
    state.finish(state.pop_ready(1))
    state.pop_ready(1)
    state.lose([1])
    before = (state.states(), *state.counts(), state.n_ready, state.n_running, state.n_done)
    assert state.finish([1]).tolist() == []
    assert state.lose([1, 1]).tolist() == []
    after = (state.states(), *state.counts(), state.n_ready, state.n_running, state.n_done)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_ids_out_of_range_are_refused():
    state = chain_state()
    with pytest.raises(ValueError, match="not in"):
        state.lose([3])
    with pytest.raises(ValueError, match="not in"):
        state.states_of([-1])


# the model ----------------------------------------------------------------------------
class Model:
    """What must hold: which values exist, which tasks run, how often each finished."""

    def __init__(self, deps: list[list[int]], keep: np.ndarray) -> None:
        self.deps = deps
        self.keep = keep
        self.dependents = [[u for u in range(len(deps)) for d in deps[u] if d == t]
                           for t in range(len(deps))]
        self.finishes: Counter = Counter()
        self.forgotten: Counter = Counter()

    def check(self, state: GraphState) -> None:
        s = state.states()
        waiting, holders = state.counts()
        finished = (s == DONE) | (s == RELEASED)
        for t, ds in enumerate(self.deps):
            if s[t] in (WAITING, READY):
                assert waiting[t] == sum(s[d] != DONE for d in ds), t
                assert (s[t] == READY) == (waiting[t] == 0), t
            if s[t] == RUNNING:
                assert all(s[d] in (DONE, WAITING, READY, RUNNING) for d in ds), t
            expected = sum(not finished[u] for u in self.dependents[t] for _ in range(
                self.deps[u].count(t)))
            assert holders[t] == expected, t
            if s[t] == RELEASED:
                assert holders[t] == 0 and not self.keep[t], t
            if s[t] == DONE:
                assert holders[t] > 0 or self.keep[t], t
        assert state.n_ready == int((s == READY).sum())
        assert state.n_running == int((s == RUNNING).sum())
        assert state.n_done == int(finished.sum())
        assert state.n_released == int((s == RELEASED).sum())


steps = st.lists(st.tuples(st.sampled_from(["pop", "finish", "lose", "late"]),
                           st.integers(1, 6)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(random_dags(), steps, st.randoms(use_true_random=False), st.data())
def test_any_sequence_of_losses_ends_with_every_task_finished_once(deps, plan, rnd, data):
    ptr, idx = csr(deps)
    n = len(deps)
    keep = np.ones(n, dtype=np.uint8)
    keep[np.unique(idx)] = 0
    extra = data.draw(st.lists(st.integers(0, n - 1), max_size=3))
    keep[extra] = 1
    prio = depth_first_priority(ptr, idx, np.flatnonzero(keep))
    state = GraphState(ptr, idx, prio, keep)
    model = Model(deps, keep)
    model.check(state)

    def pop(k: int) -> None:
        ids = state.pop_ready(k).tolist()
        s = state.states()
        for t in ids:
            assert all(s[d] == DONE for d in deps[t]), "a task ran before its inputs existed"

    def finish(ids: list[int]) -> None:
        s = state.states()
        accepted = [t for t in ids if s[t] == RUNNING]
        freed = state.finish(ids).tolist()
        model.finishes.update(accepted)
        s = state.states()
        assert all(s[t] in (DONE, RELEASED) for t in accepted)
        assert all(s[t] == RELEASED and not keep[t] for t in freed)

    def lose(ids: list[int]) -> None:
        before = state.states()
        again = state.lose(ids).tolist()
        after = state.states()
        changed = [t for t in range(n)
                   if before[t] in (RUNNING, DONE, RELEASED) and after[t] in (WAITING, READY)]
        assert sorted(again) == changed
        assert {t for t in ids if before[t] in (RUNNING, DONE)} <= set(again)
        model.forgotten.update(t for t in again if before[t] in (DONE, RELEASED))

    for op, k in plan:
        s = state.states()
        running = np.flatnonzero(s == RUNNING).tolist()
        if op == "pop":
            pop(k)
        elif op == "finish":
            finish(rnd.sample(running, min(k, len(running))))
        elif op == "lose":
            held = np.flatnonzero((s == RUNNING) | (s == DONE)).tolist()
            lose(rnd.sample(held, min(k, len(held))))
        else:
            idle = np.flatnonzero(s != RUNNING).tolist()
            before = (state.states(), *state.counts())
            state.finish(rnd.sample(idle, min(k, len(idle))))
            assert all(np.array_equal(a, b) for a, b in zip(before, (state.states(),
                                                                    *state.counts())))
        model.check(state)

    while not state.finished:
        pop(n)
        running = np.flatnonzero(state.states() == RUNNING).tolist()
        rnd.shuffle(running)
        finish(running)
        model.check(state)
    assert state.complete
    s = state.states()
    assert all(s[t] == DONE for t in np.flatnonzero(keep))
    for t in range(n):
        assert model.finishes[t] == 1 + model.forgotten[t], t
