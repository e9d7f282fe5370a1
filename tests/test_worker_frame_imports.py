"""Workers import pandas and pyarrow only for clusters that compute dataframes."""

import time

import numpy as np
import pandas as pd
import pytest

import lamina
import lamina.array as la
import lamina.client.core as client_core
import lamina.dataframe as ld


def _frame_libraries_per_worker(client, n_workers):
    """For a block run on each worker (one per worker, as blocks spread), whether
    pandas and pyarrow are imported in its process."""
    def _imported(block):      # local: pickled by value, workers cannot import this module
        import sys

        return np.array([["pandas" in sys.modules, "pyarrow" in sys.modules]])

    probe = la.map_blocks(_imported, la.ones((n_workers,), chunks=1), new_axis=1,
                          chunks=((1,) * n_workers, (2,)), dtype=bool)
    return client.compute(probe).result()


@pytest.fixture
def fresh_cluster():
    """A cluster whose workers start unprepared (this process has imported
    lamina.dataframe, which would otherwise prepare them at start)."""
    with lamina.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                             prepare=[]) as c:
        yield c


def test_an_array_only_cluster_never_imports_pandas(fresh_cluster, monkeypatch):
    monkeypatch.setattr(client_core, "prepare_kinds", lambda: [])   # a client of arrays only
    with lamina.Client(fresh_cluster) as client:
        x = la.arange(1000, chunks=100)
        assert int(client.compute((x * 2).sum()).result()) == 999_000
        assert not _frame_libraries_per_worker(client, 1).any()
        assert [w["frames_prepared"] for w in client.worker_info()] == [False]
        pdf = pd.DataFrame({"k": np.arange(20) % 3, "x": np.arange(20.0)})
        got = client.compute(ld.from_pandas(pdf, npartitions=3).x.sum()).result()
        assert got == pdf.x.sum()
        assert _frame_libraries_per_worker(client, 1).all()
        assert [w["frames_prepared"] for w in client.worker_info()] == [True]


def test_a_client_that_uses_dataframes_has_workers_prepare_on_connect(fresh_cluster):
    assert client_core.prepare_kinds() == ["frames"]       # lamina.dataframe is imported here
    with lamina.Client(fresh_cluster) as client:
        deadline = time.monotonic() + 60      # the scheduler relays the request
        while not client.worker_info()[0]["frames_prepared"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w["frames_prepared"] for w in client.worker_info()] == [True]


def test_a_cluster_started_by_a_dataframe_process_prepares_its_workers_at_start(monkeypatch):
    monkeypatch.setattr(client_core, "prepare_kinds", lambda: [])   # the client asks nothing
    with lamina.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as c:
        assert c.prepare == ["frames"]
        with lamina.Client(c) as client:
            assert [w["frames_prepared"] for w in client.worker_info()] == [True]
            deadline = time.monotonic() + 60
            while not _frame_libraries_per_worker(client, 1).all() and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            assert _frame_libraries_per_worker(client, 1).all()


def test_the_worker_command_rejects_an_unknown_kind_to_prepare(capsys):
    from lamina.distributed_cli import main

    with pytest.raises(SystemExit):
        main(["worker", "tcp://127.0.0.1:1", "--prepare", "tables"])
    assert "invalid choice: 'tables'" in capsys.readouterr().err
