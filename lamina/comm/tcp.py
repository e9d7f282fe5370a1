"""TCP transport on Tornado: length-prefixed frames, zero-copy buffers.

A message on the stream is ``n`` (8 bytes, little endian), ``n`` frame
lengths (8 bytes each), then the frames. Small frames are joined into one
write; a large frame (a NumPy array's memory) is handed to the socket as
is, and read back straight into its own buffer with ``read_into``, so an
array crosses the wire without being copied in Python. Received frames are
writable ``bytearray``s: arrays decoded from them belong to the receiver.

With an ``ssl.SSLContext`` (``tls://`` addresses, ``lamina.comm.tls``)
the same frames travel inside TLS: Tornado's ``TCPServer`` and
``TCPClient`` take the context as ``ssl_options``.

The announced frame count and lengths are checked against the connection's
``limits`` before anything is read or allocated, and a frame larger than
``PREALLOCATE_BYTES`` grows as its bytes arrive: a peer that announces
a gigabyte and sends nothing costs the receiver nothing.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from typing import Any, Awaitable, Callable, Sequence

from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_sockets
from tornado.tcpclient import TCPClient
from tornado.tcpserver import TCPServer

from lamina.comm.core import Comm, CommClosedError, Listener, ProtocolError
from lamina.comm.limits import WireError, WireLimits

SMALL_FRAME = 64 * 2**10
PREALLOCATE_BYTES = 8 * 2**20
MAX_BUFFER = 2**40


class TLSError(ProtocolError):
    """The TLS handshake failed: an untrusted certificate, or none where one is required."""


def _split_hostport(where: str) -> tuple[str, int]:
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"TCP address {where!r} is not host:port")
    return host.strip("[]"), int(port)


class TCPComm(Comm):
    """One Tornado ``IOStream`` speaking length-prefixed frame lists."""

    def __init__(self, stream: IOStream, peer: str, load_blobs: bool) -> None:
        super().__init__(load_blobs)
        self.stream = stream
        self._peer = peer
        stream.set_nodelay(True)

    @property
    def peer_address(self) -> str:
        return self._peer

    @property
    def closed(self) -> bool:
        return self.stream.closed()

    async def read_frames(self) -> list[Any]:
        try:
            return await self._read_frames()
        except WireError:
            self.abort()
            raise
        except (StreamClosedError, ssl.SSLError) as exc:
            raise _closed(exc, self._peer) from exc

    async def _read_frames(self) -> list[Any]:
        stream, limits = self.stream, self.limits
        (n,) = struct.unpack("<Q", await stream.read_bytes(8))
        if n > limits.max_frames:
            raise WireError(f"{self._peer} announces a message of {n} frames, more than "
                            f"{limits.max_frames} (WireLimits.max_frames)")
        lengths = struct.unpack(f"<{n}Q", await stream.read_bytes(8 * n)) if n else ()
        _check_lengths(lengths, limits, self._peer)
        total = sum(lengths)
        if total <= SMALL_FRAME:
            data = memoryview(await stream.read_bytes(total)) if total else memoryview(b"")
            frames, pos = [], 0
            for length in lengths:
                frames.append(bytearray(data[pos:pos + length]))
                pos += length
            return frames
        return [await self._read_frame(length) for length in lengths]

    async def _read_frame(self, length: int) -> bytearray:
        """One frame; beyond ``PREALLOCATE_BYTES`` the buffer doubles as bytes arrive."""
        buf = bytearray(min(length, PREALLOCATE_BYTES))
        if buf:
            await self.stream.read_into(buf)
        while len(buf) < length:
            chunk = bytearray(min(length - len(buf), len(buf)))
            await self.stream.read_into(chunk)
            buf += chunk
        return buf

    async def write_frames(self, frames: Sequence[Any]) -> None:
        lengths = [f.nbytes if isinstance(f, memoryview) else len(f) for f in frames]
        small: list[Any] = [struct.pack(f"<Q{len(frames)}Q", len(frames), *lengths)]
        try:
            future = None
            for frame, length in zip(frames, lengths):
                if length <= SMALL_FRAME:
                    small.append(frame)
                    continue
                future = self.stream.write(b"".join(small))
                small = []
                future = self.stream.write(frame)
            if small:
                future = self.stream.write(b"".join(small))
            await future
        except (StreamClosedError, ssl.SSLError) as exc:
            raise _closed(exc, self._peer) from exc

    async def close(self) -> None:
        self.stream.close()

    def abort(self) -> None:
        self.stream.close()


def _check_lengths(lengths: Sequence[int], limits: WireLimits, peer: str) -> None:
    total = sum(lengths)
    if total > limits.max_message_bytes:
        raise WireError(f"{peer} announces a message of {total} bytes, more than "
                        f"{limits.max_message_bytes} (WireLimits.max_message_bytes)")
    if lengths and lengths[0] > limits.max_header_bytes:
        raise WireError(f"{peer} announces a header of {lengths[0]} bytes, more than "
                        f"{limits.max_header_bytes} (WireLimits.max_header_bytes)")


class _Server(TCPServer):
    def __init__(self, accepted: Callable[[Comm], Awaitable[None]], load_blobs: bool,
                 scheme: str, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(max_buffer_size=MAX_BUFFER, ssl_options=ssl_context)
        self.accepted = accepted
        self.load_blobs = load_blobs
        self.scheme = scheme
        self.tasks: set[asyncio.Task] = set()

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        peer = (f"{self.scheme}://{address[0]}:{address[1]}" if isinstance(address, tuple)
                else str(address))
        comm = TCPComm(stream, peer, self.load_blobs)
        task = asyncio.ensure_future(self.accepted(comm))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def _closed(exc: Exception, peer: str) -> ConnectionError:
    """The error a broken stream raises: ``TLSError`` when TLS refused the peer."""
    tls_failure = exc if isinstance(exc, ssl.SSLError) else getattr(exc, "real_error", None)
    if isinstance(tls_failure, ssl.SSLError):
        return TLSError(f"TLS with {peer} failed: {tls_failure}")
    return CommClosedError(f"connection to {peer} closed")


class TCPListener(Listener):
    def __init__(self, server: _Server, host: str, port: int) -> None:
        self.server = server
        self.address = f"{server.scheme}://{host}:{port}"

    async def stop(self) -> None:
        self.server.stop()


async def tcp_listen(where: str, accepted: Callable[[Comm], Awaitable[None]],
                     load_blobs: bool, ssl_context: ssl.SSLContext | None = None) -> TCPListener:
    """Listen at ``host:port`` (TLS with ``ssl_context``); ``accepted(comm)`` per connection."""
    host, port = _split_hostport(where)
    sockets = bind_sockets(port, address=host, family=socket.AF_INET if ":" not in host
                           else socket.AF_UNSPEC)
    server = _Server(accepted, load_blobs, "tls" if ssl_context else "tcp", ssl_context)
    server.add_sockets(sockets)
    return TCPListener(server, host, sockets[0].getsockname()[1])


async def tcp_connect(where: str, load_blobs: bool, timeout: float,
                      ssl_context: ssl.SSLContext | None = None) -> TCPComm:
    """Connect to ``host:port`` (TLS with ``ssl_context``, which checks ``host``)."""
    host, port = _split_hostport(where)
    scheme = "tls" if ssl_context else "tcp"
    try:
        stream = await TCPClient().connect(host, port, timeout=timeout,
                                           max_buffer_size=MAX_BUFFER, ssl_options=ssl_context)
    except (ssl.SSLError, StreamClosedError) as exc:
        error = _closed(exc, f"{scheme}://{where}")
        if isinstance(error, TLSError):
            raise error from exc
        raise CommClosedError(f"could not connect to {scheme}://{where}: {exc}") from exc
    except (OSError, asyncio.TimeoutError) as exc:
        raise CommClosedError(f"could not connect to {scheme}://{where}: {exc}") from exc
    return TCPComm(stream, f"{scheme}://{where}", load_blobs)
