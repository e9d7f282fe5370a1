"""The state machine's AHEAD state: tasks sent to a worker before their inputs exist.

Unit cases for each transition, then a reference model over random DAGs
through random pops, sends ahead, completions, losses and claims: counts
stay exact, an AHEAD task always waits on an unfinished input, and every
task finishes exactly once more than its result was forgotten.
"""

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._state import (
    AHEAD,
    DONE,
    READY,
    RELEASED,
    RUNNING,
    WAITING,
    GraphState,
    depth_first_priority,
)
from test_state_machine import csr, random_dags


def chain(n: int = 3) -> GraphState:
    ptr, idx = csr([[]] + [[i] for i in range(n - 1)])
    keep = np.zeros(n, dtype=np.uint8)
    keep[-1] = 1
    return GraphState(ptr, idx, np.arange(n), keep)


def test_ahead_task_becomes_running_when_its_input_finishes():
    state = chain()
    assert state.pop_ready(5).tolist() == [0]
    assert state.ahead([1, 2]).tolist() == [1, 2]
    assert (state.n_ahead, state.n_ready) == (2, 0)
    state.finish([0])
    assert state.promoted().tolist() == [1]
    assert state.promoted().tolist() == []
    assert [state.state_of(t) for t in range(3)] == [DONE, RUNNING, AHEAD]
    assert state.pop_ready(5).tolist() == [], "a promoted task is not ready: its worker runs it"
    state.finish([1])
    assert state.promoted().tolist() == [2]
    state.finish([2])
    assert state.complete and state.n_ahead == 0 and state.n_running == 0


def test_only_waiting_tasks_go_ahead():
    state = chain()
    assert state.ahead([0]).tolist() == [], "a ready task is placed, not sent ahead"
    state.pop_ready(1)
    assert state.ahead([0, 1, 1]).tolist() == [1]
    assert state.n_ahead == 1


def test_lost_input_takes_its_ahead_dependents_back():
    state = chain(4)
    state.pop_ready(1)
    state.ahead([1, 2, 3])
    again = state.lose([0])
    assert sorted(again.tolist()) == [0, 1, 2, 3]
    assert [state.state_of(t) for t in range(4)] == [READY, WAITING, WAITING, WAITING]
    assert state.n_ahead == 0 and state.n_running == 0


def test_lost_ahead_task_waits_again_and_its_input_runs_on():
    state = chain()
    state.pop_ready(1)
    state.ahead([1])
    assert state.lose([1]).tolist() == [1]
    assert [state.state_of(t) for t in range(3)] == [RUNNING, WAITING, WAITING]
    state.finish([0])
    assert state.promoted().tolist() == []
    assert state.pop_ready(5).tolist() == [1]


def test_claim_takes_chosen_ready_tasks_out_of_the_heap():
    ptr, idx = csr([[], [], [], []])
    state = GraphState(ptr, idx, np.arange(4), np.ones(4, dtype=np.uint8))
    assert state.claim([2, 2, 0]).tolist() == [2, 0]
    assert (state.n_ready, state.n_running) == (2, 2)
    assert state.pop_ready(5).tolist() == [1, 3]
    assert state.claim([1]).tolist() == [], "a running task is not claimed again"


def check(state: GraphState, deps: list[list[int]]) -> None:
    s = state.states()
    waiting, _ = state.counts()
    for t, ds in enumerate(deps):
        if s[t] in (WAITING, READY, AHEAD):
            assert waiting[t] == sum(s[d] != DONE for d in ds), t
        if s[t] == AHEAD:
            assert waiting[t] > 0, "an AHEAD task whose inputs are done was not promoted"
            assert all(s[d] in (DONE, RUNNING, AHEAD) for d in ds), \
                "an AHEAD task waits on an input nobody computes"
    assert state.n_ahead == int((s == AHEAD).sum())
    assert state.n_running == int((s == RUNNING).sum())
    assert state.n_ready == int((s == READY).sum())


steps = st.lists(st.tuples(st.sampled_from(["pop", "ahead", "finish", "lose", "claim"]),
                           st.integers(1, 6)), max_size=50)


