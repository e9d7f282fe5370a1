"""Failures on a real cluster: task errors, clients leaving, and a scheduler
that never unpickles (workers leaving: test_distributed_recovery.py).

Each test has a hard alarm and bounded waits; the cluster processes are
stopped at the end of the module (or of the test that owns them).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import time

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT, idle, wait_until

import lamina.array as la
from lamina.client import Client, RemoteTraceback

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def explode_on_block_seven(block):
    if block[0, 0] == 70:
        raise ValueError("block seven is bad")
    return block


def slow(block):
    time.sleep(0.05)
    return block


# task errors --------------------------------------------------------------------------
def test_failing_task_reaches_the_client_with_the_original_exception(client):
    x = la.from_array(np.arange(200.0).reshape(20, 10), chunks=(1, 10))
    y = la.map_blocks(explode_on_block_seven, x, dtype="f8").sum()
    future = client.compute(y)
    with pytest.raises(ValueError, match="block seven is bad") as info:
        future.result(WAIT)
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "explode_on_block_seven" in info.value.__cause__.text
    assert any("block (7, 0)" in note for note in info.value.__notes__)
    wait_until(lambda: idle(client))
    assert client.compute(x.sum()).result(WAIT) == np.arange(200.0).sum()


def test_scheduler_side_error_reaches_the_client(client):
    held = la.from_array(np.ones(4), chunks=2)
    y = client.persist(held, timeout=WAIT)
    from lamina.array.core import Array
    from lamina.layers.held import Held

    forged = Array(Held(y.layer.cluster, 10**9, 0, y.chunks, y.dtype))
    with pytest.raises(RuntimeError, match="released"):
        client.compute(forged + 1).result(WAIT)
    with pytest.raises(RuntimeError, match="another cluster"):
        client.compute(Array(Held("elsewhere", 1, 0, y.chunks, y.dtype)) + 1).result(WAIT)


# clients leaving ----------------------------------------------------------------------
def test_client_closing_mid_computation_has_its_work_released(cluster, client):
    leaving = Client(cluster)
    x = la.from_array(np.arange(400.0), chunks=2)
    future = leaving.compute(la.map_blocks(slow, x, dtype="f8").sum())
    wait_until(lambda: client.scheduler_info()["runs"] == 1)
    leaving.close()
    with pytest.raises(Exception):
        future.result(5)
    wait_until(lambda: idle(client))
    assert client.compute(x.sum()).result(WAIT) == np.arange(400.0).sum()


def test_killed_client_process_has_its_work_released(cluster, client):
    script = textwrap.dedent(f"""
        import time, numpy as np
        import lamina.array as la
        from lamina.client import Client
        def slow(b):
            time.sleep(0.05)
            return b
        c = Client({cluster.scheduler_address!r})
        x = la.from_array(np.arange(1000.0), chunks=2)
        f = c.compute(la.map_blocks(slow, x, dtype="f8").sum())
        print("submitted", flush=True)
        time.sleep(60)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(la.__file__))))]
        + sys.path), LAMINA_AUTH_SECRET=cluster.security.secret.decode())
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().startswith(b"submitted")
        wait_until(lambda: client.scheduler_info()["runs"] == 1)
        wait_until(lambda: sum(w["tasks_run"] for w in client.worker_info()) > 0)
        proc.kill()
        proc.wait(10)
        wait_until(lambda: idle(client))
        assert client.scheduler_info()["clients"] == 1
    finally:
        if proc.poll() is None:
            proc.kill()


# the scheduler never unpickles -----------------------------------------------------
def _tripwire(marker: str, factor: float):
    """Rebuilds a function on a worker; anywhere else it leaves a mark and dies."""
    import sys

    if "lamina.worker.worker" not in sys.modules:
        with open(marker, "w") as f:
            f.write("unpickled outside a worker")
        os._exit(17)
    return lambda block: block * factor


class Tripwire:
    """A function whose unpickling outside a worker process fails loudly."""

    def __init__(self, marker: str, factor: float) -> None:
        self.marker, self.factor = marker, factor

    def __call__(self, block):
        return block * self.factor

    def __reduce__(self):
        return (_tripwire, (self.marker, self.factor))


def test_scheduler_passes_blobs_through_without_unpickling(cluster, client):
    marker = os.path.join(tempfile.mkdtemp(), "tripped")
    x = la.from_array(np.arange(30.0), chunks=4)
    y = la.map_blocks(Tripwire(marker, 3.0), x, dtype="f8").sum()
    assert client.compute(y).result(WAIT) == 3 * np.arange(30.0).sum()
    assert not os.path.exists(marker)
    assert cluster.scheduler_process.poll() is None


def test_scheduler_process_refuses_to_unpickle_at_all(cluster):
    probe = textwrap.dedent("""
        import pickle, sys
        from lamina.comm.process import forbid_unpickling
        forbid_unpickling()
        try:
            pickle.loads(pickle.dumps(sys.modules["os"].getcwd))
        except RuntimeError as exc:
            print("refused:", exc)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=WAIT, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert "refused: the lamina scheduler never unpickles" in out.stdout
    assert pickle.loads(pickle.dumps(len)) is len

