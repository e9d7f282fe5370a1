"""``lamina.diagnostics.report``: one self-contained HTML file per block of computations."""

import json
import os
import re
import sys
import tempfile

import cloudpickle
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
import lamina.diagnostics
from lamina.client import LocalCluster
from lamina.compute import optimized
from lamina.scheduler.lowering import lower
from tests.distributed_support import WAIT, connected

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def data_of(path) -> dict:
    text = open(path, encoding="utf-8").read()
    return json.loads(re.search(r'id="report-data">(.*?)</script>', text, re.S).group(1))


def untimed(text: str) -> str:
    """An explanation without its timings (which differ from one optimization to the next)."""
    return re.sub(r"\d+\.\d+ ms", "_ ms", text)


def per_layer(y) -> list[int]:
    table = lower(optimized([y.layer]))
    return np.bincount(table.task_layer, minlength=len(table.layers)).tolist()


def fails_on_block_two(block):
    if (block == 4).any():
        raise ZeroDivisionError("block two")
    return block + 1


@given(rows=st.lists(st.integers(1, 5), min_size=1, max_size=5),
       cols=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       nthreads=st.integers(1, 3))
@settings(max_examples=15, deadline=None)
def test_report_has_one_record_per_task_and_the_right_counts_per_layer(rows, cols, nthreads):
    values = np.arange(sum(rows) * sum(cols), dtype=float).reshape(sum(rows), sum(cols))
    values[0, 0] = np.nan
    x = la.from_array(values, chunks=(tuple(rows), tuple(cols)))
    y = (x * 2).sum(axis=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.html")
        with lamina.diagnostics.report(path):
            (got,) = lamina.compute(y, nthreads=nthreads)
        data = data_of(path)
    np.testing.assert_array_equal(got, (values * 2).sum(axis=0))
    (run,) = data["runs"]
    assert [layer["done"] for layer in run["layers"]] == per_layer(y)
    assert [layer["total"] for layer in run["layers"]] == per_layer(y)
    tasks = data["tasks"]
    assert sorted(tasks["task"]) == list(range(sum(per_layer(y))))
    assert all(a <= b for a, b in zip(tasks["start"], tasks["stop"]))
    assert set(tasks["thread"]) <= set(range(nthreads))
    assert untimed(data["explain"][0]["text"]) == untimed(str(lamina.explain(y)))


def test_report_is_self_contained_and_shows_memory(tmp_path):
    path = tmp_path / "run.html"
    with lamina.diagnostics.report(path, memory_interval=0.01):
        lamina.compute(la.ones((100, 100), chunks=(10, 10)).sum())
    text = path.read_text()
    assert "<script src" not in text and "<link" not in text and "fetch(" not in text
    data = data_of(path)
    history = data["workers"][0]["history"]
    assert len(history) >= 2 and all(m > 0 for _, m in history)
    graph = data["explain"][0]["plan"]
    assert graph["nodes"] and sum(n["root"] for n in graph["nodes"]) == 1


def test_report_is_written_when_the_block_raises(tmp_path):
    path = tmp_path / "run.html"
    x = la.from_array(np.arange(8.0), chunks=2)
    with pytest.raises(ZeroDivisionError, match="block two"):
        with lamina.diagnostics.report(path):
            lamina.compute(la.map_blocks(fails_on_block_two, x, dtype=float), nthreads=1)
    data = data_of(path)
    (run,) = data["runs"]
    assert run["outcome"] == "failed"
    assert run["error"]["type"] == "ZeroDivisionError"
    assert run["error"]["message"] == "block two"
    assert "(2,)" in run["error"]["where"]
    assert run["done"] < run["n_tasks"] == 4
    (layer,) = run["layers"]        # one fused layer: only the failed block erred
    assert layer["erred"] == 1 and layer["done"] + layer["erred"] + layer["waiting"] \
        + layer["queued"] == 4


def test_report_refuses_a_bad_memory_interval(tmp_path):
    with pytest.raises(ValueError, match="memory_interval must be a positive number"):
        with lamina.diagnostics.report(tmp_path / "run.html", memory_interval=0):
            pass
    assert not (tmp_path / "run.html").exists()


def test_report_on_a_cluster_takes_the_scheduler_records(tmp_path):
    path = tmp_path / "run.html"
    x = la.from_array(np.arange(300.0).reshape(30, 10), chunks=(4, 3))
    y = (x + 1).sum(axis=1)
    with LocalCluster(2, dashboard_address=None, timeout=WAIT) as cluster:
        with connected(cluster) as client:
            assert client.dashboard_link is None
            client.compute(x.sum()).result(WAIT)          # before the block: not reported
            with lamina.diagnostics.report(path):      # the active client's cluster
                (got,) = lamina.compute(y)
            n_workers = len(client.scheduler_info()["workers"])
    np.testing.assert_allclose(got, (np.arange(300.0).reshape(30, 10) + 1).sum(axis=1))
    data = data_of(path)
    (run,) = [r for r in data["runs"] if r["id"] > 0]
    assert [layer["done"] for layer in run["layers"]] == per_layer(y)
    tasks = data["tasks"]
    assert set(tasks["run"]) == {run["id"]}
    assert sorted(tasks["task"]) == list(range(sum(per_layer(y))))
    assert set(tasks["worker"]) <= {w["id"] for w in data["workers"][1:]}
    assert len(data["workers"]) == 1 + n_workers
