"""Refusing a bad message: one log line, the connection closed, nothing left pending.

The scheduler logs a malformed message or a failed handler in one line (no
traceback), closes that connection at once, and leaves no task behind; a
client whose scheduler sends something it cannot handle fails its futures
instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from test_comm_hostile import framed

import lamina.array as la
from lamina.client import Client
from lamina.comm import CommClosedError, connect, listen
from lamina.comm.loop import LoopThread
from lamina.layers.registry import signature
from lamina.scheduler.server import Scheduler


async def refused_by(scheduler_address: str, payload: bytes) -> bytes:
    """What the scheduler sends back before closing (its hello), or a timeout error."""
    host, port = scheduler_address.split("://")[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(payload)
    try:
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("junk", [[1, 2], {"op": "release", "run": "not a number"},
                                  {"op": "batch", "msgs": None}])
def test_a_refused_message_is_one_log_line_and_a_closed_connection(caplog, junk):
    async def main() -> None:
        scheduler = Scheduler()
        address = await scheduler.start("tcp://127.0.0.1:0")
        comm = await connect(address, {"role": "client"})
        await comm.write(junk)
        with pytest.raises(CommClosedError):
            while True:
                await asyncio.wait_for(comm.read(), 10)
        await asyncio.sleep(0.1)
        assert scheduler.info()["clients"] == 0
        await scheduler.stop()

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
        gc.collect()
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].exc_info is None
    assert "closed the connection from a client" in lines[0].getMessage()


def test_a_greeting_the_scheduler_cannot_decode_is_dropped_quietly(caplog):
    async def main() -> None:
        scheduler = Scheduler()
        address = await scheduler.start("tcp://127.0.0.1:0")
        sent = await refused_by(address, framed([b"LMN\x01" + b"\xc1" * 10]))
        assert sent, "the scheduler sends its hello, then closes"
        await scheduler.stop()

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
        gc.collect()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("reply", ["junk", "failing"])
def test_a_client_fails_its_futures_when_the_scheduler_sends_what_it_cannot_handle(reply):
    async def fake_scheduler(comm) -> None:
        submit = await comm.read()
        if reply == "junk":
            await comm.write([1, 2, 3])
        else:
            await comm.write({"op": "accepted", "ref": submit["ref"], "run": "not a number"})
        await asyncio.sleep(30)

    io = LoopThread()
    try:
        info = {"role": "scheduler", "id": "fake", "registry": signature()}
        listener = io.run(listen("tcp://127.0.0.1:0", fake_scheduler, info), 10)
        with Client(listener.address) as client:
            future = client.compute(la.arange(10, chunks=5).sum())
            with pytest.raises(CommClosedError, match="scheduler"):
                future.result(10)
    finally:
        io.stop()


def test_a_frame_larger_than_the_first_buffer_arrives_whole():
    import numpy as np

    from lamina.comm import connect
    from lamina.comm.tcp import PREALLOCATE_BYTES

    async def echo(comm) -> None:
        await comm.write(await comm.read())

    async def main() -> None:
        listener = await listen("tcp://127.0.0.1:0", echo, {"role": "echo"}, load_blobs=True)
        comm = await connect(listener.address, {"role": "client"})
        sent = np.random.default_rng(0).integers(0, 2**60, 5 * PREALLOCATE_BYTES // 8 + 3)
        await comm.write({"op": "echo", "a": sent})
        got = await asyncio.wait_for(comm.read(), 30)
        np.testing.assert_array_equal(got["a"], sent)
        await comm.close()
        await listener.stop()

    asyncio.run(main())
