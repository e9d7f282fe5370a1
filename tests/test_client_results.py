"""The client refuses results that are not what the computation declared.

A fake scheduler and a fake worker, in process (``inproc://``, on their own
event loop thread), answer a real ``Client``: the scheduler says the run is
done, the worker hands back a value of the wrong kind, or the scheduler
reports a failure whose "exception" is not one. The client must raise a
clear ``ResultError`` instead of returning garbage.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lamina.array as la
from lamina.client import Client, ResultError
from lamina.comm.batched import unbatch
from lamina.comm.core import CommClosedError, listen
from lamina.comm.loop import LoopThread
from lamina.comm.wire import Blob

_names = itertools.count()
DATA = np.arange(5.0)


class FakeCluster:
    """An inproc scheduler that finishes every run at once with its one block on an
    inproc worker answering ``values``; or fails it with ``exception``."""

    def __init__(self, values: list | None = None, exception: object = None) -> None:
        self.values = values
        self.exception = exception
        n = next(_names)
        self.address = f"inproc://fake-scheduler-{n}"
        self.worker = f"inproc://fake-worker-{n}"
        self.io = LoopThread()
        self.listeners = self.io.run(self._listen(), 10)

    async def _listen(self) -> list:
        return [await listen(self.address, self._scheduler,
                             {"role": "scheduler", "id": "fake", "registry": {}}),
                await listen(self.worker, self._serve_worker, {"role": "worker"})]

    async def _scheduler(self, comm) -> None:
        try:
            while True:
                for msg in unbatch(await comm.read()):
                    if msg.get("op") == "submit":
                        await comm.write(self._answer(msg["ref"]))
        except CommClosedError:
            pass

    def _answer(self, ref: int) -> dict:
        if self.exception is not None:
            return {"op": "run_erred", "ref": ref, "run": 1, "exception": self.exception,
                    "traceback": "", "where": "fake"}
        return {"op": "run_done", "ref": ref, "run": 1, "n_tasks": 1,
                "outputs": [(np.array([0]), np.array([7]))], "workers": {7: self.worker},
                "submitted": 0.0, "first_task": 0.0}

    async def _serve_worker(self, comm) -> None:
        try:
            while True:
                await comm.read()
                await comm.write({"op": "data", "missing": [], "values": self.values})
        except CommClosedError:
            pass

    def result(self):
        client = Client(self.address, timeout=5)
        try:
            return client.compute(la.from_array(DATA, chunks=5), optimize_graph=False).result(10)
        finally:
            client.close()
            self.io.run(self._stop(), 10)
            self.io.stop()

    async def _stop(self) -> None:
        for listener in self.listeners:
            await listener.stop()


def test_fake_cluster_with_the_right_block_gives_it_back():
    np.testing.assert_array_equal(FakeCluster([DATA.copy()]).result(), DATA)


@pytest.mark.parametrize("values, message", [
    (["not an array"], "came back as str 'not an array', not an array of float64"),
    ([np.zeros(3)], r"an array of shape \(3,\), not \(5,\)"),
    ([np.arange(5, dtype="i4")], "an array of dtype int32, not float64"),
    ([np.float64(1.0)], r"an array of shape \(\), not \(5,\)"),
    ([], "sent 0 values for 1 requested results"),
    ("garbage", "not a list of values"),
])
def test_client_refuses_a_block_that_is_not_what_was_declared(values, message):
    with pytest.raises(ResultError, match=message):
        FakeCluster(values).result()


def test_client_refuses_a_failure_whose_exception_is_not_an_exception():
    with pytest.raises(ResultError, match=r"is a str \('nothing to see'\), not an exception"):
        FakeCluster(exception=Blob.dump("nothing to see")).result()


def test_client_refuses_a_failure_whose_exception_cannot_be_loaded():
    with pytest.raises(RuntimeError, match="cannot load"):
        FakeCluster(exception=Blob(b"not a pickle")).result()
