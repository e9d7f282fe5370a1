"""Randomized SVD, PCA and TSQR on a real cluster (processes over loopback).

Inside ``with Client(...)`` every pass of ``lamina.linalg`` is one run on
the cluster: the results equal the embedded runner's for the same seed and
NumPy's on the same data, the input is read q + 1 times, a pass costs
kilobytes on the wire whatever the number of blocks (its layers travel as
parameters; only the small in-memory matrices travel as buffers), and a
worker dying mid-SVD fails it with a clear error instead of hanging.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time

import cloudpickle
import numpy as np
import pytest
import zarr
from distributed_support import WAIT

import lamina
import lamina.array as la
import lamina.linalg as ll
from lamina.client import Client, LocalCluster
from lamina.layers.linalg.signs import flip_signs

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def decaying(m: int, n: int, rate: float = 0.5, seed: int = 0) -> np.ndarray:
    """``U diag(rate**i) Vᵀ`` with random orthonormal ``U``, ``V``."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (u * rate ** np.arange(n)) @ v.T


def numpy_svd(data: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u, s, vt = np.linalg.svd(data, full_matrices=False)
    u, vt = flip_signs(u[:, :k], vt[:k])
    return u, s[:k], vt


class GraphLog:
    """Records the graph size and task count of every run a client submits."""

    def __init__(self, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[tuple[int, int]] = []
        submit = client._submit

        def logged(*args, **kwargs):
            futures = submit(*args, **kwargs)
            futures[0].result(WAIT)
            self.runs.append((futures[0].graph_nbytes, futures[0].n_tasks))
            return futures

        monkeypatch.setattr(client, "_submit", logged)


def tasks_done(client: Client) -> int:
    return client.scheduler_info()["tasks_done"]


def assert_same_svd(got: ll.SVDResult, expected: ll.SVDResult, rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(got.s, expected.s, rtol=rtol)
    np.testing.assert_allclose(got.u, expected.u, atol=rtol * 10)
    np.testing.assert_allclose(got.v, expected.v, atol=rtol * 10)
    assert got.passes == expected.passes


# results --------------------------------------------------------------------------
def test_svd_compressed_equals_the_embedded_runner_and_numpy(cluster, monkeypatch):
    data = decaying(300, 80)
    x = la.from_array(data, chunks=(50, 40))
    expected = ll.randomized_svd(x, 5, n_power_iter=1, seed=7)
    with Client(cluster) as client:
        log = GraphLog(client, monkeypatch)
        got = ll.randomized_svd(x, 5, n_power_iter=1, seed=7)
        u, s, v = ll.svd_compressed(x, 5, n_power_iter=1, seed=7, compute=True)
    assert_same_svd(got, expected)
    np.testing.assert_array_equal(s, got.s)
    assert got.passes == 2 and len(log.runs) == 4
    u_ref, s_ref, v_ref = numpy_svd(data, 5)
    np.testing.assert_allclose(got.s, s_ref, rtol=1e-8)
    np.testing.assert_allclose(got.v, v_ref, atol=1e-8)
    np.testing.assert_allclose(got.u, u_ref, atol=1e-8)


@pytest.mark.parametrize("q", [0, 2])
def test_the_input_is_read_q_plus_one_times_on_the_cluster(cluster, monkeypatch, q):
    x = la.from_array(decaying(200, 60, seed=q), chunks=(40, 30))
    with Client(cluster) as client:
        log = GraphLog(client, monkeypatch)
        result = ll.randomized_svd(x, 4, n_power_iter=q, seed=1)
    assert result.passes == q + 1 == len(log.runs)
    assert result.b_from_last_pass


def test_pca_equals_the_embedded_runner_and_numpy(cluster):
    codes = ll.genotype_matrix((400, 150), chunks=(100, 50), seed=3).compute()
    g = la.from_array(codes, chunks=(100, 50))
    expected = ll.randomized_svd(g, 3, n_power_iter=6, scaler="patterson", seed=0)
    with Client(cluster) as client:
        before = tasks_done(client)
        got = ll.randomized_svd(g, 3, n_power_iter=6, scaler="patterson", seed=0)
        assert tasks_done(client) > before
    assert_same_svd(got, expected)
    np.testing.assert_allclose(got.row_stats, expected.row_stats, rtol=1e-12)
    u_ref, s_ref, v_ref = numpy_svd(ll.patterson_reference(codes), 3)
    np.testing.assert_allclose(got.s, s_ref, rtol=1e-8)
    np.testing.assert_allclose(got.v, v_ref, atol=1e-4)


def test_split_passes_equal_the_embedded_runner(cluster, monkeypatch):
    x = la.from_array(decaying(240, 90, seed=2), chunks=(60, 30))
    options = dict(n_power_iter=1, iterator="QR", seed=3, single_read=False)
    expected = ll.randomized_svd(x, 4, **options)
    with Client(cluster) as client:
        log = GraphLog(client, monkeypatch)
        got = ll.randomized_svd(x, 4, **options)
    assert_same_svd(got, expected)
    assert got.passes == 4 and not got.single_read
    assert len(log.runs) == 6
    np.testing.assert_allclose(got.s, numpy_svd(x.compute(), 4)[1], rtol=1e-8)


def test_compressed_and_zarr_inputs_equal_the_embedded_runner(cluster, tmp_path):
    codes = ll.genotype_matrix((300, 120), chunks=(60, 40), seed=5).compute()
    x = la.from_array(codes, chunks=(60, 40))
    path = str(tmp_path / "g.zarr")
    expected = ll.randomized_svd(x, 3, n_power_iter=1, seed=2)
    with Client(cluster) as client:
        ll.write_zarr(x, path)
        packed = ll.persist_compressed(x, codec="2bit")
        before = tasks_done(client)
        from_packed = ll.randomized_svd(packed, 3, n_power_iter=1, seed=2)
        from_zarr = ll.randomized_svd(ll.open_zarr(path), 3, n_power_iter=1, seed=2)
        assert tasks_done(client) > before + 2 * 2 * 15
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], codes)
    assert packed.layer.nbytes_stored == 300 * 120 // 4
    assert_same_svd(from_packed, expected)
    assert_same_svd(from_zarr, expected)


def test_exact_tsqr_svd_on_the_cluster_equals_numpy(cluster):
    data = np.random.default_rng(4).standard_normal((500, 6))
    with Client(cluster) as client:
        u, s, v = lamina.compute(*ll.svd(la.from_array(data, chunks=(50, 6))))
        assert tasks_done(client) > 0
    u_ref, s_ref, v_ref = numpy_svd(data, 6)
    np.testing.assert_allclose(s, s_ref, rtol=1e-12)
    np.testing.assert_allclose(v, v_ref, atol=1e-12)
    np.testing.assert_allclose(u, u_ref, atol=1e-12)


# the wire --------------------------------------------------------------------------
def test_a_pass_over_4800_blocks_costs_kilobytes_on_the_wire(cluster, monkeypatch):
    g = ll.genotype_matrix((4000, 120), chunks=(10, 10), seed=3)
    assert g.numblocks == (400, 12)
    expected = ll.randomized_svd(g, 3, n_power_iter=1, seed=0)
    with Client(cluster) as client:
        log = GraphLog(client, monkeypatch)
        got = ll.randomized_svd(g, 3, n_power_iter=1, seed=0)
    assert_same_svd(got, expected)
    sketch_bytes = 120 * 13 * 8
    for nbytes, n_tasks in log.runs:
        assert n_tasks > 6000
        assert nbytes < 20_000
        assert nbytes - sketch_bytes < 3_000


# progress and failures ------------------------------------------------------------
def test_progress_of_each_pass_reaches_the_caller(cluster):
    reports: dict[str, list[tuple[int, int]]] = {}
    x = la.from_array(decaying(200, 40, seed=6), chunks=(20, 20))
    with Client(cluster):
        ll.randomized_svd(x, 3, n_power_iter=1, seed=0,
                          progress=lambda label, d, t: reports.setdefault(label, []).append((d, t)))
    assert sorted(reports) == ["pass 1: A·Z and Aᵀ·(A·Z)", "pass 2: A·Z and Aᵀ·(A·Z), QR"]
    for seen in reports.values():
        done, total = seen[-1]
        assert done == total > 0


def slow_block_or_die_on_cue(block: np.ndarray, cue: str) -> np.ndarray:
    """Sleep a little; if the file ``cue`` exists, take it and kill this worker process."""
    time.sleep(0.02)
    try:
        os.unlink(cue)
    except FileNotFoundError:
        return block
    os.kill(os.getpid(), signal.SIGKILL)
    return block


def test_a_worker_dying_mid_svd_is_recovered_and_gives_the_same_result(tmp_path):
    data = decaying(400, 40, seed=8)
    cue = str(tmp_path / "die")
    dying = functools.partial(slow_block_or_die_on_cue, cue=cue)
    x = la.map_blocks(dying, la.from_array(data, chunks=(5, 20)), dtype="f8")
    armed: list[str] = []

    def die_in_pass_two(label: str, done: int, total: int) -> None:
        if label.startswith("pass 2") and not armed:
            armed.append(label)
            open(cue, "w").close()

    with LocalCluster(n_workers=2, threads_per_worker=1) as small, Client(small):
        result = ll.randomized_svd(x, 3, n_power_iter=2, seed=0, progress=die_in_pass_two)
        assert armed and not os.path.exists(cue)
        codes = [p.poll() for p in small.worker_processes]
        assert codes.count(-signal.SIGKILL) == 1 and codes.count(None) == 1
    undisturbed = ll.randomized_svd(la.from_array(data, chunks=(5, 20)), 3, n_power_iter=2,
                                    seed=0)
    assert result.passes == 3
    np.testing.assert_allclose(result.s, undisturbed.s, rtol=1e-10)
    np.testing.assert_allclose(result.s, numpy_svd(data, 3)[1], rtol=1e-6)
