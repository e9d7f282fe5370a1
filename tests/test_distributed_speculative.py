"""Speculative dispatch on a real cluster: results, cancellation, a worker killed
while holding tasks sent ahead. Few and small: the simulation in
``test_speculative_sim`` covers the interleavings."""

from __future__ import annotations

import os
import sys
import tempfile

import cloudpickle
import numpy as np
import pytest
import test_distributed_recovery
from distributed_support import WAIT, connected, idle, wait_until
from test_distributed_recovery import Gate

import lamina.array as la
from lamina.client import LocalCluster
from lamina.optimizer import set_options

cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(test_distributed_recovery)

UNFUSED = {"disabled_rules": {"blockwise_fusion"}}


def chain(x, links: int):
    for i in range(links):
        x = x * 2 - i
    return x


def chain_numpy(x: np.ndarray, links: int) -> np.ndarray:
    for i in range(links):
        x = x * 2 - i
    return x


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, ahead_depth=64) as c:
        yield c


def test_unfused_chain_runs_ahead_and_gives_the_numpy_result(cluster):
    data = np.random.default_rng(1).standard_normal(300)
    data[::7] = np.nan
    with connected(cluster) as client, set_options(**UNFUSED):
        future = client.compute(chain(la.from_array(data, chunks=7), 8).sum(axis=0))
        got = future.result(WAIT)
        expected = chain_numpy(data, 8).sum()
        np.testing.assert_equal(got, expected)
        stats = client.scheduler_info()
        assert 0 < future.n_speculative == stats["tasks_speculative"] < future.n_tasks
        ahead = sum(w["tasks_ahead"] for w in client.worker_info())
        assert ahead >= stats["tasks_speculative"]
        wait_until(lambda: idle(client))
        assert all(w["held"] == 0 for w in client.worker_info())


def test_cancelled_run_leaves_no_task_held_on_the_workers(cluster):
    gate = os.path.join(tempfile.mkdtemp(), "open")
    data = np.arange(80.0)

    def stop(done: int, total: int) -> None:
        if os.path.exists(gate):
            raise RuntimeError("cancelled by the test")

    with connected(cluster) as client, set_options(**UNFUSED):
        x = chain(la.map_blocks(Gate(gate), la.from_array(data, chunks=2), dtype="f8"), 4)
        future = client.compute(x, on_progress=stop)
        wait_until(lambda: sum(w["held"] for w in client.worker_info()) > 0)
        open(gate, "w").close()
        with pytest.raises(RuntimeError, match="cancelled by the test"):
            future.result(WAIT)
        wait_until(lambda: idle(client) and all(w["held"] == 0 and w["queued"] == 0
                                                for w in client.worker_info()))


def test_worker_killed_holding_tasks_sent_ahead_still_gives_the_numpy_result():
    gate = os.path.join(tempfile.mkdtemp(), "open")
    data = np.arange(80.0)
    with LocalCluster(n_workers=2, threads_per_worker=1, ahead_depth=64) as cluster, \
            connected(cluster) as client, set_options(**UNFUSED):
        x = chain(la.map_blocks(Gate(gate), la.from_array(data, chunks=2), dtype="f8"), 4)
        future = client.compute(x)
        wait_until(lambda: all(w["held"] > 0 for w in client.worker_info()))
        cluster.worker_processes[0].kill()
        wait_until(lambda: len(client.scheduler_info()["workers"]) == 1)
        open(gate, "w").close()
        np.testing.assert_array_equal(future.result(WAIT), chain_numpy(data + 1, 4))
        assert client.scheduler_info()["tasks_recomputed"] > 0
