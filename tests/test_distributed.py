"""The distributed runtime on real processes over loopback TCP.

One ``LocalCluster`` (a scheduler and two single-threaded worker
processes) serves the module. Results are compared with NumPy on the same
data; every wait has a timeout and every test a hard alarm, so a broken
cluster fails the test instead of hanging it.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import time

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT, idle, wait_until
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
from lamina.array.core import Array
from lamina.client import Client, active_client
from lamina.layers.base import Layer

cloudpickle.register_pickle_by_value(sys.modules[__name__])


# results ---------------------------------------------------------------------------
@st.composite
def expressions(draw):
    shape = tuple(draw(st.integers(1, 12)) for _ in range(draw(st.integers(1, 2))))
    chunks = tuple(draw(st.integers(1, s)) for s in shape)
    data = np.random.default_rng(draw(st.integers(0, 1000))).random(shape)
    x = la.from_array(data, chunks=chunks)
    kind = draw(st.sampled_from(["arith", "sum", "axis", "slice", "transpose", "matmul"]))
    if kind == "arith":
        return (x + 1) * 2 - np.sin(x), (data + 1) * 2 - np.sin(data)
    if kind == "sum":
        return ((x + 1) * 2).sum(), ((data + 1) * 2).sum()
    if kind == "axis":
        axis = draw(st.integers(0, len(shape) - 1))
        return x.mean(axis=axis, split_every=2), data.mean(axis=axis)
    if kind == "slice":
        return x[::-1] * 3, data[::-1] * 3
    if kind == "transpose":
        return x.T + x.T, data.T + data.T
    return x @ x.T, data @ data.T


@settings(max_examples=12, deadline=None)
@given(expressions())
def test_results_equal_numpy(client, case):
    lazy, expected = case
    np.testing.assert_allclose(client.compute(lazy).result(WAIT), expected, rtol=1e-12)


def test_several_collections_share_one_run(client):
    data = np.arange(60.0).reshape(6, 10)
    x = la.from_array(data, chunks=(2, 5))
    a = x + 1
    fa, fs = client.compute(a, a.sum())
    np.testing.assert_array_equal(fa.result(WAIT), data + 1)
    assert fs.result(WAIT) == (data + 1).sum()
    assert fa.n_tasks == fs.n_tasks


def test_gather_returns_values_in_order(client):
    x = la.arange(100, chunks=7)
    futures = [client.compute(x * k) for k in range(4)]
    for k, value in enumerate(client.gather(futures, timeout=WAIT)):
        np.testing.assert_array_equal(value, np.arange(100) * k)


def test_100k_chunk_expression_costs_about_a_kilobyte_on_the_wire(client):
    x = la.ones((3160, 3160), chunks=10)
    future = client.compute(((x + 1) * 2).sum())
    assert future.graph_nbytes <= 10_000
    assert future.result(WAIT) == 4 * 3160**2


def test_persisted_blocks_are_reused_and_released(client):
    data = np.random.default_rng(1).random((40, 30))
    x = la.from_array(data, chunks=(10, 10))
    y = client.persist(x * 2, timeout=WAIT)
    assert sum(w["n_keys"] for w in client.worker_info()) == 12
    total = client.compute(y.sum())
    column = client.compute(y[:, 3] + 1)
    assert total.result(WAIT) == pytest.approx((data * 2).sum())
    np.testing.assert_allclose(column.result(WAIT), data[:, 3] * 2 + 1)
    del y
    gc.collect()
    wait_until(lambda: idle(client))


def test_untrusted_layer_types_run_from_their_lowered_tasks(client):
    data = np.arange(24.0).reshape(4, 6)
    x = la.from_array(data, chunks=(2, 3))
    y = Array(Negated((x + 1).layer)).sum(axis=0)
    np.testing.assert_array_equal(client.compute(y).result(WAIT), -(data + 1).sum(axis=0))


class Negated(Layer):
    """A layer type the scheduler's registry does not know."""

    _parameters = ("x",)

    def _meta(self):
        return self.x.chunks, self.x.dtype

    def block_deps(self, out_blocks):
        return [(np.arange(len(out_blocks) + 1, dtype=np.int64), np.asarray(out_blocks))]

    def kernel(self):
        return lambda block, inputs: -inputs[0]


# several clients --------------------------------------------------------------------
def test_several_clients_at_once_get_their_own_results(cluster):
    errors, results = [], {}

    def work(k: int) -> None:
        try:
            with Client(cluster) as c:
                x = la.from_array(np.arange(5000.0) * k, chunks=50)
                results[k] = [c.compute((x + i).sum()).result(WAIT) for i in range(3)]
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not errors
    for k in range(4):
        assert results[k] == [float((np.arange(5000.0) * k + i).sum()) for i in range(3)]


def test_with_client_makes_it_the_active_client(cluster):
    with Client(cluster) as c:
        assert active_client() is c
        assert lamina.client.active_client() is c
    assert active_client() is None


def test_compute_inside_with_client_runs_on_the_cluster(cluster):
    with Client(cluster) as c:
        before = c.scheduler_info()["tasks_done"]
        x = la.from_array(np.arange(100.0), chunks=10)
        assert (x + 1).sum().compute() == (np.arange(100.0) + 1).sum()
        assert c.scheduler_info()["tasks_done"] > before


