"""``LoopThread``: an event loop running in a daemon thread.

A ``Client`` is used from plain (blocking) code, but its connection is
asynchronous: reading replies, fetching results from workers and sending
batched messages all happen on this loop, while the caller's thread only
submits coroutines and waits. A scheduler or worker hosted inside another
program's process (a Dask scheduler or worker) serves on one too::

    io = LoopThread()
    io.run(connect(), timeout=10)     # run a coroutine there and wait for it
    io.call(send, message)            # schedule a plain call, do not wait
    io.stop()                         # cancel what is pending, then close
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any


class LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self, name: str = "lamina-client") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None = None) -> Any:
        """Run ``coro`` on the loop; wait for its result (at most ``timeout`` seconds)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any) -> None:
        """Call ``fn(*args)`` on the loop soon; nothing once the loop is closed."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the tasks still pending on the loop and wait for them, then stop
        and close it, so that no task is destroyed while pending."""
        if self.loop.is_running():
            try:
                self.run(self._cancel_pending(timeout), timeout + 1.0)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    async def _cancel_pending(self, timeout: float) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self.loop.shutdown_asyncgens()
