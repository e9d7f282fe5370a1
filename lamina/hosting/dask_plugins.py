"""A lamina scheduler and lamina workers hosted by a Dask cluster, as Dask plugins.

    dask_client.register_plugin(HostedScheduler(secret))      # in the Dask scheduler
    address, secret = dask_client.run_on_scheduler(hosted_scheduler)
    dask_client.register_plugin(HostedWorkers(address, secret))   # in every Dask worker

``lamina.Client.from_dask`` does exactly this. Each lamina process serves on
an event loop of its own thread (``LoopThread``), so neither it nor the Dask
process it lives in waits on the other's work. A hosted lamina worker runs
its tasks on the Dask worker's own threads and spills under the Dask
worker's memory limit. Both listen on the interface Dask uses, on a free
port, and require the cluster secret, which reaches them inside the pickled
plugin over Dask's own connection (TLS when the Dask cluster uses it).

The lamina scheduler unpickles nothing, as everywhere; unlike a ``lamina
scheduler`` process it cannot forbid unpickling to its whole process, since
the Dask scheduler it shares the process with unpickles Dask's messages.

This module imports Dask's plugin base classes and, when a plugin starts,
the lamina scheduler or worker: nothing of the collections or the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

SCHEDULER_PLUGIN = "lamina-scheduler"
WORKER_PLUGIN = "lamina-worker"


def _host_of(dask_address: str) -> str:
    """The interface a Dask process is reached on (loopback for in-process clusters)."""
    scheme, _, rest = dask_address.rpartition("://")
    if scheme not in ("tcp", "tls", "ws", "wss") or not rest:
        return "127.0.0.1"
    host = rest.rsplit(":", 1)[0]
    return host.strip("[]") or "127.0.0.1"


def _security(secret: str) -> Any:
    from lamina.comm.security import Security

    return Security(secret.encode(), source="the Dask plugin")


async def _on(io: Any, coro: Any) -> Any:
    """Await ``coro`` run on the loop thread ``io`` from another event loop."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, io.loop))


class HostedScheduler(SchedulerPlugin):
    """Runs a lamina scheduler inside the Dask scheduler from ``start`` to ``close``.

    ``secret``: what every lamina worker and client must prove. The further
    options are ``lamina.scheduler.server.Scheduler``'s.
    """

    idempotent = True  # a second registration keeps the running scheduler and its secret
    name = SCHEDULER_PLUGIN

    def __init__(self, secret: str, port: int = 0, **options: Any) -> None:
        if not secret:
            raise ValueError("HostedScheduler needs the cluster secret: lamina never "
                             "serves unauthenticated")
        self.secret, self.port, self.options = secret, port, options
        self.address = ""
        self.io: Any = None
        self.server: Any = None

    def __getstate__(self) -> dict:
        return {"secret": self.secret, "port": self.port, "options": self.options,
                "address": "", "io": None, "server": None}

    async def start(self, scheduler: Any) -> None:
        from lamina.comm.loop import LoopThread
        from lamina.scheduler.server import Scheduler

        self.io = LoopThread("lamina-scheduler")
        self.server = Scheduler(security=_security(self.secret), **self.options)
        address = f"tcp://{_host_of(scheduler.address)}:{self.port}"
        self.address = await _on(self.io, self.server.start(address))

    async def close(self) -> None:
        if self.io is None:
            return
        io, self.io = self.io, None
        try:
            await _on(io, self.server.stop())
        finally:
            io.stop()


def hosted_scheduler(dask_scheduler: Any) -> tuple[str, str]:
    """(address, secret) of the lamina scheduler in this Dask scheduler
    (for ``Client.run_on_scheduler``)."""
    plugin = dask_scheduler.plugins.get(SCHEDULER_PLUGIN)
    if plugin is None or not plugin.address:
        raise LookupError("no lamina scheduler runs in this Dask scheduler: register "
                          "HostedScheduler first (lamina.Client.from_dask does)")
    return plugin.address, plugin.secret


class HostedWorkers(WorkerPlugin):
    """Runs a lamina worker inside each Dask worker, from ``setup`` to ``teardown``.

    It takes the Dask worker's threads (its default executor, so lamina and
    Dask tasks share them), memory limit and local directory (for spilled
    blocks), and listens on its interface.
    Dask sets it up on workers that join later as well. The lamina worker
    also ends when its scheduler goes away.
    """

    idempotent = True
    name = WORKER_PLUGIN

    def __init__(self, scheduler_address: str, secret: str) -> None:
        if not secret:
            raise ValueError("HostedWorkers needs the cluster secret: lamina never "
                             "serves unauthenticated")
        self.scheduler_address, self.secret = scheduler_address, secret
        self.io: Any = None
        self.worker: Any = None
        self.closed = False

    def __getstate__(self) -> dict:
        return {"scheduler_address": self.scheduler_address, "secret": self.secret,
                "io": None, "worker": None, "closed": False}

    async def setup(self, worker: Any) -> None:
        from lamina.comm.loop import LoopThread
        from lamina.worker.worker import Worker

        limit = getattr(worker.memory_manager, "memory_limit", None) or None
        self.io = LoopThread("lamina-worker")
        self.worker = Worker(self.scheduler_address, worker.state.nthreads,
                             listen_address=f"tcp://{_host_of(worker.address)}:0",
                             security=_security(self.secret), memory_limit=limit,
                             spill_directory=getattr(worker, "local_directory", None),
                             executor=worker.executors["default"])
        try:
            await _on(self.io, self.worker.start())
        except BaseException:
            self.io.stop()
            self.io = None
            raise
        asyncio.run_coroutine_threadsafe(self._close_when_finished(), self.io.loop)

    async def _close_when_finished(self) -> None:
        """On the lamina loop: close the worker once its scheduler connection ends."""
        await self.worker.finished()
        await self._close()

    async def _close(self) -> None:
        """On the lamina loop, once: close the lamina worker."""
        if not self.closed:
            self.closed = True
            await self.worker.close()

    async def teardown(self, worker: Any) -> None:
        if self.io is None:
            return
        io, self.io = self.io, None
        try:
            await _on(io, self._close())
        finally:
            io.stop()
