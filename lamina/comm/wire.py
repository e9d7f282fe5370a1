"""The value codec: a message is one msgpack header plus raw buffers.

    frames = dumps({"op": "compute", "tasks": np.arange(5)})
    msg = loads(frames)                   # the array comes back without a copy

``frames[0]`` is the header: a 4-byte prefix (magic and wire version), then
``[nodes, value]`` in msgpack. Every other frame is a raw buffer the header
points at: a NumPy array travels as its own memory (out of band, never
copied into msgpack), and so do the buffers of pickled objects.

Plain values keep their Python type: tuples are msgpack arrays; lists,
sets and frozensets are arrays led by a marker; slices, dtypes, NumPy
scalars, complex numbers, ranges, Ellipsis and big integers are small
extension types. A long tuple of integers (block sizes along an axis) is
run-length encoded, so a million regular chunks cost a few bytes.

Anything else (user functions, custom objects, exceptions) becomes a
``Blob`` of pickled bytes (cloudpickle when installed). A receiver that
decodes with ``load_blobs=False`` — the scheduler — keeps blobs opaque and
forwards them byte for byte; workers and clients load them. ``Packed``
carries an already encoded message inside another one, untouched.

The codec knows no lamina types. An ``Extension`` teaches it others: it
claims objects while encoding and sends each as a row of the message's
node table (``nodes``), shared objects once, children before parents; a
reference to a row is a small extension type. The expression codec
(``lamina.layers.codec.LayerCodec``) sends layers this way::

    frames = dumps({"roots": (layer,)}, extension=LayerCodec())
    loads(frames, extension=LayerCodec())["roots"][0]      # the same layer

Decoding (``lamina.comm.decoding``) is bounded by ``WireLimits``
(``lamina.comm.limits``): a message from outside cannot make the receiver
recurse, allocate or expand beyond them.
"""

from __future__ import annotations

import warnings
from typing import Any, Hashable, Protocol

import msgpack
import numpy as np

from lamina.comm.decoding import Decoder, loads, nodes_of
from lamina.comm.format import (
    ELLIPSIS_EXT,
    EXT_BIGINT,
    EXT_BLOB,
    EXT_BYTES,
    EXT_COMPLEX,
    EXT_DTYPE,
    EXT_NDARRAY,
    EXT_PACKED,
    EXT_RANGE,
    EXT_REF,
    EXT_RLE,
    EXT_SCALAR,
    EXT_SLICE,
    MAGIC,
    MARK_EXT,
    WIRE_VERSION,
    packb,
)
from lamina.comm.limits import DEFAULT_LIMITS, WireError, WireLimits
from lamina.comm.opaque import Blob, Packed, buffer_nbytes, frames_nbytes

__all__ = ["DEFAULT_LIMITS", "MAGIC", "WIRE_VERSION", "Blob", "Decoder", "Encoder", "Extension",
           "LargeGraphWarning", "Packed", "WireError", "WireLimits", "dumps", "frames_nbytes",
           "loads", "nodes_of"]

LARGE_GRAPH_BYTES = 10 * 2**20
INLINE_PICKLE_BYTES = 64 * 2**10
RLE_MIN_LENGTH = 8


class LargeGraphWarning(UserWarning):
    """A message with a node table is larger than ``LARGE_GRAPH_BYTES``."""


class Extension(Protocol):
    """Teaches the codec objects it does not know, sent as node-table rows.

    ``claims(obj)`` is asked of every value the codec cannot encode itself
    (before it would pickle it). ``encode(obj, encoder)`` adds the rows obj
    needs with ``encoder.add_row`` (looking in ``encoder.rows`` first, so a
    shared object is sent once; a row only refers to rows added before it,
    as ``encoder.walk(child)`` does) and returns obj's row index. While
    decoding, ``decode(fields, decoder)`` is called for each row in order,
    its fields already decoded (references to earlier rows are the objects
    built for them); what it returns is what references to that row become.
    """

    def claims(self, obj: Any) -> bool: ...

    def encode(self, obj: Any, encoder: "Encoder") -> int: ...

    def decode(self, fields: tuple, decoder: "Decoder") -> Any: ...


