"""The constants of the wire format, shared by its encoder and its decoder.

``frames[0]`` of a message starts with ``MAGIC`` and ``WIRE_VERSION``; the
msgpack extension type codes below name what is not plain msgpack. A list,
set, frozenset or node-table row is a msgpack array led by a mark.
"""

from __future__ import annotations

from typing import Any

import msgpack

WIRE_VERSION = 1
MAGIC = b"LMN"

EXT_NDARRAY = 1
EXT_BLOB = 2
EXT_REF = 3
EXT_MARK = 4
EXT_RLE = 5
EXT_SLICE = 6
EXT_DTYPE = 7
EXT_SCALAR = 8
EXT_COMPLEX = 9
EXT_ELLIPSIS = 10
EXT_BIGINT = 11
EXT_BYTES = 12
EXT_PACKED = 13
EXT_RANGE = 14


class Mark:
    """What a marked msgpack array stands for (see the module docstring)."""

    __slots__ = ("kind",)

    def __init__(self, kind: int) -> None:
        self.kind = kind


LIST, SET, FROZENSET, NODE = (Mark(i) for i in range(4))
MARKS = (LIST, SET, FROZENSET, NODE)
MARK_EXT = [msgpack.ExtType(EXT_MARK, bytes([m.kind])) for m in MARKS]
ELLIPSIS_EXT = msgpack.ExtType(EXT_ELLIPSIS, b"")


def packb(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)
