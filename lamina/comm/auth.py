"""Mutual authentication by HMAC challenge-response over a shared secret.

After the version greeting, in which each side sends a fresh random nonce,
each side proves that it knows the secret without sending it::

    proof = HMAC-SHA256(secret, "lamina-auth-v2" | side | own nonce | peer nonce)

``side`` is ``connector`` or ``listener``, so a proof made by one side is
never valid for the other (no reflection), and both nonces are fresh per
connection, so a recorded proof is worthless later (no replay). Each side
checks the other's proof with ``hmac.compare_digest`` and only then sends
anything about itself; a side that finds a wrong proof says so and closes.
Until then nothing received is unpickled (``Comm.load_blobs`` is off).

The proofs authenticate the two ends of one connection, not each message
after it: on a network where someone may sit between the processes, use
TLS too (``tls://`` addresses), see docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

DOMAIN = b"lamina-auth-v2"
NONCE_BYTES = 32
SIDES = ("connector", "listener")


class AuthenticationError(ConnectionError):
    """The peer does not hold the same secret (or refused ours)."""


def new_nonce() -> bytes:
    """A fresh challenge for one connection."""
    return secrets.token_bytes(NONCE_BYTES)


def check_nonce(nonce: Any, peer: str) -> bytes:
    """The peer's nonce as bytes; raise ``AuthenticationError`` if it is not one."""
    if isinstance(nonce, (bytes, bytearray, memoryview)) and len(nonce) == NONCE_BYTES:
        return bytes(nonce)
    raise AuthenticationError(f"{peer} sent no valid authentication challenge: it is not "
                              "a lamina process of this version")


def proof(secret: bytes, side: str, own_nonce: bytes, peer_nonce: bytes) -> bytes:
    """What ``side`` sends to prove it knows ``secret`` on this connection."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    message = b"|".join((DOMAIN, side.encode(), own_nonce, peer_nonce))
    return hmac.new(secret, message, hashlib.sha256).digest()


def valid_proof(secret: bytes, peer_side: str, peer_nonce: bytes, own_nonce: bytes,
                received: Any) -> bool:
    """Whether ``received`` is the peer's proof on this connection (constant time)."""
    if not isinstance(received, (bytes, bytearray, memoryview)):
        return False
    expected = proof(secret, peer_side, peer_nonce, own_nonce)
    return hmac.compare_digest(expected, bytes(received))


def other_side(side: str) -> str:
    return SIDES[1 - SIDES.index(side)]


async def exchange_proofs(comm: Any, secret: bytes, side: str, own_nonce: bytes,
                          peer_nonce: bytes) -> None:
    """Send our proof, check the peer's; on a wrong one tell the peer, close, and
    raise ``AuthenticationError``."""
    await comm.write({"op": "auth", "proof": proof(secret, side, own_nonce, peer_nonce)})
    reply = await comm.read()
    if isinstance(reply, dict) and reply.get("op") == "auth" and valid_proof(
            secret, other_side(side), peer_nonce, own_nonce, reply.get("proof")):
        return
    try:
        await comm.write({"op": "refused", "reason": "authentication failed"})
    finally:
        comm.abort()
    raise AuthenticationError(f"authentication with {comm.peer_address} failed: it does not "
                              "hold the same lamina secret as this process")
