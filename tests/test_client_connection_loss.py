"""A client whose scheduler dies fails its results promptly, never hangs.

The scheduler is a real process killed with SIGKILL (no goodbye on the
socket beyond the kernel's reset); every wait is bounded and shorter than
the test's alarm, so a hang shows as a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT, wait_until

import lamina.array as la
from lamina.client import Client
from lamina.comm.core import CommClosedError

cloudpickle.register_pickle_by_value(sys.modules[__name__])

PROMPT = 10.0


class Gate:
    """Holds each task until ``path`` exists (or 30 s pass)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, block):
        deadline = time.monotonic() + 30
        while not os.path.exists(self.path) and time.monotonic() < deadline:
            time.sleep(0.01)
        return block


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(*args: str) -> subprocess.Popen:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(la.__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root] + sys.path))
    return subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", *args,
                             "--exit-with-parent"], stdout=subprocess.DEVNULL, env=env)


@pytest.fixture
def doomed():
    """A scheduler process with one worker, and a connected client; all stopped after."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = _start("scheduler", "--port", address.rsplit(":", 1)[1])
    worker = _start("worker", address, "--nthreads", "1")
    client = Client(address, timeout=WAIT)
    try:
        client.wait_for_workers(1, timeout=WAIT)
        yield scheduler, client
    finally:
        client.close()
        for proc in (worker, scheduler):
            proc.kill()
            proc.wait(10)


def _kill(scheduler: subprocess.Popen) -> None:
    scheduler.kill()
    scheduler.wait(10)


def test_idle_client_fails_the_next_result_promptly_after_the_scheduler_dies(doomed):
    scheduler, client = doomed
    x = la.from_array(np.arange(10.0), chunks=5)
    assert client.compute(x.sum()).result(WAIT) == 45.0
    _kill(scheduler)
    time.sleep(0.5)
    started = time.monotonic()
    with pytest.raises(CommClosedError, match="scheduler at tcp://127.0.0.1"):
        client.compute(x.sum()).result(timeout=PROMPT)
    assert time.monotonic() - started < PROMPT
    with pytest.raises(CommClosedError, match="scheduler at"):
        client.compute(x.sum()).result(timeout=PROMPT)


def test_submit_right_after_the_scheduler_dies_fails_promptly(doomed):
    scheduler, client = doomed
    x = la.from_array(np.arange(10.0), chunks=5)
    _kill(scheduler)
    started = time.monotonic()
    with pytest.raises(CommClosedError, match="scheduler at"):
        client.compute(x.sum()).result(timeout=PROMPT)
    assert time.monotonic() - started < PROMPT


def test_pending_result_fails_when_the_scheduler_dies_mid_run(doomed):
    scheduler, client = doomed
    gate = os.path.join(tempfile.mkdtemp(), "open")
    x = la.map_blocks(Gate(gate), la.from_array(np.arange(10.0), chunks=5), dtype="f8")
    future = client.compute(x.sum())
    wait_until(lambda: any(w["busy"] for w in client.worker_info()))
    _kill(scheduler)
    with pytest.raises(CommClosedError, match="scheduler at"):
        future.result(timeout=PROMPT)
    with pytest.raises(CommClosedError, match="scheduler at"):
        client.scheduler_info(timeout=PROMPT)
