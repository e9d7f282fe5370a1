"""In-process transport: frame lists handed over through queues.

Messages still go through the wire encoding (so tests exercise it), but
frames are passed by reference, read-only, never copied. Both ends may run
on different event loops in different threads::

    listener = await listen("inproc://scheduler", handle)
    comm = await connect("inproc://scheduler")
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Awaitable, Callable, Sequence

from lamina.comm.core import Comm, CommClosedError, Listener

_LISTENERS: dict[str, "InProcListener"] = {}
_COUNTER = itertools.count()


class InProcComm(Comm):
    def __init__(self, name: str, load_blobs: bool) -> None:
        super().__init__(load_blobs)
        self.name = name
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.peer: InProcComm | None = None
        self._closed = False

    @property
    def peer_address(self) -> str:
        return f"inproc://{self.name}"

    @property
    def closed(self) -> bool:
        return self._closed

    def _deliver(self, frames: list[Any] | None) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.queue.put_nowait, frames)

    async def read_frames(self) -> list[Any]:
        if self._closed and self.queue.empty():
            raise CommClosedError(f"in-process connection {self.name} closed")
        frames = await self.queue.get()
        if frames is None:
            self._closed = True
            raise CommClosedError(f"in-process connection {self.name} closed by the peer")
        return frames

    async def write_frames(self, frames: Sequence[Any]) -> None:
        if self._closed or self.peer is None:
            raise CommClosedError(f"in-process connection {self.name} closed")
        self.peer._deliver([memoryview(f).toreadonly() for f in frames])

    async def close(self) -> None:
        self.abort()

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self._deliver(None)
            if self.peer is not None:
                self.peer._deliver(None)


class InProcListener(Listener):
    def __init__(self, name: str, accepted: Callable[[Comm], Awaitable[None]],
                 load_blobs: bool) -> None:
        self.name = name
        self.address = f"inproc://{name}"
        self.accepted = accepted
        self.load_blobs = load_blobs
        self.loop = asyncio.get_running_loop()
        self.tasks: set = set()

    def accept(self, client_side: InProcComm) -> None:
        async def serve() -> None:
            server_side = InProcComm(self.name, self.load_blobs)
            server_side.peer, client_side.peer = client_side, server_side
            await self.accepted(server_side)

        future = asyncio.run_coroutine_threadsafe(serve(), self.loop)
        self.tasks.add(future)
        future.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        _LISTENERS.pop(self.name, None)


async def inproc_listen(name: str, accepted: Callable[[Comm], Awaitable[None]],
                        load_blobs: bool) -> InProcListener:
    if not name:
        name = f"listener-{next(_COUNTER)}"
    if name in _LISTENERS:
        raise OSError(f"inproc://{name} is already in use")
    listener = InProcListener(name, accepted, load_blobs)
    _LISTENERS[name] = listener
    return listener


async def inproc_connect(name: str, load_blobs: bool) -> InProcComm:
    listener = _LISTENERS.get(name)
    if listener is None:
        raise CommClosedError(f"nothing listens at inproc://{name}")
    comm = InProcComm(name, load_blobs)
    listener.accept(comm)
    for _ in range(1000):
        if comm.peer is not None:
            return comm
        await asyncio.sleep(0.001)
    raise CommClosedError(f"inproc://{name} did not accept the connection")