@settings(max_examples=150, deadline=None)
@given(random_dags(), steps, st.randoms(use_true_random=False))
def test_any_sequence_with_sends_ahead_finishes_every_task_once(deps, plan, rnd):
    ptr, idx = csr(deps)
    n = len(deps)
    keep = np.ones(n, dtype=np.uint8)
    keep[np.unique(idx)] = 0
    state = GraphState(ptr, idx, depth_first_priority(ptr, idx, np.flatnonzero(keep)), keep)
    finishes: Counter = Counter()
    forgotten: Counter = Counter()

    def sendable() -> list[int]:
        s = state.states()
        return [t for t in range(n) if s[t] == WAITING
                and all(s[d] in (DONE, RUNNING, AHEAD) for d in deps[t])]

    def finish(ids: list[int]) -> None:
        s = state.states()
        finishes.update(t for t in ids if s[t] == RUNNING)
        state.finish(ids)

    def lose(ids: list[int]) -> None:
        before = state.states()
        again = state.lose(ids)
        forgotten.update(t for t in again.tolist() if before[t] in (DONE, RELEASED))

    for op, k in plan + [("drain", 0)] * (4 * n + 4):
        s = state.states()
        running = np.flatnonzero(s == RUNNING).tolist()
        if op in ("pop", "drain"):
            state.pop_ready(k or n)
            if op == "drain":
                finish(np.flatnonzero(state.states() == RUNNING).tolist())
        elif op == "ahead":
            cand = sendable()
            state.ahead(rnd.sample(cand, min(k, len(cand))))
        elif op == "finish":
            finish(rnd.sample(running, min(k, len(running))))
        elif op == "lose":
            held = np.flatnonzero((s == RUNNING) | (s == DONE) | (s == AHEAD)).tolist()
            lose(rnd.sample(held, min(k, len(held))))
        else:
            ready = np.flatnonzero(s == READY).tolist()
            state.claim(rnd.sample(ready, min(k, len(ready))))
        state.promoted()
        check(state, deps)
    assert state.complete
    assert all(finishes[t] == forgotten[t] + 1 for t in range(n))


def hinted_all(n_layers: int) -> np.ndarray:
    return np.array(sorted(p * n_layers + c for p in range(n_layers) for c in range(n_layers)),
                    dtype=np.int64)


def test_send_ahead_walks_hinted_levels_within_depth_and_budget():
    state = chain(6)
    where = np.full(6, -1, dtype=np.int64)
    layer = np.arange(6, dtype=np.int64)
    none = np.zeros(6, dtype=np.uint8)
    state.pop_ready(1)
    where[0] = 7
    got = state.send_ahead([0], 7, where, layer, hinted_all(6), 6, 2, 10, none)
    assert got.tolist() == [1, 2] and where.tolist()[:4] == [7, 7, 7, -1]
    state.finish([0])
    promoted = state.promoted()
    assert state.send_ahead(promoted, 7, where, layer, hinted_all(6), 6, 2, 10,
                            none).tolist() == [3], "the walk goes through tasks already ahead"
    assert state.send_ahead(promoted, 7, where, layer, hinted_all(6), 6, 5, 1,
                            none).tolist() == [4], "the budget bounds what goes"


def test_send_ahead_follows_only_hinted_edges_to_tasks_whose_inputs_are_there():
    # 0 and 1 are roots; 2 reads both; 3 reads 0 only
    ptr, idx = csr([[], [], [0, 1], [0]])
    state = GraphState(ptr, idx, np.arange(4), np.ones(4, dtype=np.uint8))
    state.pop_ready(2)
    where = np.array([1, 2, -1, -1], dtype=np.int64)
    layer = np.array([0, 0, 1, 2], dtype=np.int64)
    none = np.zeros(4, dtype=np.uint8)
    both = np.array([0 * 3 + 1, 0 * 3 + 2], dtype=np.int64)
    assert state.send_ahead([0], 1, where, layer, both, 3, 4, 10, none).tolist() == [3], \
        "task 2 has an input on another worker"
    state2 = GraphState(ptr, idx, np.arange(4), np.ones(4, dtype=np.uint8))
    state2.pop_ready(2)
    where2 = np.array([1, 2, -1, -1], dtype=np.int64)
    only_first = np.array([0 * 3 + 1], dtype=np.int64)
    assert state2.send_ahead([0], 1, where2, layer, only_first, 3, 4, 10, none).tolist() == []
    blocked = np.array([0, 0, 0, 1], dtype=np.uint8)
    assert state2.send_ahead([0], 1, where2, layer, both, 3, 4, 10, blocked).tolist() == []


