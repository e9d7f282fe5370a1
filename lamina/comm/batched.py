"""Coalesce many small messages into one write.

Messages sent while a write is in flight are gathered and go out together
as ``{"op": "batch", "msgs": [...]}`` (one header, one set of frames), so
thousands of task reports cost a handful of writes::

    out = BatchedSend(comm)
    out.send({"op": "done", "tasks": ids})     # returns at once
    await out.close()                          # flush, then stop
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterator

from lamina.comm.core import Comm, CommClosedError
from lamina.comm.limits import WireError


class BatchedSend:
    """A write queue in front of a ``Comm``; ``send`` never blocks."""

    def __init__(self, comm: Comm, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.comm = comm
        self.buffer: list[Any] = []
        self.on_error = on_error
        self.messages_sent = 0
        self.writes = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.ensure_future(self._run())

    def send(self, msg: Any) -> None:
        if self._stopping:
            raise CommClosedError("this sender is closed")
        self.buffer.append(msg)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self.buffer:
                if self._stopping:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            msgs, self.buffer = self.buffer, []
            payload = msgs[0] if len(msgs) == 1 else {"op": "batch", "msgs": msgs}
            try:
                await self.comm.write(payload)
            except Exception as exc:
                self._stopping = True
                if self.on_error is not None:
                    self.on_error(exc)
                return
            self.messages_sent += len(msgs)
            self.writes += 1

    def abort(self) -> None:
        """Stop now, dropping what is queued, and close the connection."""
        self._stopping = True
        self.buffer = []
        self._task.cancel()
        self.comm.abort()

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()


def unbatch(msg: Any) -> Iterator[dict]:
    """The messages inside ``msg`` (itself, unless it is a batch).

    Raises ``WireError`` at anything that is not a message (see ``as_message``).
    """
    if isinstance(msg, dict) and msg.get("op") == "batch":
        msgs = msg.get("msgs")
        if type(msgs) not in (list, tuple):
            raise WireError(f"a batch holds a list of messages, not {type(msgs).__name__}")
        for m in msgs:
            yield as_message(m)
    else:
        yield as_message(msg)


def as_message(msg: Any) -> dict:
    """``msg`` if it is a message (a dict with a string ``op``), else ``WireError``."""
    if type(msg) is not dict or type(msg.get("op")) is not str:
        got = (f"a dict whose 'op' is {type(msg.get('op')).__name__}" if type(msg) is dict
               else f"a {type(msg).__name__}")
        raise WireError(f"a message is a dict with a string 'op', got {got}")
    return msg