# encoding ----------------------------------------------------------------------
class Encoder:
    """One message being encoded: its frames and its node table.

    An extension calls ``walk(value)`` for the encoded form of a value it
    puts in a row, and ``add_row`` to append a row.
    """

    def __init__(self, extension: Extension | None = None) -> None:
        self.frames: list[Any] = []
        self.nodes: list[Any] = []
        self.rows: dict[Hashable, int] = {}
        self.extension = extension
        self.memo: dict[int, tuple[Any, Any]] = {}

    def frame(self, buf: Any) -> int:
        self.frames.append(buf)
        return len(self.frames)

    def add_row(self, key: Hashable, fields: list[Any]) -> int:
        """Append a row of encoded ``fields`` known as ``key``; its index."""
        index = len(self.nodes)
        self.nodes.append([MARK_EXT[3], *fields])
        self.rows[key] = index
        return index

    def walk(self, obj: Any) -> Any:
        """The msgpack form of ``obj``, buffers and rows added as needed."""
        t = type(obj)
        if t is str or t is float or t is bool or obj is None:
            return obj
        if t is int:
            if -(2**63) <= obj < 2**64:
                return obj
            return msgpack.ExtType(EXT_BIGINT, str(obj).encode())
        if t is tuple:
            return self.tuple(obj)
        if t is list:
            return [MARK_EXT[0], *map(self.walk, obj)]
        if t is dict:
            return {self.walk(k): self.walk(v) for k, v in obj.items()}
        if t is np.ndarray:
            return self.ndarray(obj)
        if t is bytes:
            if len(obj) > INLINE_PICKLE_BYTES:
                return msgpack.ExtType(EXT_BYTES, packb(self.frame(obj)))
            return obj
        if t is Blob:
            return self.blob(obj)
        if t is Packed:
            start = len(self.frames) + 1
            self.frames.extend(obj.frames)
            return msgpack.ExtType(EXT_PACKED, packb((start, len(obj.frames))))
        if t is slice:
            return msgpack.ExtType(EXT_SLICE, self.pack((obj.start, obj.stop, obj.step)))
        if t is range:
            return msgpack.ExtType(EXT_RANGE, packb((obj.start, obj.stop, obj.step)))
        if t is set or t is frozenset:
            mark = MARK_EXT[1] if t is set else MARK_EXT[2]
            return [mark, *map(self.walk, obj)]
        if t is complex:
            return msgpack.ExtType(EXT_COMPLEX, packb((obj.real, obj.imag)))
        if obj is Ellipsis:
            return ELLIPSIS_EXT
        if isinstance(obj, np.dtype):
            return msgpack.ExtType(EXT_DTYPE, self.pack(_dtype_plain(obj)))
        if isinstance(obj, np.generic) and not obj.dtype.hasobject:
            return msgpack.ExtType(EXT_SCALAR, self.pack((obj.dtype, obj.tobytes())))
        if self.extension is not None and self.extension.claims(obj):
            return msgpack.ExtType(EXT_REF, packb(self.extension.encode(obj, self)))
        return self.blob(Blob.dump(obj))

    def pack(self, obj: Any) -> bytes:
        return packb(self.walk(obj))

    def tuple(self, obj: tuple) -> Any:
        if len(obj) >= RLE_MIN_LENGTH:
            key = id(obj)
            hit = self.memo.get(key)
            if hit is not None and hit[0] is obj:
                return hit[1]
            out = _rle(obj)
            if out is None:
                out = [self.walk(x) for x in obj]
            self.memo[key] = (obj, out)
            return out
        return [self.walk(x) for x in obj]

    def ndarray(self, a: np.ndarray) -> Any:
        if a.dtype.hasobject:
            return self.blob(Blob.dump(a))
        order = 0
        if a.flags.c_contiguous:
            data = a
        elif a.flags.f_contiguous:
            data, order = a.T, 1
        else:
            data = np.ascontiguousarray(a)
        buf = memoryview(data.reshape(-1).view(np.uint8)) if data.nbytes else b""
        head = (_dtype_plain(a.dtype), a.shape, order, self.frame(buf))
        return msgpack.ExtType(EXT_NDARRAY, self.pack(head))

    def blob(self, blob: Blob) -> Any:
        data: Any = blob.data
        if buffer_nbytes(data) > INLINE_PICKLE_BYTES:
            data = self.frame(data)
        else:
            data = bytes(data)
        buffers = [self.frame(b) for b in blob.buffers]
        return msgpack.ExtType(EXT_BLOB, packb((data, buffers)))


def _rle(values: tuple) -> Any:
    """Run-length form of a long tuple of Python ints, or None if not smaller."""
    if set(map(type, values)) != {int}:
        return None
    try:
        arr = np.fromiter(values, dtype=np.int64, count=len(values))
    except OverflowError:
        return None
    starts = np.flatnonzero(np.concatenate(([True], arr[1:] != arr[:-1])))
    if 2 * len(starts) >= len(values):
        return None
    counts = np.diff(np.append(starts, len(values)))
    return msgpack.ExtType(EXT_RLE, packb((arr[starts].tolist(), counts.tolist())))


def _dtype_plain(dtype: np.dtype) -> Any:
    if dtype.fields is None and dtype.subdtype is None:
        return dtype.str
    return [dtype.descr]


def dumps(value: Any, extension: Extension | None = None,
          warn_above: int | None = LARGE_GRAPH_BYTES) -> list[Any]:
    """Encode ``value`` into frames: ``[header, *buffers]``.

    ``extension`` encodes the objects it claims as node-table rows (see
    ``Extension``); without one they are pickled like any other object. A
    message with a node table larger than ``warn_above`` bytes raises
    ``LargeGraphWarning``.
    """
    enc = Encoder(extension)
    body = enc.walk(value)
    header = MAGIC + bytes([WIRE_VERSION]) + packb([enc.nodes, body])
    frames = [header, *enc.frames]
    if enc.nodes and warn_above is not None:
        size = frames_nbytes(frames)
        if size > warn_above:
            warnings.warn(
                f"this computation's graph message is {size / 2**20:.1f} MiB: large "
                "in-memory data is embedded in it (from_array of a big array, or big "
                "constants in functions); read the data from storage inside the "
                "computation (e.g. from_zarr) or persist it once and reuse the result",
                LargeGraphWarning, stacklevel=2)
    return frames

