"""The embedded runner: results, errors, cancellation, freeing memory."""

import _thread
import threading
import time

import numpy as np
import pytest

import lamina
import lamina.array as la
from lamina.scheduler.lowering import lower
from lamina.scheduler.runner import run_table


def fail_on_block_three(block):
    if block[0] == 30:
        raise ZeroDivisionError("block three is bad")
    return block


def test_task_exception_reaches_caller_unchanged_with_layer_and_block():
    x = la.arange(100, chunks=10)
    y = la.map_blocks(fail_on_block_three, x, dtype=x.dtype) + 1
    with pytest.raises(ZeroDivisionError, match="block three is bad") as info:
        y.compute(nthreads=2)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "fail_on_block_three" in notes
    assert "block (3,)" in notes


def test_failure_in_a_wide_graph_ends_the_computation():
    x = la.arange(10_000, chunks=10)
    y = la.map_blocks(fail_on_block_three, x, dtype=x.dtype) * 2 + x
    with pytest.raises(ZeroDivisionError):
        lamina.compute(y, nthreads=2)


SLOW_CALLS: list[int] = []


def slow_block(block):
    SLOW_CALLS.append(int(block[0]))
    time.sleep(0.05)
    return block


def test_ctrl_c_cancels_cleanly():
    """Threads stop after their current batch: most of the 400 blocks never run."""
    SLOW_CALLS.clear()
    x = la.map_blocks(slow_block, la.arange(4000, chunks=10), dtype=np.int64)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        x.compute(nthreads=2)
    ran = len(SLOW_CALLS)
    assert 0 < ran < 100
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("lamina-runner")]


def test_intermediates_are_freed_and_outputs_kept():
    x = la.ones((100,), chunks=10)
    y = ((x + 1) * 2) - 3
    table = lower([y.layer])
    store = run_table(table, nthreads=2)
    kept = set(table.outputs[0].tolist())
    for t, value in enumerate(store):
        assert (value is not None) == (t in kept)


def test_progress_reports_every_task():
    seen = []
    x = la.ones((50,), chunks=5) + 1
    lamina.compute(x, nthreads=1, optimize_graph=False,
                   on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (20, 20)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("nthreads", [1, 2, 4])
def test_results_do_not_depend_on_thread_count(nthreads):
    a = np.random.default_rng(0).random((37, 23))
    x = la.from_array(a, chunks=(5, 7))
    got = (np.sin(x) * x + 1).compute(nthreads=nthreads)
    np.testing.assert_allclose(got, np.sin(a) * a + 1)


def test_persist_keeps_blocks_and_chunks():
    a = np.arange(30.0).reshape(5, 6)
    x = la.from_array(a, chunks=(2, 4)) * 3
    p = x.persist()
    assert p.chunks == x.chunks
    assert type(p.layer).__name__ == "FromBlocks"
    np.testing.assert_array_equal((p + 1).compute(), a * 3 + 1)


def test_compute_returns_non_collections_unchanged():
    x = la.ones((3,), chunks=2)
    value, other = lamina.compute(x, "label")
    assert other == "label"
    np.testing.assert_array_equal(value, np.ones(3))


# lamina.compute_blocks --------------------------------------------------------------
def test_compute_blocks_returns_each_inputs_blocks_in_flat_order():
    data = np.arange(24.0).reshape(4, 6)
    x = la.from_array(data, chunks=(2, 3))
    plus, total = lamina.compute_blocks(x + 1, (x * 2).sum())
    assert len(plus) == 4
    for flat, block in enumerate(plus):
        i, j = divmod(flat, 2)
        np.testing.assert_array_equal(block, data[2 * i:2 * i + 2, 3 * j:3 * j + 3] + 1)
    assert float(total[0]) == (data * 2).sum()


def test_compute_blocks_takes_layers_and_keeps_tuple_blocks():
    from lamina.layers.linalg.tsqr_layers import BlockQR

    data = np.random.default_rng(0).random((8, 3))
    x = la.from_array(data, chunks=(4, 3))
    (factored,) = lamina.compute_blocks(BlockQR(x.layer, np.dtype("f8")), optimize_graph=False)
    assert len(factored) == 2
    for i, (pieces, r) in enumerate(factored):
        q = pieces[0][0]
        np.testing.assert_allclose(q @ r, data[4 * i:4 * i + 4], rtol=1e-12)


def test_compute_blocks_reports_progress_to_the_last_task():
    seen = []
    lamina.compute_blocks(la.arange(100, chunks=10) + 1, nthreads=2,
                          on_progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_compute_blocks_refuses_what_is_not_an_array_or_layer():
    with pytest.raises(TypeError, match="collections or Layers, got ndarray"):
        lamina.compute_blocks(np.ones(3))
