"""Workers that hang, and outputs lost before the client fetched them.

A worker stopped with SIGSTOP keeps its sockets open and says nothing:
only the heartbeat finds it. Outputs lost between the end of a run and the
client's fetch are computed again. Every test owns its cluster, and waits
are bounded; a stopped worker is always continued (or killed) at the end.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT, connected, wait_until

import lamina.array as la
from lamina.client import LocalCluster

cloudpickle.register_pickle_by_value(sys.modules[__name__])

FAST = {"heartbeat_interval": 0.2, "worker_timeout": 2.0}


def slow(block):
    time.sleep(0.02)
    return block


def sleepy(block):
    time.sleep(3.0)
    return block



def test_stopped_worker_is_removed_and_the_run_still_gives_the_numpy_result():
    data = np.arange(4000.0).reshape(100, 40)
    with LocalCluster(n_workers=2, **FAST) as cluster, connected(cluster) as c:
        y = la.map_blocks(slow, la.from_array(data, chunks=(2, 40)), dtype="f8") + 1
        future = c.compute(y.sum(axis=0))
        wait_until(lambda: sum(w["tasks_run"] for w in c.worker_info()) > 4)
        victim = cluster.worker_processes[0]
        os.kill(victim.pid, signal.SIGSTOP)
        try:
            np.testing.assert_array_equal(future.result(WAIT), (data + 1).sum(axis=0))
            info = c.scheduler_info()
            assert len(info["workers"]) == 1
            assert info["tasks_recomputed"] > 0
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        # woken up, it finds its scheduler connection closed and exits
        assert victim.wait(WAIT) is not None


def test_worker_busy_in_a_long_task_keeps_its_place():
    data = np.arange(8.0)
    with LocalCluster(n_workers=1, **FAST) as cluster, connected(cluster) as c:
        y = la.map_blocks(sleepy, la.from_array(data, chunks=4), dtype="f8")
        assert c.compute(y.sum()).result(WAIT) == data.sum()
        info = c.scheduler_info()
        assert len(info["workers"]) == 1
        assert info["tasks_recomputed"] == 0


class _Once:
    """A progress callback that, at the end of the first run, takes its outputs
    away (``take``) before the client fetches them."""

    def __init__(self, take) -> None:
        self.take = take
        self.fired = False

    def __call__(self, done: int, total: int) -> None:
        if done == total and not self.fired:
            self.fired = True
            self.take()


def test_outputs_lost_with_a_killed_worker_before_the_fetch_are_computed_again():
    data = np.arange(40.0)
    with LocalCluster(n_workers=1, **FAST) as cluster, connected(cluster) as c:
        def kill_the_holder() -> None:
            holder = cluster.worker_processes[0]
            holder.kill()
            holder.wait(10)
            cluster.add_worker()

        lose = _Once(kill_the_holder)
        future = c.compute(la.from_array(data, chunks=4) * 2, on_progress=lose)
        np.testing.assert_array_equal(future.result(WAIT), data * 2)
        assert lose.fired


def test_outputs_on_a_stopped_worker_are_computed_again_once_it_is_removed():
    data = np.arange(40.0)
    with LocalCluster(n_workers=1, **FAST) as cluster, connected(cluster) as c:
        holder = cluster.worker_processes[0]

        def stop_the_holder() -> None:
            os.kill(holder.pid, signal.SIGSTOP)
            cluster.add_worker()

        lose = _Once(stop_the_holder)
        try:
            future = c.compute(la.from_array(data, chunks=4) * 2, on_progress=lose)
            np.testing.assert_array_equal(future.result(WAIT), data * 2)
            assert lose.fired
        finally:
            os.kill(holder.pid, signal.SIGCONT)


@pytest.mark.parametrize("options, message", [
    (["--worker-timeout", "0"], "positive number of seconds"),
    (["--heartbeat-interval", "2", "--worker-timeout", "1"], "must be longer than"),
])
def test_scheduler_refuses_heartbeat_options_that_cannot_work(options, message, capsys):
    from lamina.distributed_cli import main

    with pytest.raises(SystemExit) as info:
        main(["scheduler", *options])
    assert message in f"{info.value.code} {capsys.readouterr().err}"
