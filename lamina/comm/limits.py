"""How much a peer may make a receiver decode: checked before anything is allocated.

A message comes from outside, so its size, its nesting and the counts it
announces are bounded before the receiver builds anything from them::

    loads(frames)                                   # DEFAULT_LIMITS
    loads(frames, limits=WireLimits(max_depth=8))   # stricter
    comm.limits                                     # GREETING_LIMITS until the handshake ends

``GREETING_LIMITS`` hold before a connection's handshake is done: a
stranger's first message is a few KiB at most. ``Comm.trust()`` lifts a
connection to its own limits (``DEFAULT_LIMITS`` unless given) once the
handshake (and authentication, where configured) succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass


class WireError(ValueError):
    """A message could not be encoded or decoded."""


@dataclass(frozen=True)
class WireLimits:
    """Bounds on one message; every violation is a ``WireError``.

    ``max_message_bytes``: all frames together, checked from the announced
    lengths before any frame is read. ``max_frames``: frames in a message.
    ``max_header_bytes``: the msgpack header (everything but raw buffers).
    ``max_depth``: nesting of containers and extension types (a tuple in a
    list in a slice is 3 deep); the parser never descends more than 2,000
    levels, whatever this says. ``max_items``: elements of all containers
    together, run-length encoded tuples counted expanded. A NumPy array's
    declared shape and dtype must match its buffer's size exactly.
    """

    max_message_bytes: int = 16 * 2**30
    max_frames: int = 2**20
    max_header_bytes: int = 128 * 2**20
    max_depth: int = 64
    max_items: int = 2**24

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"WireLimits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = WireLimits()
GREETING_LIMITS = WireLimits(max_message_bytes=8 * 2**10, max_frames=4,
                             max_header_bytes=8 * 2**10, max_depth=16, max_items=4096)


def brief(exc: BaseException, limit: int = 200) -> str:
    """``"Type: message"`` of ``exc``, cut to ``limit`` characters: a peer chooses
    what goes into the messages of errors it causes, and logs stay one short line."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."
