"""A run's books, changed directly (no server, no sockets): recovery from a lost
worker, release of intermediates, held blocks, and ready tasks in turn over runs."""

import numpy as np
from lamina.scheduler._state import DONE, READY, RUNNING
from test_state_machine import csr

import lamina.array as la
from lamina.layers.held import Held
from lamina.scheduler.lowering import TaskTable, lower
from lamina.scheduler.runs import Finished, Run, plan


class Stub:
    """Enough of a layer for error messages."""

    name = "stub-1"

    def label(self) -> str:
        return "Stub"

    def block_index(self, block: int) -> tuple:
        return (block,)


def two_inputs_and_a_sum() -> Run:
    """Tasks 0 and 1 are blocks of ``x``, task 2 their sum (the output)."""
    ptr, idx = csr([[], [], [0, 1]])
    table = TaskTable([Stub(), Stub()], np.array([0, 2, 3]), np.array([0, 0, 1]),
                      np.array([0, 1, 0]), ptr, idx, np.arange(3), [np.array([2])])
    run = Run(1, None, 1, table, None, key_base=100)
    run.start(np.empty(0, dtype=np.int64))
    return run


def send(run: Run, n: int, wid: int) -> np.ndarray:
    """Pop ``n`` ready tasks and place them on worker ``wid``, as dispatch does."""
    ids, _ = run.pop_ready(n)
    run.where[ids] = wid
    return ids


def test_finished_inputs_are_released_from_their_holders_once_read():
    run = two_inputs_and_a_sum()
    a, b = send(run, 1, 1), send(run, 1, 2)
    assert [len(k) for k in run.finish(np.concatenate([a, b]))] == [0, 0]
    (out,) = send(run, 1, 1)
    keys, where = run.finish(np.array([out]))
    assert sorted(zip(keys.tolist(), where.tolist())) == [(100, 1), (101, 2)]
    assert run.state.complete and run.where[out] == 1
    assert run.where[:2].tolist() == [-1, -1]


def test_a_lost_worker_s_finished_result_is_marked_for_recompute():
    run = two_inputs_and_a_sum()
    a, b = send(run, 1, 1), send(run, 1, 2)
    run.finish(np.concatenate([a, b]))
    recomputed, failure = run.recover(1, "tcp://gone:1", max_task_losses=3)
    assert (recomputed, failure) == (1, None)
    assert run.state.states_of(a).tolist() == [READY] and run.where[a[0]] == -1
    assert run.state.states_of(b).tolist() == [DONE] and run.where[b[0]] == 2
    assert not run.suspects


def test_a_task_running_on_a_lost_worker_becomes_a_suspect_and_is_parked():
    run = two_inputs_and_a_sum()
    a = send(run, 1, 1)
    assert run.recover(1, "tcp://gone:1", max_task_losses=3) == (1, None)
    assert run.suspects and run.losses[a[0]] == 1
    ids, parked = run.pop_ready(2)
    assert parked and run.parked == a.tolist() and a[0] not in ids.tolist()


def test_a_task_running_on_max_task_losses_departing_workers_fails_its_run():
    run = two_inputs_and_a_sum()
    send(run, 1, 1)
    recomputed, failure = run.recover(1, "tcp://gone:1", max_task_losses=1)
    assert recomputed == 0
    assert "was running on 1 worker as they left the cluster, the last tcp://gone:1" \
        in failure.reason
    assert failure.where.startswith("layer ")


def test_inputs_missing_send_tasks_back_until_the_limit():
    run = two_inputs_and_a_sum()
    a = send(run, 1, 1)
    assert run.inputs_missing(a, "tcp://w:1", "refused", limit=2) is None
    assert run.state.states_of(a).tolist() == [READY] and run.where[a[0]] == -1
    a = send(run, 1, 1)
    failure = run.inputs_missing(a, "tcp://w:1", "refused", limit=2)
    assert "could not fetch the inputs of" in failure.reason and "2 times" in failure.reason
    assert run.state.states_of(a).tolist() == [RUNNING]


def persisted_plus_one(finished: dict) -> Run:
    """A run reading the two blocks of persisted run 7 (held on workers 1 and 2)."""
    held = la.Array(Held("here", 7, 0, ((4, 4),), np.dtype("f8")))
    finished[7] = Finished(None, [(np.array([40, 41]), np.array([1, 2]),
                                   np.array([True, True]))])
    run = Run(2, None, 1, lower([(held + 1).layer]), None, key_base=200)
    run.start(run.borrow_held(finished, "here"))
    return run


def test_held_blocks_are_read_in_place_and_never_released():
    finished: dict = {}
    run = persisted_plus_one(finished)
    held = np.flatnonzero(~run.owned)
    assert run.keys[held].tolist() == [40, 41] and run.where[held].tolist() == [1, 2]
    assert finished[7].users == {2} and run.borrows == {7}
    ids = send(run, 2, 1)
    keys, _ = run.finish(ids)
    assert len(keys) == 0 and run.state.complete


def test_held_blocks_lost_before_they_are_read_fail_the_run():
    run = persisted_plus_one({})
    recomputed, failure = run.recover(2, "tcp://gone:2", max_task_losses=3)
    assert recomputed == 0
    assert "blocks of persisted run 7 were lost with worker tcp://gone:2" in failure.reason


def test_plan_takes_runs_in_turn_until_room_is_spent():
    first, second = two_inputs_and_a_sum(), two_inputs_and_a_sum()
    cap = np.array([1, 0])
    batches, parked = plan([first, second], np.array([1, 2]), np.array([True, True]), cap)
    assert not parked and cap.tolist() == [0, 0]
    assert [(run is first, ids.tolist(), choice.tolist()) for run, ids, choice in batches] == \
        [(True, [0], [0])]
    assert second.state.n_ready == 2
