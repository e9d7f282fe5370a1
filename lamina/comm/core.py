"""Connections: the ``Comm`` interface, addresses, and the handshake.

A ``Comm`` carries whole messages (``write(msg)`` / ``await read()``) as
frame lists encoded by ``lamina.comm.wire``. ``connect`` and ``listen``
pick the transport from the address scheme (``tcp://host:port``,
``tls://host:port`` or ``inproc://name``) and run the handshake:

1. both sides send ``{"op": "hello", "protocol": ..., "wire": ..., "nonce": ...}``
   and refuse a peer speaking another protocol version;
2. both prove they hold the cluster's secret (``lamina.comm.auth``);
3. only then each sends what it says about itself (``{"op": "ready", **info}``).

Nothing received is unpickled before step 3 ends (``load_blobs`` is off
until then)::

    listener = await listen("tcp://127.0.0.1:0", handle, {"role": "scheduler"})
    comm = await connect(listener.address, {"role": "client"})
    comm.peer_info["role"]          # "scheduler"

``security`` (``lamina.comm.security.Security``) holds the secret and the
TLS files; by default it comes from the environment (``LAMINA_AUTH_SECRET``,
``LAMINA_AUTH_FILE`` or ``~/.lamina/secret``).

Until its handshake is done a connection reads under ``GREETING_LIMITS``
(a few KiB: a stranger cannot make it allocate or decode more); the
handshake then ``trust``s it with the connection's own ``WireLimits``.
A handler that fails is logged in one line and its connection closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Sequence

from lamina.comm.auth import AuthenticationError, check_nonce, exchange_proofs, new_nonce
from lamina.comm.limits import DEFAULT_LIMITS, GREETING_LIMITS, WireLimits, brief
from lamina.comm.security import HOW_TO_GIVE, SecretNotFound, Security
from lamina.comm.wire import WIRE_VERSION, WireError, dumps, frames_nbytes, loads

logger = logging.getLogger("lamina.comm")

PROTOCOL_VERSION = 2
SCHEMES = ("tcp", "tls", "inproc")
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
    if scheme not in SCHEMES:
        raise ValueError(f"unknown address scheme {scheme!r} in {address!r}: "
                         "use tcp://host:port, tls://host:port or inproc://name")
    return scheme, rest


async def handshake(comm: Comm, info: dict[str, Any], security: Security, side: str,
                    timeout: float = HANDSHAKE_TIMEOUT,
                    limits: WireLimits | None = None) -> dict[str, Any]:
    """Greet, authenticate, introduce; return the peer's info.

    The hello and the proofs are read under ``GREETING_LIMITS``; once the
    peer has proven it holds the secret the connection reads under
    ``limits`` (``DEFAULT_LIMITS``). Raises ``ProtocolError`` on a version
    mismatch or a broken greeting and ``AuthenticationError`` when the
    secrets differ; the comm is closed then.
    """
    wanted, comm.load_blobs = comm.load_blobs, False
    try:
        peer = await asyncio.wait_for(_greet_and_prove(comm, info, security, side, limits),
                                      timeout)
    except WireError as exc:
        comm.abort()
        raise ProtocolError(f"handshake with {comm.peer_address} failed: {exc}") from exc
    except asyncio.TimeoutError as exc:
        comm.abort()
        raise ProtocolError(f"no handshake from {comm.peer_address} within {timeout} s") from exc
    comm.peer_info = peer
    comm.load_blobs = wanted
    return peer


async def _greet_and_prove(comm: Comm, info: dict[str, Any], security: Security,
                           side: str, limits: WireLimits | None) -> dict[str, Any]:
    nonce = new_nonce()
    await comm.write({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                      "nonce": nonce})
    hello = await comm.read()
    if not isinstance(hello, dict) or hello.get("op") != "hello":
        comm.abort()
        raise ProtocolError(f"{comm.peer_address} did not start with a hello message")
    if hello.get("protocol") != PROTOCOL_VERSION:
        comm.abort()
        raise ProtocolError(
            f"{comm.peer_address} speaks lamina protocol {hello.get('protocol')}, this process "
            f"speaks {PROTOCOL_VERSION}: run the same lamina version everywhere")
    try:
        peer_nonce = check_nonce(hello.get("nonce"), comm.peer_address)
    except AuthenticationError:
        comm.abort()
        raise
    await exchange_proofs(comm, security.secret, side, nonce, peer_nonce)
    comm.trust(limits)
    await comm.write({**info, "op": "ready"})
    peer = await comm.read()
    if isinstance(peer, dict) and peer.get("op") == "ready":
        return peer
    comm.abort()
    if isinstance(peer, dict) and peer.get("op") == "refused":
        raise AuthenticationError(f"{comm.peer_address} refused this connection: "
                                  f"{peer.get('reason')}")
    raise ProtocolError(f"{comm.peer_address} sent no ready message after authenticating")


async def _open(scheme: str, where: str, load_blobs: bool, timeout: float,
                security: Security) -> Comm:
    if scheme in ("tcp", "tls"):
        from lamina.comm.tcp import tcp_connect

        context = None
        if scheme == "tls":
            from lamina.comm.tls import client_context

            context = client_context(security)
        return await tcp_connect(where, load_blobs, timeout, context)
    from lamina.comm.inproc import inproc_connect

    return await inproc_connect(where, load_blobs)


async def connect(address: str, info: dict[str, Any] | None = None, load_blobs: bool = True,
                  timeout: float = 10.0, security: Security | None = None,
                  limits: WireLimits | None = None) -> Comm:
    """Open a connection to ``address`` and run the handshake; then read within ``limits``.

    ``security`` defaults to ``Security.from_environment()``. A peer holding
    another secret raises ``AuthenticationError`` saying how to give the right one.
    """
    security = security or Security.from_environment()
    scheme, where = parse_address(address)
    comm = await _open(scheme, where, load_blobs, timeout, security)
    try:
        await handshake(comm, info or {}, security, "connector", timeout, limits)
    except AuthenticationError as exc:
        raise AuthenticationError(f"{exc}. To connect, {HOW_TO_GIVE}") from None
    return comm


async def connect_when_up(address: str, info: dict[str, Any] | None = None,
                          load_blobs: bool = True, timeout: float = 10.0,
                          security: Security | None = None) -> Comm:
    """``connect``, retried while nothing accepts at ``address`` yet, for up to ``timeout``.

    So a worker or client started together with its scheduler waits for it
    (and for the secret file it writes, when ``security`` is None) instead
    of failing; a peer that answers with the wrong protocol or secret fails at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await connect(address, info, load_blobs, max(deadline - loop.time(), 0.1),
                                 security)
        except (CommClosedError, SecretNotFound):
            if loop.time() + RETRY_SECONDS >= deadline:
                raise
            await asyncio.sleep(RETRY_SECONDS)


