"""Connections: TCP and in-process transports carry messages exactly.

Each test runs an event loop with a hard timeout, so a broken transport
fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.comm import CommClosedError, ProtocolError, connect, listen
from lamina.comm.batched import BatchedSend, unbatch
from lamina.comm.core import PROTOCOL_VERSION, framed_nbytes
from lamina.comm.tcp import TCPComm
from lamina.comm.wire import dumps

ADDRESSES = ["tcp://127.0.0.1:0", "inproc://"]


def run(coro, timeout: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def echo_server(address: str):
    async def handle(comm):
        while True:
            try:
                msg = await comm.read()
            except CommClosedError:
                return
            await comm.write(msg)

    return await listen(address, handle, {"role": "echo"}, load_blobs=True)


@pytest.mark.parametrize("address", ADDRESSES)
def test_messages_round_trip_in_order(address):
    async def main():
        server = await echo_server(address)
        comm = await connect(server.address, {"role": "client"})
        assert comm.peer_info["role"] == "echo"
        sent = [{"i": i, "ids": np.arange(i), "name": "x" * i} for i in range(50)]
        for msg in sent:
            await comm.write(msg)
        for msg in sent:
            got = await comm.read()
            assert got["i"] == msg["i"] and got["name"] == msg["name"]
            np.testing.assert_array_equal(got["ids"], msg["ids"])
        await comm.close()
        await server.stop()

    run(main())


@pytest.mark.parametrize("address", ADDRESSES)
def test_large_arrays_cross_unchanged(address):
    async def main():
        server = await echo_server(address)
        comm = await connect(server.address)
        data = np.random.default_rng(0).random((1000, 3000))
        await comm.write({"data": data, "view": data[::3, ::7]})
        got = await comm.read()
        np.testing.assert_array_equal(got["data"], data)
        np.testing.assert_array_equal(got["view"], data[::3, ::7])
        await comm.close()
        await server.stop()

    run(main())


def test_tcp_reads_a_large_frame_straight_into_its_own_buffer():
    async def main():
        received = asyncio.Queue()

        async def handle(comm):
            received.put_nowait(await comm.read_frames())

        server = await listen("tcp://127.0.0.1:0", handle)
        comm = await connect(server.address)
        data = np.arange(1_000_000, dtype=np.float64)
        before = comm.bytes_written
        await comm.write({"data": data})
        frames = await received.get()
        assert isinstance(frames[1], bytearray) and len(frames[1]) == data.nbytes
        assert comm.bytes_written - before == framed_nbytes(dumps({"data": data}))
        await comm.close()
        await server.stop()

    run(main())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=200_000), min_size=1, max_size=5))
def test_tcp_frames_of_any_size_arrive_intact(frames):
    async def main():
        received = asyncio.Queue()

        async def handle(comm):
            received.put_nowait(await comm.read_frames())

        server = await listen("tcp://127.0.0.1:0", handle)
        comm = await connect(server.address)
        await comm.write_frames(frames)
        got = await received.get()
        assert [bytes(f) for f in got] == frames
        await comm.close()
        await server.stop()

    run(main())


@pytest.mark.parametrize("address", ADDRESSES)
def test_reading_from_a_closed_peer_raises_comm_closed(address):
    async def main():
        async def handle(comm):
            await comm.close()

        server = await listen(address, handle)
        comm = await connect(server.address)
        with pytest.raises(CommClosedError):
            await comm.read()
        await server.stop()

    run(main())


def test_peer_with_another_protocol_version_is_refused():
    async def main():
        async def handle(comm):
            await asyncio.sleep(5)

        server = await listen("tcp://127.0.0.1:0", handle)
        from tornado.tcpclient import TCPClient

        host, port = server.address[len("tcp://"):].split(":")
        stream = await TCPClient().connect(host, int(port))
        raw = TCPComm(stream, server.address, True)
        await raw.write({"op": "hello", "protocol": PROTOCOL_VERSION + 1})
        hello = await raw.read()
        assert hello["protocol"] == PROTOCOL_VERSION
        with pytest.raises(CommClosedError):
            await raw.read()
        await server.stop()

        async def impostor(comm):
            await comm.write({"op": "hello", "protocol": PROTOCOL_VERSION + 1})
            await asyncio.sleep(1)

        from lamina.comm.tcp import tcp_listen

        server2 = await tcp_listen("127.0.0.1:0", impostor, True)
        with pytest.raises(ProtocolError, match="same lamina version"):
            await connect(server2.address)
        await server2.stop()

    run(main())


def test_garbage_on_a_tcp_port_does_not_take_the_listener_down():
    async def main():
        server = await echo_server("tcp://127.0.0.1:0")
        host, port = server.address[len("tcp://"):].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(struct.pack("<Q", 1) + struct.pack("<Q", 5) + b"junk!")
        await writer.drain()
        writer.close()
        comm = await connect(server.address)
        await comm.write({"still": "alive"})
        assert (await comm.read()) == {"still": "alive"}
        await comm.close()
        await server.stop()

    run(main())


@pytest.mark.parametrize("address", ADDRESSES)
def test_batched_send_coalesces_messages_into_few_writes(address):
    async def main():
        server = await echo_server(address)
        comm = await connect(server.address)
        out = BatchedSend(comm)
        for i in range(1000):
            out.send({"op": "done", "i": i})
        await out.close()
        assert out.messages_sent == 1000 and out.writes <= 3
        got = []
        while len(got) < 1000:
            got.extend(unbatch(await comm.read()))
        assert [m["i"] for m in got] == list(range(1000))
        await comm.close()
        await server.stop()

    run(main())


def test_in_process_comm_works_across_threads_and_loops():
    import threading

    ready = threading.Event()
    state = {}

    def serve():
        async def main():
            server = await echo_server("inproc://cross-thread")
            state["server"] = server
            ready.set()
            await asyncio.sleep(3)

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)

    async def client():
        comm = await connect("inproc://cross-thread")
        await comm.write({"x": np.arange(5)})
        got = await comm.read()
        np.testing.assert_array_equal(got["x"], np.arange(5))
        await comm.close()

    run(client())
