"""lamina's runtime on a Dask cluster (``lamina.Client.from_dask``), real processes.

A ``distributed.LocalCluster`` with nannies hosts a lamina scheduler (in the
Dask scheduler) and a lamina worker per Dask worker. Results equal the
embedded runner's; a killed Dask worker (its nanny restarts it) and a worker
added mid-run leave the results right; the wire stays O(layers); the lamina
ports require the secret; everything stops with the cluster.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import tempfile

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT, Gate, wait_until

import lamina
import lamina.array as la
import lamina.linalg as ll

distributed = pytest.importorskip("distributed", reason="hosting on Dask needs distributed")
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def dask_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="1GiB") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def dask_client(dask_cluster):
    with distributed.Client(dask_cluster) as client:
        yield client


@pytest.fixture(scope="module")
def client(dask_client):
    with lamina.Client.from_dask(dask_client, timeout=WAIT) as client:
        yield client


def lamina_workers(client) -> int:
    return len(client.scheduler_info()["workers"])


def test_results_equal_the_embedded_runner(client):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((90, 40))
    x = la.from_array(data, chunks=((20, 30, 40), (15, 25)))
    exprs = [((x + 1) * 2).sum(), (x @ x.T)[::7], np.abs(x).max(axis=0), x.T[3:50:2] - 1]
    embedded = lamina.compute(*exprs)
    hosted = client.gather([client.compute(e) for e in exprs], WAIT)
    for got, expected in zip(hosted, embedded):
        np.testing.assert_array_equal(got, expected)


def test_randomized_svd_equals_the_embedded_runners(client, dask_client):
    g = ll.genotype_matrix((400, 120), chunks=(100, 60), seed=3)
    embedded = ll.randomized_svd(g, 3, n_power_iter=1, seed=0)
    with lamina.Client.from_dask(dask_client, timeout=WAIT):  # closed at the end
        hosted = ll.randomized_svd(g, 3, n_power_iter=1, seed=0)
    np.testing.assert_allclose(hosted.s, embedded.s, rtol=1e-10)


def test_lamina_workers_take_the_dask_workers_threads_and_memory_limit(client, dask_client):
    dask_workers = dask_client.scheduler_info()["workers"]
    lamina_info = client.scheduler_info()["workers"].values()
    assert sorted(w["nthreads"] for w in lamina_info) == sorted(
        w["nthreads"] for w in dask_workers.values())
    hosts = {w["address"].rsplit(":", 1)[0] for w in lamina_info}
    assert hosts == {a.rsplit(":", 1)[0] for a in dask_workers}
    limits = {w["memory_limit"] for w in client.worker_info()}
    assert limits == {w["memory_limit"] for w in dask_workers.values()} == {2**30}


def test_the_wire_costs_the_same_kilobyte_whatever_the_number_of_chunks(client):
    small, large = la.ones((100, 100), chunks=10), la.ones((1000, 1000), chunks=10)
    futures = [client.compute(((x + 1) * 2).sum()) for x in (small, large)]
    assert futures[1].graph_nbytes <= 10_000
    # 100 times the tasks; only the lists of chunk sizes grow
    assert futures[1].graph_nbytes < 1.5 * futures[0].graph_nbytes
    assert [f.result(WAIT) for f in futures] == [4 * 100**2, 4 * 1000**2]


def test_a_second_from_dask_connects_to_the_same_runtime(client, dask_client):
    with lamina.Client.from_dask(dask_client, timeout=WAIT) as again:
        assert again.address == client.address
        assert again.compute(la.arange(10, chunks=3).sum()).result(WAIT) == 45


def test_the_lamina_ports_refuse_a_wrong_secret(client):
    from lamina.comm.auth import AuthenticationError

    with pytest.raises(AuthenticationError):
        lamina.Client(client.address, auth="not the cluster secret", timeout=5)


def test_a_dask_worker_killed_mid_run_leaves_the_result_right(client, dask_client):
    data = np.arange(400.0)
    with tempfile.TemporaryDirectory() as folder:
        gate = os.path.join(folder, "open")
        future = client.compute(la.from_array(data, chunks=10).map_blocks(Gate(gate), dtype=float).sum())
        wait_until(lambda: any(w["busy"] for w in client.worker_info()), WAIT)
        pid = next(iter(dask_client.run(os.getpid).values()))
        os.kill(pid, signal.SIGKILL)
        open(gate, "w").close()
        assert future.result(WAIT) == (data + 1).sum()
    wait_until(lambda: lamina_workers(client) == 2, WAIT)  # the nanny's new worker joined


def test_a_dask_worker_added_mid_run_joins_lamina_and_takes_work(client, dask_cluster, dask_client):
    data = np.arange(600.0)
    with tempfile.TemporaryDirectory() as folder:
        gate = os.path.join(folder, "open")
        future = client.compute(la.from_array(data, chunks=5).map_blocks(Gate(gate), dtype=float) * 2)
        before = {w["address"] for w in client.worker_info()}
        dask_cluster.scale(3)
        wait_until(lambda: lamina_workers(client) == 3, WAIT)
        open(gate, "w").close()
        np.testing.assert_array_equal(future.result(WAIT), (data + 1) * 2)
    # the next run spreads over it too
    assert client.compute(la.from_array(data, chunks=5).sum()).result(WAIT) == data.sum()
    (new,) = [w for w in client.worker_info() if w["address"] not in before]
    assert new["tasks_run"] > 0
    dask_client.wait_for_workers(3)
    dask_cluster.scale(2)
    wait_until(lambda: lamina_workers(client) == 2, WAIT)


def test_the_lamina_runtime_stops_with_the_dask_cluster():
    from lamina.comm.core import CommClosedError

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as dask_client:
            client = lamina.Client.from_dask(dask_client, timeout=WAIT)
            assert client.compute(la.ones(4, chunks=2).sum()).result(WAIT) == 4
    try:
        with pytest.raises((CommClosedError, OSError)):
            wait_until(lambda: client._lost is not None, WAIT)
            client.compute(la.ones(4, chunks=2).sum()).result(WAIT)
    finally:
        client.close()


def test_from_dask_takes_a_dask_client():
    with pytest.raises(TypeError, match="distributed.Client"):
        lamina.Client.from_dask(object())


def test_lamina_svd_runs_on_a_dask_scheduler_from_the_shell(dask_cluster):
    from lamina.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["svd", "--demo", "300x80", "--chunks", "100,40", "-k", "3", "--no-progress",
                 "--dask-scheduler", dask_cluster.scheduler_address], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "(Dask), 2 workers" in out.getvalue()
    g = ll.genotype_matrix((300, 80), chunks=(100, 40))
    expected = ll.randomized_svd(g, 3, seed=0).s
    line = next(x for x in out.getvalue().splitlines() if x.startswith("singular values"))
    np.testing.assert_allclose([float(v) for v in line.split()[2:]], expected, rtol=1e-5)


def test_lamina_svd_says_when_the_dask_scheduler_is_unreachable():
    from lamina.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["svd", "--demo", "30x8", "-k", "2", "--no-progress",
                 "--dask-scheduler", "tcp://127.0.0.1:9"], out=out, err=err)
    assert code == 2 and "could not run on the Dask cluster at tcp://127.0.0.1:9" in err.getvalue()
