"""Connections: the ``Comm`` interface, addresses, and the version handshake.

A ``Comm`` carries whole messages (``write(msg)`` / ``await read()``) as
frame lists encoded by ``lamina.comm.wire``. ``connect`` and ``listen``
pick the transport from the address scheme (``tcp://host:port`` or
``inproc://name``) and run the handshake: both sides send
``{"op": "hello", "protocol": ..., "wire": ..., **info}`` and refuse a peer
speaking another protocol version::

    listener = await listen("tcp://127.0.0.1:0", handle, {"role": "scheduler"})
    comm = await connect(listener.address, {"role": "client"})
    comm.peer_info["role"]          # "scheduler"

Until its handshake is done a connection reads under ``GREETING_LIMITS``
(a few KiB: a stranger cannot make it allocate or decode more); the
handshake then ``trust``s it with the connection's own ``WireLimits``.
A handler that fails is logged in one line and its connection closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Sequence

from lamina.comm.limits import DEFAULT_LIMITS, GREETING_LIMITS, WireLimits, brief
from lamina.comm.wire import WIRE_VERSION, WireError, dumps, frames_nbytes, loads

logger = logging.getLogger("lamina.comm")

PROTOCOL_VERSION = 1
HANDSHAKE_TIMEOUT = 10.0
RETRY_SECONDS = 0.1


class CommClosedError(ConnectionError):
    """The other end closed the connection (or it broke)."""


class ProtocolError(ConnectionError):
    """The peer speaks another protocol or wire version."""


class Comm:
    """A bidirectional, ordered stream of messages to one peer."""

    def __init__(self, load_blobs: bool) -> None:
        self.load_blobs = load_blobs
        self.limits: WireLimits = GREETING_LIMITS
        self.bytes_read = 0
        self.bytes_written = 0
        self.peer_info: dict[str, Any] = {}

    async def read(self) -> Any:
        """The next message, decoded (blobs loaded only if ``load_blobs``)."""
        frames = await self.read_frames()
        self.bytes_read += framed_nbytes(frames)
        return loads(frames, load_blobs=self.load_blobs, limits=self.limits)

    def trust(self, limits: WireLimits | None = None) -> None:
        """Lift the greeting limits to ``limits`` (``DEFAULT_LIMITS``): the peer is known now.

        Called when the handshake (and authentication, where configured) succeeded.
        """
        self.limits = limits or DEFAULT_LIMITS

    async def write(self, msg: Any, warn_above: int | None = None) -> int:
        """Encode and send ``msg``; return the bytes put on the wire."""
        frames = dumps(msg, warn_above=warn_above)
        await self.write_frames(frames)
        n = framed_nbytes(frames)
        self.bytes_written += n
        return n

    async def read_frames(self) -> list[Any]:
        raise NotImplementedError

    async def write_frames(self, frames: Sequence[Any]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    @property
    def peer_address(self) -> str:
        raise NotImplementedError


class Listener:
    """Accepts connections at ``address`` and hands each one to a handler."""

    address: str

    async def stop(self) -> None:
        raise NotImplementedError


Handler = Callable[[Comm], Awaitable[None]]


def framed_nbytes(frames: Sequence[Any]) -> int:
    """Bytes a frame list takes on a stream: count, lengths, then the frames."""
    return 8 + 8 * len(frames) + frames_nbytes(frames)


def parse_address(address: str) -> tuple[str, str]:
    """``"tcp://h:p"`` -> ``("tcp", "h:p")``; a bare ``h:p`` means TCP."""
    if "://" not in address:
        return "tcp", address
    scheme, rest = address.split("://", 1)
    if scheme not in ("tcp", "inproc"):
        raise ValueError(f"unknown address scheme {scheme!r} in {address!r}: "
                         "use tcp://host:port or inproc://name")
    return scheme, rest


async def handshake(comm: Comm, info: dict[str, Any], timeout: float = HANDSHAKE_TIMEOUT,
                    limits: WireLimits | None = None) -> dict[str, Any]:
    """Exchange hello messages; raise ``ProtocolError`` on a version mismatch.

    The peer's hello is read under ``GREETING_LIMITS``; afterwards the
    connection reads under ``limits`` (``DEFAULT_LIMITS``).
    """
    hello = {"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION, **info}
    try:
        await comm.write(hello)
        peer = await asyncio.wait_for(comm.read(), timeout)
    except WireError as exc:
        comm.abort()
        raise ProtocolError(f"handshake with {comm.peer_address} failed: {exc}") from exc
    except asyncio.TimeoutError as exc:
        comm.abort()
        raise ProtocolError(f"no hello from {comm.peer_address} within {timeout} s") from exc
    if not isinstance(peer, dict) or peer.get("op") != "hello":
        comm.abort()
        raise ProtocolError(f"{comm.peer_address} did not start with a hello message")
    if peer.get("protocol") != PROTOCOL_VERSION:
        comm.abort()
        raise ProtocolError(
            f"{comm.peer_address} speaks lamina protocol {peer.get('protocol')}, this process "
            f"speaks {PROTOCOL_VERSION}: run the same lamina version everywhere")
    comm.peer_info = peer
    comm.trust(limits)
    return peer


async def connect(address: str, info: dict[str, Any] | None = None, load_blobs: bool = True,
                  timeout: float = 10.0, limits: WireLimits | None = None) -> Comm:
    """Open a connection to ``address`` and run the handshake; then read within ``limits``."""
    scheme, where = parse_address(address)
    if scheme == "tcp":
        from lamina.comm.tcp import tcp_connect

        comm: Comm = await tcp_connect(where, load_blobs, timeout)
    else:
        from lamina.comm.inproc import inproc_connect

        comm = await inproc_connect(where, load_blobs)
    await handshake(comm, info or {}, timeout, limits)
    return comm


async def connect_when_up(address: str, info: dict[str, Any] | None = None,
                          load_blobs: bool = True, timeout: float = 10.0) -> Comm:
    """``connect``, retried while nothing accepts at ``address`` yet, for up to ``timeout``.

    So a worker or client started together with its scheduler waits for it
    instead of failing; a peer that answers with the wrong protocol fails at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await connect(address, info, load_blobs, max(deadline - loop.time(), 0.1))
        except CommClosedError:
            if loop.time() + RETRY_SECONDS >= deadline:
                raise
            await asyncio.sleep(RETRY_SECONDS)


async def listen(address: str, handler: Handler, info: dict[str, Any] | None = None,
                 load_blobs: bool = False, limits: WireLimits | None = None) -> Listener:
    """Accept connections at ``address``; each runs ``handler(comm)`` after the handshake.

    ``load_blobs=False`` (the default, for the scheduler) decodes incoming
    messages without unpickling anything; ``limits`` bound what a connection
    reads once its handshake is done. When the handler returns or fails the
    connection is closed at once; a failure is logged in one line.
    """
    info = info or {}

    async def accepted(comm: Comm) -> None:
        try:
            await handshake(comm, info, limits=limits)
            await handler(comm)
        except (ProtocolError, CommClosedError):
            pass
        except Exception as exc:
            logger.warning("closed the connection from %s: %s", comm.peer_address, brief(exc))
        finally:
            comm.abort()

    scheme, where = parse_address(address)
    if scheme == "tcp":
        from lamina.comm.tcp import tcp_listen

        return await tcp_listen(where, accepted, load_blobs)
    from lamina.comm.inproc import inproc_listen

    return await inproc_listen(where, accepted, load_blobs)
