"""What a worker tells the scheduler about itself, for the dashboard.

Each heartbeat carries a ``sample``: process memory and CPU, blocks held,
bytes moved to and from peers, bytes spilled. Task reports carry which
pool thread ran the batch (``thread_index``) and when each task ended, so
the scheduler can draw the task stream without asking again.
"""

from __future__ import annotations

import threading
from typing import Any

import psutil

from lamina.worker.store import sizeof


class WorkerMetrics:
    """Counters a worker keeps beside its work: cheap to update, read once a heartbeat."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.process.cpu_percent()
        self.bytes_received = 0
        self.bytes_sent = 0
        self._threads: dict[int, int] = {}
        self._lock = threading.Lock()

    def thread_index(self) -> int:
        """A small number for the calling pool thread: 0, 1, ... in order of first use."""
        ident = threading.get_ident()
        index = self._threads.get(ident)
        if index is None:
            with self._lock:
                index = self._threads.setdefault(ident, len(self._threads))
        return index

    def moved(self, values: Any, received: bool) -> None:
        """Count the bytes of blocks fetched from (``received``) or served to a peer."""
        nbytes = sum(sizeof(v) for v in values)
        if received:
            self.bytes_received += nbytes
        else:
            self.bytes_sent += nbytes

    def sample(self, data: Any) -> dict[str, Any]:
        """Memory, CPU and data counters now: plain numbers for a heartbeat."""
        return {"memory": int(self.process.memory_info().rss),
                "cpu": float(self.process.cpu_percent()),
                "keys": len(data), "spilled_bytes": int(getattr(data, "disk_bytes", 0)),
                "bytes_received": self.bytes_received, "bytes_sent": self.bytes_sent}
