"""``lamina.diagnostics.progress``: a tqdm bar per computation inside the block,
on the embedded runner and on a cluster, and nothing asked for outside it."""

from __future__ import annotations

import io

import numpy as np
import pytest

import lamina
import lamina.array as la
from lamina.diagnostics import PassBars, active_progress, progress

tqdm = pytest.importorskip("tqdm", reason="the progress bars are drawn by tqdm")


def finished_lines(text: str) -> list[str]:
    return [line for line in text.replace("\r", "\n").split("\n") if "100%" in line]


def test_a_compute_inside_the_block_draws_a_finished_bar_with_every_task():
    stream = io.StringIO()
    x = la.from_array(np.arange(100.0), chunks=7)
    with progress(file=stream):
        total = (x + 1).sum().compute()
    assert total == np.sum(np.arange(100.0) + 1)
    done = finished_lines(stream.getvalue())
    assert done, stream.getvalue()
    n_tasks = int(done[-1].split("|")[-1].split("/")[0])
    assert n_tasks >= 15  # 15 blocks plus the reduction's tasks


def test_each_computation_gets_its_own_bar():
    stream = io.StringIO()
    with progress(file=stream):
        la.ones(10, chunks=2).sum().compute()
        lamina.compute(la.ones(10, chunks=5) * 2)
    labels = {line.split(":")[0] for line in finished_lines(stream.getvalue())}
    assert labels == {"compute 1", "compute 2"}


def test_outside_the_block_the_runner_gets_no_callback(monkeypatch):
    from lamina.scheduler import runner

    seen = []
    real = runner.compute_blocks

    def spy(roots, nthreads=None, on_progress=None):
        seen.append(on_progress)
        return real(roots, nthreads, on_progress)

    monkeypatch.setattr(runner, "compute_blocks", spy)
    la.ones(10, chunks=2).sum().compute()
    with progress(file=io.StringIO()):
        la.ones(10, chunks=2).sum().compute()
    assert seen[0] is None and seen[1] is not None
    assert active_progress() is None


def test_an_explicit_callback_takes_precedence_over_the_block():
    stream, seen = io.StringIO(), []
    with progress(file=stream):
        lamina.compute(la.ones(10, chunks=2).sum(), on_progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and stream.getvalue() == ""


def test_without_a_stream_the_bar_comes_from_tqdm_auto(monkeypatch):
    import tqdm.auto

    made = []

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            kwargs["file"] = io.StringIO()
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    with progress():
        la.ones(10, chunks=2).sum().compute()
    assert len(made) == 1 and made[0]["unit"] == "task"


def test_pass_bars_close_each_pass_before_the_next():
    stream = io.StringIO()
    bars = PassBars(stream, mininterval=0)
    bars("pass 1", 1, 4)
    bars("pass 1", 4, 4)
    bars("pass 2", 1, 2)
    bars.close()
    lines = [line for line in stream.getvalue().replace("\r", "\n").split("\n") if line]
    assert any(line.startswith("pass 1") and "4/4" in line for line in lines)
    assert lines[-1].startswith("pass 2") and "1/2" in lines[-1]



def test_a_cluster_computation_inside_the_block_draws_its_bar():
    from distributed_support import connected

    from lamina.client import LocalCluster

    stream = io.StringIO()
    with LocalCluster(n_workers=1) as cluster, connected(cluster) as client:
        with progress(file=stream):
            value = client.compute(la.arange(40, chunks=4).sum()).result(60)
    assert value == sum(range(40))
    assert finished_lines(stream.getvalue()), stream.getvalue()