# blocks, not assembled ------------------------------------------------------------
def test_compute_blocks_on_the_cluster_equals_the_embedded_blocks(client):
    data = np.random.default_rng(2).random((9, 8))
    x = la.from_array(data, chunks=(3, 4))
    expected = lamina.compute_blocks(x * 2, x.sum(axis=0))
    got = client.compute_blocks(x * 2, x.sum(axis=0), timeout=WAIT)
    assert [len(b) for b in got] == [6, 2]
    for want, have in zip(expected, got):
        for a, b in zip(want, have):
            np.testing.assert_array_equal(a, b)


def test_compute_blocks_inside_with_client_runs_on_the_cluster(cluster):
    with Client(cluster) as c:
        before = c.scheduler_info()["tasks_done"]
        (blocks,) = lamina.compute_blocks(la.arange(30, chunks=10) + 1)
        assert c.scheduler_info()["tasks_done"] >= before + 3
    np.testing.assert_array_equal(np.concatenate(blocks), np.arange(30) + 1)


def test_future_without_assembly_gives_the_list_of_blocks(client):
    future = client.compute(la.arange(10, chunks=4) * 3, assemble=False)
    blocks = future.result(WAIT)
    assert [b.tolist() for b in blocks] == [[0, 3, 6, 9], [12, 15, 18, 21], [24, 27]]


def sleep_a_little(block):
    time.sleep(0.02)
    return block


def test_progress_reaches_the_client_while_the_run_goes_on(client):
    seen = []
    x = la.map_blocks(sleep_a_little, la.arange(200, chunks=2), dtype="i8")
    future = client.compute(x.sum(), on_progress=lambda d, t: seen.append((d, t)))
    assert future.result(WAIT) == np.arange(200).sum()
    total = future.n_tasks
    assert len(seen) >= 3 and seen[-1] == (total, total)
    assert any(0 < d < total for d, _ in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_an_error_in_the_progress_callback_fails_the_computation(client):
    def broken(done, total):
        raise KeyError("progress bar broke")

    x = la.map_blocks(sleep_a_little, la.arange(60, chunks=2), dtype="i8")
    with pytest.raises(KeyError, match="progress bar broke"):
        client.compute(x.sum(), on_progress=broken).result(WAIT)
    wait_until(lambda: idle(client))


def test_an_error_in_the_last_progress_call_still_releases_the_results(client):
    def broken_at_the_end(done, total):
        if done == total:
            raise KeyError("progress bar broke at the end")

    with pytest.raises(KeyError, match="at the end"):
        client.compute(la.arange(40, chunks=4) + 1, on_progress=broken_at_the_end).result(WAIT)
    wait_until(lambda: idle(client) and client.scheduler_info()["finished"] == 0)


# closing ---------------------------------------------------------------------------
CLOSE_CYCLES = """
import sys, threading
import lamina, lamina.array as la

address = sys.argv[1]
for _ in range(3):
    with lamina.Client(address) as client:                    # closed when idle
        assert client.compute(la.arange(100, chunks=10).sum()).result(60) == 4950
    client = lamina.Client(address)                           # closed while gathering
    finished = threading.Event()
    future = client.compute(la.ones((3000, 3000), chunks=500) + 1,
                            on_progress=lambda done, total: done == total and finished.set())
    assert finished.wait(60)
    client.close()
    if not future.done():
        print("a future was left pending by close")
    elif future.exception() is not None:
        assert "closed before this result arrived" in str(future.exception())
    client = lamina.Client(address)                           # closed while computing
    future = client.compute(la.ones((3000, 3000), chunks=100).sum())
    client.close()
    if not future.done():
        print("a future was left pending by close")
print("closed")
"""


def test_closing_a_client_leaves_no_pending_task_behind(cluster):
    root = os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *sys.path]),
               LAMINA_AUTH_SECRET=cluster.security.secret.decode())
    out = subprocess.run([sys.executable, "-c", CLOSE_CYCLES, cluster.scheduler_address],
                         capture_output=True, text=True, timeout=WAIT, env=env)
    assert out.returncode == 0, out.stderr
    assert "Task was destroyed but it is pending" not in out.stderr
    assert "Exception ignored" not in out.stderr, out.stderr
    assert out.stdout.splitlines() == ["closed"]


# startup ---------------------------------------------------------------------------
def test_worker_and_client_wait_for_a_scheduler_started_after_them():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *sys.path]))

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", *args,
                                 "--exit-with-parent"], env=env, stdout=subprocess.DEVNULL)

    worker = start("worker", address)
    connected: list = []
    waiting = threading.Thread(target=lambda: connected.append(Client(address, timeout=WAIT)))
    waiting.start()
    time.sleep(1.0)
    scheduler = start("scheduler", "--port", str(port))
    try:
        waiting.join(WAIT)
        (client,) = connected
        with client:
            assert client.wait_for_workers(1, timeout=WAIT) == 1
            assert client.compute(la.arange(10, chunks=5).sum()).result(WAIT) == 45
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            proc.wait(10)

