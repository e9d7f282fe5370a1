"""Finding workers that stopped answering without closing their connection.

A worker that exits or is killed closes its socket and the server notices
at once. One that hangs (stopped with SIGSTOP, stuck in native code
holding the GIL, its machine frozen or cut off) keeps the socket open and
says nothing: its tasks would wait for ever. So each worker sends a
``heartbeat`` every ``interval`` seconds (the scheduler tells it how often
in its ``welcome``) and the scheduler counts any message as a sign of
life; a worker silent for ``timeout`` seconds is removed as if it had
died, and what it held is computed again::

    watch = HeartbeatWatch(interval=1.0, timeout=10.0)
    task = asyncio.ensure_future(watch.run(lambda: list(workers.values()), drop))
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from lamina.scheduler.peers import WorkerState

logger = logging.getLogger("lamina.scheduler")

HEARTBEAT_SECONDS = 1.0
WORKER_TIMEOUT_SECONDS = 10.0


class HeartbeatWatch:
    """How often workers report, and how long a silent one is waited for."""

    def __init__(self, interval: float = HEARTBEAT_SECONDS,
                 timeout: float = WORKER_TIMEOUT_SECONDS) -> None:
        interval, timeout = float(interval), float(timeout)
        if not interval > 0:
            raise ValueError(f"heartbeat_interval must be a positive number of seconds, "
                             f"got {interval}")
        if not timeout > interval:
            raise ValueError(f"worker_timeout ({timeout} s) must be longer than "
                             f"heartbeat_interval ({interval} s), or every worker would "
                             "look silent between two heartbeats; a few intervals is usual")
        self.interval = interval
        self.timeout = timeout

    def silent(self, workers: list[WorkerState], now: float) -> list[WorkerState]:
        """The workers not heard from for longer than ``timeout`` at time ``now``."""
        return [ws for ws in workers if now - ws.last_seen > self.timeout]

    async def run(self, workers: Callable[[], list[WorkerState]],
                  drop: Callable[[WorkerState], None]) -> None:
        """Every half interval, ``drop`` each worker silent for too long; until cancelled.

        A round that wakes up late (this event loop itself was held up)
        drops nobody: the workers' messages may be waiting unread.
        """
        tick = time.monotonic()
        while True:
            await asyncio.sleep(self.interval / 2)
            now, late = time.monotonic(), time.monotonic() - tick > self.interval
            tick = now
            if late:
                continue
            for ws in self.silent(workers(), now):
                logger.warning("worker %s sent nothing for %.1f s (limit %g s): removing it "
                               "and computing its work again elsewhere", ws.address,
                               now - ws.last_seen, self.timeout)
                drop(ws)
