"""Workers leaving a real cluster: runs go on, lost results are computed again.

Every test owns its cluster (it kills workers), and every wait is bounded:
gates that hold tasks back open on a file and give up after 30 s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT, Gate, connected, wait_until

import lamina.array as la
from lamina.client import Client, LocalCluster

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def slow(block):
    time.sleep(0.02)
    return block


def double(block):
    return block * 2


class KillOnBlock:
    """Kills the worker process that computes the block starting with ``value``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, block):
        if block[0] == self.value:
            os._exit(3)
        return block



def busy_workers(client: Client) -> list[dict]:
    return [w for w in client.worker_info() if w["busy"]]


def start_cli(*args: str, secret: bytes | None = None) -> subprocess.Popen:
    """``lamina ARGS`` (scheduler or worker) as a child process that exits with this one;
    ``secret``: the cluster's, when not the one in this process's environment."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(la.__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root] + sys.path))
    if secret is not None:
        env["LAMINA_AUTH_SECRET"] = secret.decode()
    return subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", *args,
                             "--exit-with-parent"], stdout=subprocess.DEVNULL, env=env)


def start_worker(address: str, secret: bytes | None = None) -> subprocess.Popen:
    return start_cli("worker", address, "--nthreads", "1", secret=secret)


def test_killed_worker_mid_computation_still_gives_the_numpy_result():
    data = np.arange(4000.0).reshape(100, 40)
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, connected(cluster) as c:
        y = (la.map_blocks(slow, la.from_array(data, chunks=(2, 40)), dtype="f8") + 1)
        future = c.compute(y.sum(axis=0))
        wait_until(lambda: sum(w["tasks_run"] for w in c.worker_info()) > 4)
        cluster.worker_processes[0].kill()
        np.testing.assert_array_equal(future.result(WAIT), (data + 1).sum(axis=0))
        info = c.scheduler_info()
        assert len(info["workers"]) == 1
        assert info["tasks_recomputed"] > 0


def test_killed_worker_holding_finished_intermediates_has_them_recomputed():
    gate = os.path.join(tempfile.mkdtemp(), "open")
    data = np.arange(40.0)
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, connected(cluster) as c:
        doubled = la.map_blocks(double, la.from_array(data, chunks=2), dtype="f8")
        future = c.compute(la.map_blocks(Gate(gate), doubled, dtype="f8"), optimize_graph=False)
        # all 20 inputs and 20 doubled blocks are done; each worker waits in a gated task
        wait_until(lambda: sum(w["tasks_run"] for w in c.worker_info()) == 40
                   and len(busy_workers(c)) == 2)
        held = c.worker_info()[0]["n_keys"]
        cluster.worker_processes[0].kill()
        wait_until(lambda: len(c.scheduler_info()["workers"]) == 1)
        open(gate, "w").close()
        np.testing.assert_array_equal(future.result(WAIT), 2 * data + 1)
        assert held > 0
        # at least one gated task, the doubled block it reads and that block's input
        assert c.scheduler_info()["tasks_recomputed"] >= 3


def test_runs_wait_for_a_new_worker_when_the_last_one_leaves():
    gate = os.path.join(tempfile.mkdtemp(), "open")
    data = np.arange(100.0)
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster, connected(cluster) as c:
        future = c.compute(la.map_blocks(Gate(gate), la.from_array(data, chunks=2),
                                         dtype="f8").sum())
        wait_until(lambda: len(busy_workers(c)) == 1)
        cluster.worker_processes[0].kill()
        wait_until(lambda: not c.scheduler_info()["workers"])
        assert not future.done()
        assert c.scheduler_info()["runs"] == 1
        open(gate, "w").close()
        newcomer = start_worker(cluster.scheduler_address, cluster.security.secret)
        try:
            assert future.result(WAIT) == (data + 1).sum()
        finally:
            newcomer.kill()
            newcomer.wait(10)


def test_task_that_kills_its_worker_fails_the_run_after_three_losses():
    data = np.arange(40.0)
    with LocalCluster(n_workers=3, threads_per_worker=1) as cluster, connected(cluster) as c:
        y = la.map_blocks(KillOnBlock(10.0), la.from_array(data, chunks=2), dtype="f8")
        future = c.compute(y.sum())
        with pytest.raises(RuntimeError, match="running on 3 workers as they left") as info:
            future.result(WAIT)
        message = str(info.value)
        assert "Blockwise[func]" in message and "block (5,)" in message
        assert "more)" not in message
        assert not c.scheduler_info()["workers"]
        wait_until(lambda: all(p.poll() is not None for p in cluster.worker_processes))


def test_scheduler_max_task_losses_option_fails_the_run_after_one_loss():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = start_cli("scheduler", "--port", str(port), "--max-task-losses", "1")
    workers = [start_worker(address) for _ in range(2)]
    try:
        with Client(address, timeout=WAIT) as c:
            c.wait_for_workers(2, timeout=WAIT)
            y = la.map_blocks(KillOnBlock(10.0), la.from_array(np.arange(40.0), chunks=2),
                              dtype="f8")
            with pytest.raises(RuntimeError, match="was running on 1 worker as they left"):
                c.compute(y.sum()).result(WAIT)
            assert len(c.scheduler_info()["workers"]) == 1
    finally:
        for proc in (*workers, scheduler):
            proc.terminate()
            proc.wait(10)


def test_persisted_blocks_lost_with_their_worker_give_a_clear_error():
    gate = os.path.join(tempfile.mkdtemp(), "open")
    data = np.arange(80.0)
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, connected(cluster) as c:
        kept = c.persist(la.from_array(data, chunks=2) + 1, timeout=WAIT)
        assert all(w["n_keys"] for w in c.worker_info())
        future = c.compute(la.map_blocks(Gate(gate), kept, dtype="f8").sum())
        wait_until(lambda: len(busy_workers(c)) == 2)
        cluster.worker_processes[0].kill()
        with pytest.raises(RuntimeError, match=r"persisted run \d+ were lost with worker "
                                               r".*persist that array again"):
            future.result(WAIT)
        open(gate, "w").close()
        wait_until(lambda: len(c.scheduler_info()["workers"]) == 1)
        with pytest.raises(RuntimeError, match="lost with a worker: persist it again"):
            c.compute(kept.sum()).result(WAIT)
        fresh = c.persist(la.from_array(data, chunks=2) + 1, timeout=WAIT)
        assert c.compute(fresh.sum()).result(WAIT) == (data + 1).sum()
