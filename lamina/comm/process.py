"""How a scheduler or worker lives as an operating-system process.

``lamina scheduler`` and ``lamina worker`` run the same way: start serving,
print one ready line that a parent can wait for, then serve until SIGINT or
SIGTERM, until the parent process exits (``--exit-with-parent``, so a
``LocalCluster`` leaves no orphans), or until the service ends on its own
(a worker whose scheduler went away), and close::

    run_process("worker", worker.start, worker.close, ended=worker.finished,
                suffix=f" for {scheduler_address}")

It lives in ``lamina.comm`` because both the scheduler and the worker
import ``comm`` and neither may import the other; like the rest of
``comm`` it concerns how processes meet, not what they compute.
``forbid_unpickling`` is here too: it guards a whole process, and the
scheduler's is the one that installs it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Awaitable, Callable

PARENT_POLL_SECONDS = 0.5


def forbid_unpickling() -> None:
    """Make this process refuse to unpickle anything, for the rest of its life.

    The scheduler never runs user code, so nothing it receives should ever
    be unpickled; this audit hook turns a mistake into a loud error.
    """
    def hook(event: str, args: tuple) -> None:
        if event == "pickle.find_class":
            raise RuntimeError(f"the lamina scheduler never unpickles: refused to load "
                               f"{args[0]}.{args[1]}")

    sys.addaudithook(hook)


async def _parent_exit() -> None:
    """Return once this process's parent has exited (it is re-parented)."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_POLL_SECONDS)


async def serve_until_stopped(start: Callable[[], Awaitable[str]],
                              close: Callable[[], Awaitable[None]],
                              on_ready: Callable[[str], None] | None = None,
                              exit_with_parent: bool = False,
                              ended: Callable[[], Awaitable[None]] | None = None) -> None:
    """``start()`` (it returns the address bound), serve until stopped, ``close()``.

    Stopped means SIGINT/SIGTERM, the parent exiting (``exit_with_parent``)
    or ``ended()`` returning, whichever comes first.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    address = await start()
    if on_ready is not None:
        on_ready(address)
    waits = [asyncio.ensure_future(stop.wait())]
    if exit_with_parent:
        waits.append(asyncio.ensure_future(_parent_exit()))
    if ended is not None:
        waits.append(asyncio.ensure_future(ended()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    await close()


def run_process(role: str, start: Callable[[], Awaitable[str]],
                close: Callable[[], Awaitable[None]], exit_with_parent: bool = False,
                ended: Callable[[], Awaitable[None]] | None = None, suffix: str = "") -> int:
    """The body of a ``lamina ROLE`` command: serve until stopped; return 0.

    Prints ``lamina ROLE listening at ADDRESS`` (then ``suffix``) once
    serving: ``LocalCluster`` waits for that line.
    """
    def ready(address: str) -> None:
        print(f"lamina {role} listening at {address}{suffix}", flush=True)

    asyncio.run(serve_until_stopped(start, close, ready, exit_with_parent, ended))
    return 0