def test_send_ahead_with_max_inputs_takes_single_input_steps_only():
    # 0 and 1 are roots on worker 1; 2 reads both; 3 reads 0 only
    ptr, idx = csr([[], [], [0, 1], [0]])
    layer = np.array([0, 0, 1, 2], dtype=np.int64)
    none = np.zeros(4, dtype=np.uint8)
    both = np.array([0 * 3 + 1, 0 * 3 + 2], dtype=np.int64)
    for max_inputs, expected in ((1, [3]), (2, [2, 3]), (-1, [2, 3])):
        state = GraphState(ptr, idx, np.arange(4), np.ones(4, dtype=np.uint8))
        state.pop_ready(2)
        where = np.array([1, 1, -1, -1], dtype=np.int64)
        got = state.send_ahead([0, 1], 1, where, layer, both, 3, 4, 10, none, max_inputs)
        assert sorted(got.tolist()) == expected, max_inputs


def test_finish_on_finishes_only_the_tasks_running_on_that_worker_in_order():
    state = chain(4)
    state.pop_ready(1)
    where = np.array([5, 5, 5, -1], dtype=np.int64)
    state.ahead([1, 2])
    done, freed = state.finish_on(np.array([0, 1, 2, 3]), where, 5)
    assert done.tolist() == [0, 1, 2], "each AHEAD task is promoted before it is reached"
    assert freed.tolist() == [0, 1]
    assert state.finish_on(np.array([2]), where, 5)[0].tolist() == [], "a repeated report"
    assert state.finish_on(np.array([3]), where, 5)[0].tolist() == [], "placed nowhere yet"
    assert state.state_of(3) == READY
    assert state.pop_ready(1).tolist() == [3]
    done, _ = state.finish_on(np.array([3]), np.array([5, 5, 5, 6]), 5)
    assert done.tolist() == [], "a task running on another worker is not this report's"
    assert state.finish_on(np.array([3]), np.array([5, 5, 5, 6]), 6)[0].tolist() == [3]
    assert state.complete


@settings(deadline=None, max_examples=60)
@given(random_dags(), st.randoms(use_true_random=False))
def test_finish_on_matches_filtering_then_finish(deps, rnd):
    """One compiled pass equals the filter (where, RUNNING) then ``finish``, step by step."""
    ptr, idx = csr(deps)
    n = len(deps)
    prio = depth_first_priority(ptr, idx, np.arange(n))
    keep = np.array([rnd.random() < 0.3 for _ in range(n)], dtype=np.uint8)
    a, b = GraphState(ptr, idx, prio, keep), GraphState(ptr, idx, prio, keep)
    where = np.array([rnd.choice([-1, 1, 2]) for _ in range(n)], dtype=np.int64)
    while not a.complete and a.n_ready + a.n_running:
        ids_a, ids_b = a.pop_ready(rnd.randint(1, 4)), b.pop_ready(4)
        assert ids_a.tolist() == ids_b.tolist()[:len(ids_a)]
        b.lose(ids_b[len(ids_a):])
        where[ids_a] = np.array([rnd.choice([1, 2]) for _ in ids_a], dtype=np.int64)
        report = np.array(rnd.sample(range(n), min(n, 6)) + ids_a.tolist(), dtype=np.int64)
        wid = rnd.choice([1, 2])
        states = b.states_of(report)
        mine = report[(where[report] == wid) & (states == RUNNING)]
        freed_b = b.finish(mine)
        done_a, freed_a = a.finish_on(report, where, wid)
        assert done_a.tolist() == list(dict.fromkeys(mine.tolist())), "each finishes once"
        assert freed_a.tolist() == freed_b.tolist()
        assert a.states().tolist() == b.states().tolist()
        rest = a.states() == RUNNING
        other = np.flatnonzero(rest)
        a.finish(other)
        b.finish(other)
