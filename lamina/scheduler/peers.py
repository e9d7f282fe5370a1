"""The scheduler's view of its connected workers and clients.

Each holds the outgoing side of its connection (``out``: a ``BatchedSend``
on a real connection, an ``Inbox`` in tests and benchmarks) and what the
scheduler tracks about it: a worker's threads, tasks in flight and measured
seconds per task; a client's active and finished runs.
"""

from __future__ import annotations

import time
from typing import Any

from lamina.comm.core import CommClosedError
from lamina.scheduler import placement

INITIAL_SECONDS_PER_TASK = 1e-3


class _Peer:
    """A connected worker or client, as the scheduler sees it."""

    out: Any

    def send(self, msg: dict) -> None:
        """Queue ``msg``; a closed connection is left to this peer's reader to notice."""
        try:
            self.out.send(msg)
        except CommClosedError:
            pass


class WorkerState(_Peer):
    """What the scheduler knows of one worker.

    ``alone``: it runs a suspect task and takes nothing else until idle.
    ``last_seen``: when it last sent anything (``time.monotonic()``), for
    the heartbeat watch. ``ahead``: tasks sent ahead that it holds waiting,
    at most ``ahead_budget``; ``stealing``: a steal request to it is
    unanswered (for thief ``steal_for[0]``, ``steal_for[1]`` tasks);
    ``incoming``: tasks it is to get from one.
    """

    def __init__(self, wid: int, address: str, nthreads: int, out: Any) -> None:
        self.wid = wid
        self.address = address
        self.nthreads = max(int(nthreads), 1)
        self.out = out
        self.in_flight = 0
        self.seconds_per_task = INITIAL_SECONDS_PER_TASK
        self.runs: set[int] = set()
        self.alone = False
        self.last_seen = time.monotonic()
        self.ahead = 0
        self.ahead_budget = 0
        self.stealing = False
        self.steal_for = (0, 0)
        self.incoming = 0

    @property
    def target(self) -> int:
        """Tasks to keep queued on this worker (see ``placement.target``)."""
        return placement.target(self.nthreads, self.seconds_per_task)

    @property
    def room(self) -> int:
        """Tasks it may take now (negative when over its target); none while ``alone``."""
        return 0 if self.alone else self.target - self.in_flight

    def measured(self, n_tasks: int, elapsed: float) -> None:
        """Fold a report of ``n_tasks`` taking ``elapsed`` thread seconds into the estimate."""
        if n_tasks and elapsed > 0:
            self.seconds_per_task = 0.5 * self.seconds_per_task + 0.5 * elapsed / n_tasks


class ClientState(_Peer):
    """What the scheduler knows of one client."""

    def __init__(self, cid: int, out: Any) -> None:
        self.cid = cid
        self.out = out
        self.runs: set[int] = set()
        self.finished: set[int] = set()
