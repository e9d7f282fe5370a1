"""The ``lamina svd`` command: demo and zarr inputs, the saved result, the
report (time, passes, peak memory), the progress bar, the same runs on a
``LocalCluster`` with ``--scheduler``, and the errors."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import numpy as np
import pytest
import zarr

from lamina import cli
from lamina.cli import build_parser, main
from lamina.client import LocalCluster
from lamina.linalg import genotype_matrix, patterson_reference


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_demo_run_reports_time_passes_and_memory(tmp_path):
    target = tmp_path / "result.npz"
    code, out, err = run("svd", "--demo", "600x200", "--chunks", "150,100", "-k", "3",
                         "--power-iter", "2", "--out", str(target))
    assert code == 0, err
    assert "demo genotypes 600x200 uint8" in out
    assert "wall time" in out and "peak RSS" in out
    assert "passes     3 over the input" in out
    assert "pass 1" in err and "pass 3" in err
    saved = np.load(target)
    assert saved["u"].shape == (600, 3) and saved["s"].shape == (3,)
    assert saved["v"].shape == (3, 200)
    g = genotype_matrix((600, 200), chunks=(150, 100)).compute().astype(float)
    np.testing.assert_allclose(saved["s"], np.linalg.svd(g, compute_uv=False)[:3], rtol=1e-3)


def test_zarr_input_with_patterson_scaling(tmp_path):
    g = genotype_matrix((300, 90), chunks=(100, 90), seed=4).compute()
    path = tmp_path / "g.zarr"
    zarr.create_array(str(path), data=g, chunks=(100, 45))
    target = tmp_path / "r.npz"
    code, out, err = run("svd", str(path), "-k", "2", "--power-iter", "4", "--scaler",
                         "patterson", "--out", str(target), "--no-progress")
    assert code == 0, err
    assert "(3x2 blocks)" in out and err == ""
    s = np.load(target)["s"]
    np.testing.assert_allclose(s, np.linalg.svd(patterson_reference(g), compute_uv=False)[:2],
                               rtol=1e-4)


def test_float32_and_thread_options():
    code, out, err = run("svd", "--demo", "200x100", "--chunks", "50,50", "-k", "2", "--dtype",
                         "float32", "--threads", "1", "--no-progress")
    assert code == 0, err
    assert "passes     1" in out


def test_demo_on_a_cluster_equals_the_embedded_run(cluster, tmp_path):
    argv = ["svd", "--demo", "600x200", "--chunks", "150,100", "-k", "3", "--power-iter", "2",
            "--no-progress"]
    code, out, err = run(*argv, "--out", str(tmp_path / "here.npz"))
    assert code == 0, err
    code, out, err = run(*argv, "--out", str(tmp_path / "there.npz"),
                         "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    assert f"cluster    {cluster.scheduler_address}, 2 workers, 2 threads" in out
    assert "passes     3 over the input" in out
    here, there = np.load(tmp_path / "here.npz"), np.load(tmp_path / "there.npz")
    for name in "usv":
        np.testing.assert_allclose(there[name], here[name], rtol=1e-12, atol=1e-12)
    g = genotype_matrix((600, 200), chunks=(150, 100)).compute().astype(float)
    np.testing.assert_allclose(there["s"], np.linalg.svd(g, compute_uv=False)[:3], rtol=1e-3)


def test_relative_zarr_path_on_a_cluster_equals_the_embedded_run(cluster, tmp_path,
                                                                 monkeypatch):
    g = genotype_matrix((300, 90), chunks=(100, 90), seed=4).compute()
    zarr.create_array(str(tmp_path / "g.zarr"), data=g, chunks=(100, 45))
    monkeypatch.chdir(tmp_path)
    argv = ["svd", "g.zarr", "-k", "2", "--power-iter", "4", "--scaler", "patterson"]
    code, out, err = run(*argv, "--out", "here.npz")
    assert code == 0, err
    code, out, err = run(*argv, "--out", "there.npz", "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    assert "(3x2 blocks)" in out and "pass 1" in err and "pass 5" in err
    s = np.load("there.npz")["s"]
    np.testing.assert_allclose(s, np.load("here.npz")["s"], rtol=1e-12)
    np.testing.assert_allclose(s, np.linalg.svd(patterson_reference(g), compute_uv=False)[:2],
                               rtol=1e-4)


def test_unreachable_scheduler_is_reported(monkeypatch):
    monkeypatch.setattr(cli, "CONNECT_SECONDS", 0.5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    code, out, err = run("svd", "--demo", "100x100", "--scheduler", address)
    assert code == 2
    assert f"could not connect to the scheduler at {address}" in err
    assert "lamina scheduler" in err


def test_scheduler_without_workers_is_reported(monkeypatch):
    monkeypatch.setattr(cli, "WORKER_WAIT_SECONDS", 0.3)
    with LocalCluster(n_workers=0) as empty:
        code, out, err = run("svd", "--demo", "100x100", "--scheduler", empty.scheduler_address,
                             "--no-progress")
    assert code == 2
    assert "0 of 1 workers connected" in err
    assert f"lamina worker {empty.scheduler_address}" in err


def test_missing_input_file(tmp_path):
    code, out, err = run("svd", str(tmp_path / "absent.zarr"), "--no-progress")
    assert code == 1 and "lamina svd:" in err


def test_k_larger_than_the_matrix_is_reported():
    code, out, err = run("svd", "--demo", "20x10", "-k", "50", "--no-progress")
    assert code == 1 and "k=50" in err


@pytest.mark.parametrize("argv", [
    ["svd"],
    ["svd", "--demo", "100"],
    ["svd", "--demo", "0x10"],
    ["svd", "--demo", "10x10", "--chunks", "5"],
    ["svd", "--demo", "10x10", "--iterator", "lanczos"],
    ["frobnicate"],
])
def test_bad_command_lines_exit_with_usage(argv):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2


def test_progress_bar_draws_one_finished_bar_per_pass():
    code, out, err = run("svd", "--demo", "120x60", "--chunks", "30,30", "-k", "2",
                         "--power-iter", "1")
    assert code == 0, err
    finished = [line for line in err.replace("\r", "\n").split("\n") if "100%" in line]
    assert any(line.startswith("pass 1") for line in finished)
    assert any(line.startswith("pass 2") for line in finished)


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "lamina.cli", "svd", "--demo", "120x60",
                           "--chunks", "60,30", "-k", "2", "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "singular values" in proc.stdout


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_scheduler_refuses_max_task_losses_below_one(value, capsys):
    from lamina.distributed_cli import main as distributed_main

    with pytest.raises(SystemExit) as info:
        distributed_main(["scheduler", "--max-task-losses", value])
    assert info.value.code == 2
    assert f"--max-task-losses: must be a whole number of workers, 1 or more, got '{value}'" \
        in capsys.readouterr().err


def test_scheduler_passes_max_task_losses_to_the_server(monkeypatch):
    import lamina.scheduler.server as server
    from lamina.distributed_cli import main as distributed_main

    made = []
    monkeypatch.setattr(server, "forbid_unpickling", lambda: None)
    monkeypatch.setattr(server, "run_process",
                        lambda role, start, stop, *a: made.append(stop.__self__) or 0)
    assert distributed_main(["scheduler", "--max-task-losses", "5"]) == 0
    assert distributed_main(["scheduler"]) == 0
    assert [s.max_task_losses for s in made] == [5, server.MAX_TASK_LOSSES]


def test_scheduler_object_refuses_max_task_losses_below_one():
    from lamina.scheduler.server import Scheduler

    with pytest.raises(ValueError, match="max_task_losses must be 1 or more, got 0"):
        Scheduler(max_task_losses=0)
