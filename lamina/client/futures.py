"""``Future``: the pending result of one computed collection, and remote errors.

    future = client.compute(x.sum())     # returns at once
    future.done()                        # False while the cluster works
    future.result(timeout=60)            # the value, or the task's exception

A task's exception is rebuilt here with its original type, a note naming
the layer and block, and the worker's traceback as its cause
(``RemoteTraceback``), so ``except ValueError`` works as it would in
process. The embedded runner hands back finished futures, so both runners
answer ``lamina.compute.run`` the same way.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from lamina.comm.wire import Blob

CLOSED_BEFORE_RESULT = "the Client was closed before this result arrived"


class ResultError(TypeError):
    """A peer answered with a value that is not what the computation declared."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised on a worker, as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n" + self.text


class Future:
    """The pending result of one collection computed on the cluster.

    ``n_speculative``: how many of the run's ``n_tasks`` started on their
    worker without a scheduler round trip (sent ahead, see docs/distributed.md).
    """

    def __init__(self) -> None:
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        self.timings: dict[str, float] = {}
        self.graph_nbytes = 0
        self.n_tasks = 0
        self.n_speculative = 0

    @classmethod
    def finished(cls, value: Any) -> "Future":
        """A future that already holds ``value`` (what the embedded runner returns)."""
        future = cls()
        future._settle(value)
        return future

    def result(self, timeout: float | None = None) -> Any:
        """The value (a NumPy array); raises the task's exception if one failed."""
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def done(self) -> bool:
        return self._future.done()

    def _settle(self, value: Any) -> None:
        """Give the result, unless the future already has one (or an error)."""
        if not self._future.done():
            self._future.set_result(value)

    def _fail(self, exc: BaseException) -> None:
        """Give the error, unless the future already has a result (or an error)."""
        if not self._future.done():
            self._future.set_exception(exc)

    def __repr__(self) -> str:
        state = "finished" if self.done() else "pending"
        return f"<lamina.Future {state}, {self.n_tasks} tasks>"


def remote_exception(msg: dict) -> BaseException:
    """The exception of a ``run_erred`` message, with the worker's traceback as cause."""
    blob = msg.get("exception")
    try:
        exc = blob.load() if isinstance(blob, Blob) else blob
    except Exception as load_error:
        exc = RuntimeError(f"a task failed with an exception this process cannot load "
                           f"({load_error})")
    if not isinstance(exc, BaseException):
        text = repr(exc)
        exc = ResultError(f"the cluster reported a failed computation, but what it sent as "
                          f"the exception is a {type(exc).__name__} ({text[:60]}"
                          f"{'...' if len(text) > 60 else ''}), not an exception: a worker "
                          "or peer sent a malformed failure; the result was refused")
    text = msg.get("traceback") or ""
    if text:
        exc.__cause__ = RemoteTraceback(text)
    if msg.get("where") == "the scheduler":
        exc.add_note("lamina: raised by the scheduler while planning the computation")
    return exc
