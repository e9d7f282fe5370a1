"""The ``lamina svd`` command: demo and zarr inputs, the saved result, the
report (time, passes, peak memory), the progress bar and the errors."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import zarr

from lamina.cli import ProgressBar, build_parser, main
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


def test_scheduler_address_gives_a_clear_error():
    code, out, err = run("svd", "--demo", "100x100", "--scheduler", "tcp://10.0.0.1:8786")
    assert code == 2
    assert "distributed runtime is not available yet" in err


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


def test_progress_bar_draws_one_line_per_pass():
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10, interval=0)
    bar("pass 1", 1, 4)
    bar("pass 1", 4, 4)
    bar("pass 2", 2, 2)
    bar.close()
    lines = stream.getvalue().split("\n")
    assert "[##########] 4/4" in lines[0] and "pass 2" in lines[1] and lines[2] == ""


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "lamina.cli", "svd", "--demo", "120x60",
                           "--chunks", "60,30", "-k", "2", "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "singular values" in proc.stdout