async def listen(address: str, handler: Handler, info: dict[str, Any] | None = None,
                 load_blobs: bool = False, security: Security | None = None,
                 limits: WireLimits | None = None) -> Listener:
    """Accept connections at ``address``; each runs ``handler(comm)`` after the handshake.

    ``load_blobs=False`` (the default, for the scheduler) decodes incoming
    messages without unpickling anything; ``limits`` bound what a connection
    reads once its peer has authenticated. Connections that fail the
    handshake are closed (and logged) before ``handler`` sees them; when the
    handler returns or fails the connection is closed at once, and a failure
    is logged in one line. ``security`` defaults to ``Security.from_environment()``.
    """
    info = info or {}
    security = security or Security.from_environment()

    async def accepted(comm: Comm) -> None:
        try:
            await handshake(comm, info, security, "listener", limits=limits)
            await handler(comm)
        except AuthenticationError as exc:
            logger.warning("refused a connection: %s", str(exc)[:200])
        except (ProtocolError, CommClosedError):
            pass
        except Exception as exc:
            logger.warning("closed the connection from %s: %s", comm.peer_address, brief(exc))
        finally:
            comm.abort()

    scheme, where = parse_address(address)
    if scheme in ("tcp", "tls"):
        from lamina.comm.tcp import tcp_listen

        context = None
        if scheme == "tls":
            from lamina.comm.tls import server_context

            context = server_context(security)
        return await tcp_listen(where, accepted, load_blobs, context)
    from lamina.comm.inproc import inproc_listen

    return await inproc_listen(where, accepted, load_blobs)
