"""Shuffles on a LocalCluster whose workers have far less memory than the data.

Pieces go to each worker's local disk and travel worker to worker; the
workers' counters prove it, and show that nothing is left on disk once the
results are released. Every wait is bounded (``WAIT``, ``wait_until``).
"""

from __future__ import annotations

import os
import sys
import tempfile

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from distributed_support import (
    WAIT,
    Boom,
    Gate,
    connected,
    explode_at_row_1000,
    wait_until,
)

import lamina
import lamina.dataframe as ld
from lamina.client import LocalCluster

cloudpickle.register_pickle_by_value(sys.modules[__name__])
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
ROWS = 120_000
MEMORY_LIMIT = "500kB"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(5)
    pdf = pd.DataFrame({"k": rng.integers(0, 50_000, ROWS), "x": rng.standard_normal(ROWS),
                        "y": rng.standard_normal(ROWS)})
    path = str(tmp_path_factory.mktemp("shuffle") / "data.parquet")
    pdf.to_parquet(path, row_group_size=ROWS // 8)
    return pdf, path


@pytest.fixture(scope="module")
def small_cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=MEMORY_LIMIT) as cluster:
        yield cluster


def disk_counters(client):
    return [{k: w[k] for k in ("shuffle_bytes_total", "shuffle_files", "spill_files",
                                "spilled_bytes_total", "memory_limit")}
            for w in client.worker_info()]


def nothing_on_disk(client):
    return all(w["shuffle_files"] == 0 and w["spill_files"] == 0 for w in disk_counters(client))


def in_order(frame):
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_shuffles_of_more_data_than_worker_memory_match_pandas_and_clean_up(data,
                                                                           small_cluster):
    pdf, path = data
    data_bytes = int(pdf.memory_usage(deep=True).sum())
    df = ld.read_parquet(path)
    with connected(small_cluster) as client:
        assert all(w["memory_limit"] * 4 < data_bytes for w in disk_counters(client))
        before = sum(w["shuffle_bytes_total"] for w in disk_counters(client))
        ordered, indexed, grouped, joined = lamina.compute(
            df.sort_values("x"), df.set_index("y"),
            df.groupby("k").agg(t=("x", "sum"), n=("y", "count"), split_out=4),
            df.merge(df[["k", "y"]].rename(columns={"y": "z"}), on="k", broadcast=False))
        pd.testing.assert_frame_equal(ordered, pdf.sort_values("x", kind="stable"))
        pd.testing.assert_frame_equal(indexed, pdf.set_index("y").sort_index(kind="stable"))
        pd.testing.assert_frame_equal(grouped.sort_index(),
                                      pdf.groupby("k").agg(t=("x", "sum"), n=("y", "count")),
                                      rtol=1e-12)
        want = pdf.merge(pdf[["k", "y"]].rename(columns={"y": "z"}), on="k")
        pd.testing.assert_frame_equal(in_order(joined), in_order(want))
        written = sum(w["shuffle_bytes_total"] for w in disk_counters(client)) - before
        assert written > data_bytes    # the sort, the index and the join each moved it all
        assert sum(w["spilled_bytes_total"] for w in disk_counters(client)) > 0
        wait_until(lambda: nothing_on_disk(client))


def test_persisted_frame_on_a_cluster_keeps_divisions_and_is_read_in_place(data,
                                                                          small_cluster):
    pdf, path = data
    df = ld.read_parquet(path)
    with connected(small_cluster) as client:
        indexed = df[["k", "x"]].set_index("x")
        kept = indexed.persist()
        assert kept.layer.label().startswith("HeldFrame")
        assert kept.divisions == indexed.divisions and kept.known_divisions
        pd.testing.assert_frame_equal(kept._meta, indexed._meta)
        got, total = lamina.compute(kept, kept.k.sum())
        want = pdf[["k", "x"]].set_index("x").sort_index(kind="stable")
        pd.testing.assert_frame_equal(got, want)
        assert total == want.k.sum()
        del kept
        wait_until(lambda: nothing_on_disk(client))


def test_a_task_failing_inside_a_shuffle_fails_the_computation(data, small_cluster):
    _, path = data
    df = ld.read_parquet(path)
    bad = df.map_partitions(explode_at_row_1000, meta=df._meta)
    with connected(small_cluster) as client:
        future = client.compute(bad.merge(df[["k", "y"]], on="k", broadcast=False))
        with pytest.raises(Boom, match="row 1000"):
            future.result(WAIT)
        wait_until(lambda: nothing_on_disk(client))


def add_one(part):
    return part.assign(x=part.x + 1)


def test_pieces_lost_with_a_killed_worker_are_computed_again():
    gate = os.path.join(tempfile.mkdtemp(), "open")
    rng = np.random.default_rng(2)
    pdf = pd.DataFrame({"k": rng.integers(0, 100, 4000), "x": rng.standard_normal(4000)})
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, connected(cluster) as c:
        df = ld.from_pandas(pdf, npartitions=8).map_partitions(add_one, meta=pdf[:0])
        shuffled = df.sort_values("x").x
        future = c.compute(shuffled.map_partitions(Gate(gate), meta=pdf.x[:0]),
                           optimize_graph=False)
        # every split is written; each worker waits in a gated task after its gather
        wait_until(lambda: sum(w["shuffle_files_total"] for w in c.worker_info()) >= 8
                   and sum(w["busy"] for w in c.worker_info()) == 2)
        cluster.worker_processes[0].kill()
        wait_until(lambda: len(c.scheduler_info()["workers"]) == 1)
        open(gate, "w").close()
        got = future.result(WAIT)
        assert c.scheduler_info()["tasks_recomputed"] > 0
    want = (pdf.x + 1).sort_values(kind="stable") + 1
    pd.testing.assert_series_equal(got, want)
