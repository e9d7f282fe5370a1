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
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any, Hashable, Protocol, Sequence

import msgpack
import numpy as np

from lamina.comm.opaque import Blob, Packed, buffer_nbytes, frames_nbytes

__all__ = ["Blob", "Decoder", "Encoder", "Extension", "LargeGraphWarning", "Packed",
           "WireError", "dumps", "frames_nbytes", "loads", "nodes_of"]

WIRE_VERSION = 1
MAGIC = b"LMN"
LARGE_GRAPH_BYTES = 10 * 2**20
INLINE_PICKLE_BYTES = 64 * 2**10
RLE_MIN_LENGTH = 8

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


class WireError(ValueError):
    """A message could not be encoded or decoded."""


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


class _Mark:
    __slots__ = ("kind",)

    def __init__(self, kind: int) -> None:
        self.kind = kind


_LIST, _SET, _FROZENSET, _NODE = (_Mark(i) for i in range(4))
_MARKS = (_LIST, _SET, _FROZENSET, _NODE)
_MARK_EXT = [msgpack.ExtType(EXT_MARK, bytes([m.kind])) for m in _MARKS]
_ELLIPSIS_EXT = msgpack.ExtType(EXT_ELLIPSIS, b"")


def _packb(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


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
        self.nodes.append([_MARK_EXT[3], *fields])
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
            return [_MARK_EXT[0], *map(self.walk, obj)]
        if t is dict:
            return {self.walk(k): self.walk(v) for k, v in obj.items()}
        if t is np.ndarray:
            return self.ndarray(obj)
        if t is bytes:
            if len(obj) > INLINE_PICKLE_BYTES:
                return msgpack.ExtType(EXT_BYTES, _packb(self.frame(obj)))
            return obj
        if t is Blob:
            return self.blob(obj)
        if t is Packed:
            start = len(self.frames) + 1
            self.frames.extend(obj.frames)
            return msgpack.ExtType(EXT_PACKED, _packb((start, len(obj.frames))))
        if t is slice:
            return msgpack.ExtType(EXT_SLICE, self.pack((obj.start, obj.stop, obj.step)))
        if t is range:
            return msgpack.ExtType(EXT_RANGE, _packb((obj.start, obj.stop, obj.step)))
        if t is set or t is frozenset:
            mark = _MARK_EXT[1] if t is set else _MARK_EXT[2]
            return [mark, *map(self.walk, obj)]
        if t is complex:
            return msgpack.ExtType(EXT_COMPLEX, _packb((obj.real, obj.imag)))
        if obj is Ellipsis:
            return _ELLIPSIS_EXT
        if isinstance(obj, np.dtype):
            return msgpack.ExtType(EXT_DTYPE, self.pack(_dtype_plain(obj)))
        if isinstance(obj, np.generic) and not obj.dtype.hasobject:
            return msgpack.ExtType(EXT_SCALAR, self.pack((obj.dtype, obj.tobytes())))
        if self.extension is not None and self.extension.claims(obj):
            return msgpack.ExtType(EXT_REF, _packb(self.extension.encode(obj, self)))
        return self.blob(Blob.dump(obj))

    def pack(self, obj: Any) -> bytes:
        return _packb(self.walk(obj))

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
        return msgpack.ExtType(EXT_BLOB, _packb((data, buffers)))


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
    return msgpack.ExtType(EXT_RLE, _packb((arr[starts].tolist(), counts.tolist())))


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
    header = MAGIC + bytes([WIRE_VERSION]) + _packb([enc.nodes, body])
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


# decoding ----------------------------------------------------------------------
class Decoder:
    """One message being decoded: its frames and the objects of its node table.

    ``rows[i]`` is what row ``i`` decoded to; ``load_blobs`` says whether
    this receiver unpickles (an extension may build stand-ins when not).
    """

    def __init__(self, frames: Sequence[Any], load_blobs: bool,
                 extension: Extension | None = None) -> None:
        self.frames = frames
        self.load_blobs = load_blobs
        self.extension = extension
        self.rows: list[Any] = []
        self.value: Any = None

    def unpack(self, data: Any) -> Any:
        return msgpack.unpackb(data, raw=False, use_list=False, strict_map_key=False,
                               ext_hook=self.ext_hook, list_hook=self.list_hook)

    def frame(self, index: int) -> Any:
        if not 0 < index < len(self.frames):
            raise WireError(f"frame {index} is missing: the message has {len(self.frames)}")
        return self.frames[index]

    def ext_hook(self, code: int, data: bytes) -> Any:
        if code == EXT_NDARRAY:
            dtype, shape, order, index = self.unpack(data)
            return _array_from(self.frame(index), dtype, shape, order)
        if code == EXT_BLOB:
            inline, buffer_ids = self.unpack(data)
            payload = inline if isinstance(inline, bytes) else self.frame(inline)
            blob = Blob(payload, [self.frame(i) for i in buffer_ids])
            return blob.load() if self.load_blobs else blob
        if code == EXT_REF:
            index = self.unpack(data)
            if not 0 <= index < len(self.rows):
                raise WireError(f"reference to node row {index} before it was defined")
            return self.rows[index]
        if code == EXT_MARK:
            return _MARKS[data[0]]
        if code == EXT_RLE:
            values, counts = self.unpack(data)
            return tuple(np.repeat(np.asarray(values, dtype=np.int64),
                                   np.asarray(counts, dtype=np.int64)).tolist())
        if code == EXT_SLICE:
            return slice(*self.unpack(data))
        if code == EXT_RANGE:
            return range(*self.unpack(data))
        if code == EXT_DTYPE:
            return _dtype_from(self.unpack(data))
        if code == EXT_SCALAR:
            dtype, raw = self.unpack(data)
            return np.frombuffer(raw, dtype=dtype)[0]
        if code == EXT_COMPLEX:
            real, imag = self.unpack(data)
            return complex(real, imag)
        if code == EXT_ELLIPSIS:
            return Ellipsis
        if code == EXT_BIGINT:
            return int(data.decode())
        if code == EXT_BYTES:
            return bytes(self.frame(self.unpack(data)))
        if code == EXT_PACKED:
            start, count = self.unpack(data)
            return Packed(self.frames[start:start + count])
        raise WireError(f"unknown extension type {code}: the sender runs another lamina version")

    def list_hook(self, items: tuple) -> Any:
        if items and type(items[0]) is _Mark:
            mark = items[0]
            if mark is _LIST:
                return list(items[1:])
            if mark is _SET:
                return set(items[1:])
            if mark is _FROZENSET:
                return frozenset(items[1:])
            obj = self.node(items[1:])
            self.rows.append(obj)
            return obj
        return items

    def node(self, fields: tuple) -> Any:
        if self.extension is None:
            raise WireError("the message has a node table (e.g. a layer expression) but was "
                            "decoded without an extension: decode it with the extension "
                            "that encoded it (lamina.layers.codec.LayerCodec for layers)")
        return self.extension.decode(fields, self)


def _array_from(buf: Any, dtype: Any, shape: tuple, order: int) -> np.ndarray:
    dtype = _dtype_from(dtype)
    count = 1
    for s in shape:
        count *= s
    if count == 0 or dtype.itemsize == 0:
        return np.empty(shape, dtype=dtype)
    flat = np.frombuffer(buf, dtype=dtype, count=count)
    if order:
        return flat.reshape(shape[::-1]).T
    return flat.reshape(shape)


def _dtype_from(plain: Any) -> np.dtype:
    if isinstance(plain, str):
        return np.dtype(plain)
    if isinstance(plain, np.dtype):
        return plain
    return np.dtype([tuple(f) for f in plain[0]])


def _decode(frames: Sequence[Any], load_blobs: bool, extension: Extension | None) -> Decoder:
    if not frames:
        raise WireError("empty message")
    header = memoryview(frames[0])
    if bytes(header[:3]) != MAGIC:
        raise WireError("not a lamina message (bad magic bytes)")
    if header[3] != WIRE_VERSION:
        raise WireError(
            f"message uses wire version {header[3]}, this lamina reads version "
            f"{WIRE_VERSION}: run the same lamina version on clients, scheduler and workers")
    decoder = Decoder(frames, load_blobs, extension)
    try:
        _, decoder.value = decoder.unpack(header[4:])
    except (WireError, pickle.UnpicklingError, ImportError, AttributeError):
        raise
    except (ValueError, TypeError, KeyError, IndexError, msgpack.UnpackException) as exc:
        raise WireError(f"malformed message: {exc}") from exc
    return decoder


def loads(frames: Sequence[Any], load_blobs: bool = True,
          extension: Extension | None = None) -> Any:
    """Decode frames made by ``dumps``.

    With ``load_blobs=False`` pickled objects stay ``Blob``s and nothing is
    unpickled: the scheduler decodes this way. A message with a node table
    needs the ``extension`` that encoded it.
    """
    return _decode(frames, load_blobs, extension).value


def nodes_of(frames: Sequence[Any], load_blobs: bool = True,
             extension: Extension | None = None) -> list[Any]:
    """Every object of a message's node table, in row order (children first)."""
    return _decode(frames, load_blobs, extension).rows
