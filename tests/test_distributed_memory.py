"""Workers with a memory limit, on real processes: spill, reload, free, pause.

Two single-threaded workers, each limited to about a third of the blocks it
is given to hold: persisted data three times the limit must still give
NumPy's answers, through spill files that are gone once the blocks are
released and once the workers exit.
"""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest
from distributed_support import WAIT, idle, wait_until

import lamina.array as la
from lamina.client import Client, LocalCluster

BLOCK_ROWS, COLS, N_BLOCKS = 50, 500, 12
BLOCK_BYTES = BLOCK_ROWS * COLS * 8                     # 200 kB
LIMIT = 2 * BLOCK_BYTES                                 # each worker holds ~6 blocks: 3x


@pytest.fixture(scope="module")
def limited():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=LIMIT) as cluster:
        client = Client(cluster)
        yield cluster, client
        client.close()


def data() -> np.ndarray:
    return np.random.default_rng(7).random((BLOCK_ROWS * N_BLOCKS, COLS))


def test_persisted_data_three_times_the_limit_spills_and_computes_right(limited):
    _, client = limited
    x = la.from_array(data(), chunks=(BLOCK_ROWS, COLS))
    y = client.persist(x * 2 + 1, timeout=WAIT)
    expected = data() * 2 + 1
    infos = client.worker_info()
    assert [w["memory_limit"] for w in infos] == [LIMIT, LIMIT]
    assert sum(w["n_keys"] for w in infos) == N_BLOCKS
    assert all(w["memory_bytes"] <= 0.6 * LIMIT for w in infos)
    assert sum(w["spilled_keys"] for w in infos) >= N_BLOCKS // 2
    assert sum(w["spill_files"] for w in infos) == sum(w["spilled_keys"] for w in infos)

    total = client.compute(y.sum())
    columns = client.compute(y.mean(axis=0))
    whole = client.compute(y.rechunk((BLOCK_ROWS * N_BLOCKS, COLS)) - 1)   # fetches from peers
    assert total.result(WAIT) == pytest.approx(expected.sum())
    np.testing.assert_allclose(columns.result(WAIT), expected.mean(axis=0))
    np.testing.assert_array_equal(whole.result(WAIT), expected - 1)
    infos = client.worker_info()
    assert sum(w["reloads"] for w in infos) >= N_BLOCKS // 2
    assert sum(w["spilled_bytes_total"] for w in infos) >= N_BLOCKS // 2 * BLOCK_BYTES

    del y
    gc.collect()
    wait_until(lambda: idle(client))
    infos = client.worker_info()
    assert [w["spill_files"] for w in infos] == [0, 0]
    assert [w["disk_bytes"] for w in infos] == [0, 0]


def test_a_worker_over_its_pause_limit_still_finishes_one_task_at_a_time(limited):
    _, client = limited
    x = la.from_array(data(), chunks=(BLOCK_ROWS, 100))
    total = client.compute(((x - 0.5) ** 2).sum())
    assert total.result(WAIT) == pytest.approx(((data() - 0.5) ** 2).sum())
    infos = client.worker_info()
    # The interpreter alone is far above 80% of a 400 kB limit: paused throughout.
    assert all(w["paused"] and w["pauses"] >= 1 for w in infos if w["tasks_run"])


def test_spill_folders_are_removed_when_workers_exit():
    with LocalCluster(n_workers=1, memory_limit=LIMIT) as cluster:
        client = Client(cluster)
        x = la.from_array(data(), chunks=(BLOCK_ROWS, COLS))
        y = client.persist(x + 1, timeout=WAIT)
        (info,) = client.worker_info()
        folder = info["spill_directory"]
        assert info["spill_files"] > 0 and os.path.isdir(folder)
        client.close()
        del y
    assert not os.path.exists(folder)


def test_workers_without_a_limit_never_spill(client):
    x = la.from_array(data(), chunks=(BLOCK_ROWS, COLS))
    y = client.persist(x + 1, timeout=WAIT)
    infos = client.worker_info()
    assert [w["memory_limit"] for w in infos] == [None, None]
    assert sum(w["spills"] for w in infos) == 0 and not any(w["paused"] for w in infos)
    assert sum(w["memory_bytes"] for w in infos) == N_BLOCKS * BLOCK_BYTES
    del y
    gc.collect()
    wait_until(lambda: idle(client))


@pytest.mark.parametrize("value", ["lots", "3XB", "-1GiB"])
def test_worker_refuses_a_bad_memory_limit(value, capsys):
    from lamina.distributed_cli import main as distributed_main

    with pytest.raises(SystemExit) as info:
        distributed_main(["worker", "tcp://127.0.0.1:1", f"--memory-limit={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"--memory-limit: memory limit {value!r}" in err and "'2GiB'" in err


def test_worker_passes_its_memory_limit_to_the_store(monkeypatch):
    import lamina.worker.worker as worker_module
    from lamina.distributed_cli import main as distributed_main

    made = []
    monkeypatch.setattr(worker_module, "run_process",
                        lambda role, start, close, *a, **k: made.append(start.__self__) or 0)
    assert distributed_main(["worker", "tcp://127.0.0.1:1", "--memory-limit", "3MiB"]) == 0
    assert made[0].data.memory_limit == 3 * 2**20
