"""A client notices a scheduler that hangs without closing its connection
(stopped with SIGSTOP): the pending computation fails with a clear error
after ``scheduler_timeout`` instead of waiting for ever. The stopped
scheduler is always continued at the end."""

from __future__ import annotations

import os
import signal
import sys
import time

import cloudpickle
import numpy as np
import pytest
from distributed_support import WAIT

import lamina.array as la
from lamina.client import Client, LocalCluster
from lamina.comm.core import CommClosedError

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def sleepy(block):
    time.sleep(0.5)
    return block


def test_a_stopped_scheduler_fails_the_pending_computation_with_a_clear_error():
    with LocalCluster(n_workers=1) as cluster:
        client = Client(cluster, scheduler_timeout=2.0)
        pid = cluster.scheduler_process.pid
        try:
            client.wait_for_workers(1, timeout=WAIT)
            x = la.map_blocks(sleepy, la.from_array(np.arange(40.0), chunks=1), dtype="f8")
            future = client.compute(x.sum())
            os.kill(pid, signal.SIGSTOP)
            with pytest.raises(CommClosedError, match="sent nothing for 2 s"):
                future.result(WAIT)
            with pytest.raises(CommClosedError):
                client.compute(x.sum()).result(WAIT)
        finally:
            os.kill(pid, signal.SIGCONT)
            client.close()


def test_an_idle_client_of_a_live_scheduler_stays_connected():
    with LocalCluster(n_workers=1) as cluster:
        client = Client(cluster, scheduler_timeout=1.0)
        try:
            time.sleep(3.0)  # several timeouts' worth of heartbeats answered
            assert client.compute(la.arange(10, chunks=3).sum()).result(WAIT) == 45
        finally:
            client.close()


def test_scheduler_timeout_must_be_positive():
    with pytest.raises(ValueError, match="scheduler_timeout must be a positive"):
        Client("tcp://127.0.0.1:1", scheduler_timeout=0)
