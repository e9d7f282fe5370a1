"""Hostile peers: a scheduler or worker process survives what a stranger sends.

Raw sockets send what no lamina peer would: deeply nested extension types,
headers announcing huge frames, greetings that expand to millions of
elements, messages that are not messages. After each, the process is
alive, its memory did not grow with what was announced, the hostile
connection was closed, and a real computation still gives the right answer.
"""

from __future__ import annotations

import socket
import struct
import time

import msgpack
import psutil
import pytest
from distributed_support import WAIT

import lamina.array as la
from lamina.client import Client, LocalCluster
from lamina.comm.core import PROTOCOL_VERSION
from lamina.comm.format import EXT_RLE, EXT_SLICE
from lamina.comm.wire import MAGIC, WIRE_VERSION, dumps

MiB = 2**20


@pytest.fixture(scope="module")
def one_worker():
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster:
        with Client(cluster) as client:
            yield cluster, client


def framed(frames) -> bytes:
    """Frames as the TCP transport puts them on the stream."""
    frames = [bytes(f) for f in frames]
    return struct.pack(f"<Q{len(frames)}Q", len(frames), *map(len, frames)) + b"".join(frames)


def header_of(value) -> bytes:
    return MAGIC + bytes([WIRE_VERSION]) + msgpack.packb([[], value], use_bin_type=True)


def hello(role: str = "client") -> bytes:
    return framed(dumps({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                         "role": role}))


def deep_extensions(levels: int = 200) -> bytes:
    value: object = 1
    for _ in range(levels):
        value = msgpack.ExtType(EXT_SLICE, msgpack.packb([value]))
    return framed([header_of({"op": "hello", "x": value})])


def open_to(address: str) -> socket.socket:
    host, port = address.split("://")[1].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_peer(sock: socket.socket, timeout: float = 10.0) -> bool:
    """Whether the peer closes the connection within ``timeout`` (its hello is skipped)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def rss(proc) -> int:
    return psutil.Process(proc.pid).memory_info().rss


def still_computes(cluster: LocalCluster, client: Client) -> None:
    assert cluster.scheduler_process.poll() is None, "the scheduler died"
    assert all(p.poll() is None for p in cluster.worker_processes), "a worker died"
    assert client.compute(la.arange(10, chunks=5).sum()).result(WAIT) == 45


def peers(cluster: LocalCluster) -> dict:
    return {"scheduler": (cluster.scheduler_address, cluster.scheduler_process),
            "worker": (cluster.worker_addresses[0], cluster.worker_processes[0])}


@pytest.mark.parametrize("target", ["scheduler", "worker"])
@pytest.mark.parametrize("after_hello", [False, True])
def test_deeply_nested_extension_types_are_refused_and_the_process_survives(
        one_worker, target, after_hello):
    cluster, client = one_worker
    address, _ = peers(cluster)[target]
    message = deep_extensions()
    assert len(message) < 1000
    with open_to(address) as sock:
        sock.sendall((hello() if after_hello else b"") + message)
        assert closed_by_peer(sock)
    still_computes(cluster, client)


@pytest.mark.parametrize("target", ["scheduler", "worker"])
@pytest.mark.parametrize("after_hello", [False, True])
def test_a_header_announcing_a_gibibyte_does_not_grow_the_process(one_worker, target,
                                                                  after_hello):
    cluster, client = one_worker
    address, proc = peers(cluster)[target]
    before = rss(proc)
    socks = [open_to(address) for _ in range(4)]
    try:
        for sock in socks:
            sock.sendall((hello() if after_hello else b"") + struct.pack("<QQ", 1, 2**30))
        time.sleep(1.0)
        assert rss(proc) - before < 100 * MiB
        if not after_hello:
            assert all(closed_by_peer(sock) for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    still_computes(cluster, client)


@pytest.mark.parametrize("target", ["scheduler", "worker"])
def test_a_greeting_expanding_to_millions_of_elements_is_refused_at_once(one_worker, target):
    cluster, client = one_worker
    address, proc = peers(cluster)[target]
    rle = msgpack.ExtType(EXT_RLE, msgpack.packb([[7], [30_000_000]]))
    greeting = framed([header_of({"op": "hello", "protocol": PROTOCOL_VERSION, "x": rle})])
    assert len(greeting) < 100
    before = rss(proc)
    with open_to(address) as sock:
        start = time.monotonic()
        sock.sendall(greeting)
        assert closed_by_peer(sock)
        assert time.monotonic() - start < 1.0
    assert rss(proc) - before < 100 * MiB
    still_computes(cluster, client)


@pytest.mark.parametrize("target", ["scheduler", "worker"])
@pytest.mark.parametrize("junk", [[1, 2, 3], "op", {"no_op": 1}, {"op": 5}])
def test_a_message_that_is_not_a_message_closes_its_connection(one_worker, target, junk):
    cluster, client = one_worker
    address, _ = peers(cluster)[target]
    with open_to(address) as sock:
        sock.sendall(hello() + framed(dumps(junk)))
        assert closed_by_peer(sock)
    still_computes(cluster, client)


@pytest.mark.parametrize("junk", [{"op": "batch", "msgs": 3}, {"op": "batch", "msgs": [7]}])
def test_a_batch_of_things_that_are_not_messages_closes_its_connection(one_worker, junk):
    cluster, client = one_worker
    with open_to(cluster.scheduler_address) as sock:
        sock.sendall(hello() + framed(dumps(junk)))
        assert closed_by_peer(sock)
    still_computes(cluster, client)


def test_a_message_whose_handler_fails_closes_its_connection(one_worker):
    cluster, client = one_worker
    with open_to(cluster.scheduler_address) as sock:
        sock.sendall(hello() + framed(dumps({"op": "release", "run": "not a number"})))
        assert closed_by_peer(sock)
    still_computes(cluster, client)
