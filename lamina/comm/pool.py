"""Request/reply connections to peers, reused between requests.

    pool = ConnectionPool({"role": "worker"})
    reply = await pool.request("tcp://127.0.0.1:40123", {"op": "get_data", "keys": keys})
    await pool.close()

A connection carries one request at a time; concurrent requests to one
peer open more connections, which stay idle for reuse afterwards.
"""

from __future__ import annotations

from typing import Any

from lamina.comm.core import Comm, connect
from lamina.comm.security import Security


class ConnectionPool:
    """Idle connections per address, opened on demand."""

    def __init__(self, info: dict[str, Any], load_blobs: bool = True, timeout: float = 10.0,
                 max_idle: int = 4, security: Security | None = None) -> None:
        self.info = info
        self.security = security
        self.load_blobs = load_blobs
        self.timeout = timeout
        self.max_idle = max_idle
        self.idle: dict[str, list[Comm]] = {}
        self.bytes_read = 0

    async def request(self, address: str, msg: Any) -> Any:
        """Send ``msg`` to ``address`` and return the reply."""
        idle = self.idle.setdefault(address, [])
        comm = idle.pop() if idle else await connect(address, self.info, self.load_blobs,
                                                     self.timeout, self.security)
        try:
            await comm.write(msg)
            before = comm.bytes_read
            reply = await comm.read()
            self.bytes_read += comm.bytes_read - before
        except BaseException:
            comm.abort()
            raise
        if len(idle) < self.max_idle:
            idle.append(comm)
        else:
            comm.abort()
        return reply

    async def close(self) -> None:
        for comms in self.idle.values():
            for comm in comms:
                comm.abort()
        self.idle.clear()
