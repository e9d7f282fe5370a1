"""Placement rules of the scheduler, called with plain NumPy arrays (no server, no sockets).

Workers are positions 0..n-1 with ids ``wids``; ``where`` says which worker
id holds each task's result (-1: none).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_state_machine import csr

from lamina.scheduler.peers import WorkerState
from lamina.scheduler.placement import (
    MAX_PER_THREAD,
    MIN_PER_THREAD,
    choose_workers,
    place_suspects,
    shares,
    split_by,
    target,
)


def choose(deps, where, ids, readers=None, wids=(1, 2), open_=None, cap=(10, 10)):
    ptr, idx = csr(deps)
    readers = np.ones(len(deps), dtype=np.int64) if readers is None else np.asarray(readers)
    wids = np.asarray(wids, dtype=np.int64)
    open_ = np.ones(len(wids), dtype=bool) if open_ is None else np.asarray(open_)
    return choose_workers(np.asarray(ids, dtype=np.int64), ptr, idx,
                          np.asarray(where, dtype=np.int64), readers, wids,
                          open_, np.asarray(cap, dtype=np.int64)).tolist()


def test_a_task_goes_to_the_worker_holding_most_of_its_inputs():
    # tasks 0-2 are inputs (on workers 2, 2, 1); task 3 reads all three
    assert choose([[], [], [], [0, 1, 2]], [2, 2, 1, -1], [3]) == [1]


def test_a_broadcast_input_does_not_pull_every_reader_to_its_worker():
    # x blocks 0-3 (two on each worker), z (task 4) on worker 1 is read by all four
    # tasks 5-8; each of those reads its own x block too
    deps = [[], [], [], [], [], [0, 4], [1, 4], [2, 4], [3, 4]]
    where = [1, 1, 2, 2, 1, -1, -1, -1, -1]
    readers = [1, 1, 1, 1, 4, 0, 0, 0, 0]
    assert choose(deps, where, [5, 6, 7, 8], readers) == [0, 0, 1, 1]


def test_with_equal_weights_the_broadcast_input_ties_and_wins():
    deps = [[], [], [], [], [], [0, 4], [1, 4], [2, 4], [3, 4]]
    where = [1, 1, 2, 2, 1, -1, -1, -1, -1]
    assert choose(deps, where, [5, 6, 7, 8])[2:] == [0, 0]


def test_tasks_without_inputs_are_split_in_contiguous_ranges_by_room():
    assert choose([[]] * 6, [-1] * 6, range(6), cap=(4, 2)) == [0, 0, 0, 0, 1, 1]


def test_located_tasks_use_up_room_before_the_rest_is_shared():
    # task 2 reads task 0 on worker 1; tasks 3-5 have no inputs; room 2 and 2
    deps = [[], [], [0], [], [], []]
    assert choose(deps, [1, -1, -1, -1, -1, -1], [2, 3, 4, 5], cap=(2, 2)) == [0, 0, 1, 1]


def test_inputs_on_a_worker_running_a_suspect_alone_do_not_count():
    # task 1 reads task 0 on worker 1, which runs a suspect alone (no room)
    assert choose([[], [0]], [1, -1], [1], open_=[False, True], cap=(0, 0)) == [1]


def test_a_single_worker_takes_everything():
    assert choose([[], [0]], [-1, -1], [0, 1], wids=(5,), cap=(0,)) == [0, 0]


def test_shares_follow_room():
    assert shares(10, np.array([3, 1, 0, 6]), np.ones(4, bool)).tolist() == [3, 1, 0, 6]


def test_shares_go_equally_to_allowed_workers_when_none_has_room():
    allowed = np.array([True, False, True])
    assert shares(4, np.zeros(3, np.int64), allowed).tolist() == [2, 0, 2]


def test_shares_with_full_room_everywhere_are_equal():
    assert shares(6, np.full(3, 100), np.ones(3, bool)).tolist() == [2, 2, 2]


@given(st.integers(0, 1000), st.lists(st.integers(0, 50), min_size=1, max_size=8))
def test_shares_always_sum_to_n(n, room_):
    out = shares(n, np.array(room_), np.ones(len(room_), bool))
    assert out.sum() == n and (out >= 0).all()


def test_room_is_target_minus_in_flight_and_none_for_a_worker_alone():
    workers = [WorkerState(i, f"inproc://{i}", 1, None) for i in range(3)]
    for ws, in_flight in zip(workers, (3, 10 ** 6, 0)):
        ws.in_flight = in_flight
    workers[2].alone = True
    assert [ws.room for ws in workers] == [workers[0].target - 3, workers[1].target - 10 ** 6, 0]


@pytest.mark.parametrize("seconds, per_thread", [(1.0, MIN_PER_THREAD), (1e-3, 20),
                                                 (1e-9, MAX_PER_THREAD)])
def test_target_is_about_twenty_milliseconds_of_work_per_thread(seconds, per_thread):
    assert target(3, seconds) == 3 * per_thread


def test_idle_workers_take_one_suspect_each_and_run_it_alone():
    alone, takers = place_suspects(np.array([0, 5, 0, 0]), np.zeros(4, bool), 2)
    assert takers.tolist() == [0, 2]
    assert alone.tolist() == [True, False, True, False]


def test_an_idle_worker_with_no_suspect_left_takes_tasks_again():
    alone, takers = place_suspects(np.array([0, 2]), np.array([True, True]), 0)
    assert takers.tolist() == [] and alone.tolist() == [False, True]


def test_with_no_idle_worker_the_least_busy_stops_taking_tasks():
    alone, takers = place_suspects(np.array([4, 1, 3]), np.zeros(3, bool), 1)
    assert takers.tolist() == [] and alone.tolist() == [False, True, False]


def test_split_by_groups_indices_by_owner_in_order():
    groups = split_by(np.array([2, 1, 2, -1, 1]))
    assert [(owner, index.tolist()) for owner, index in groups] == \
        [(-1, [3]), (1, [1, 4]), (2, [0, 2])]
