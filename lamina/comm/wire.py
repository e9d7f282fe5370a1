"""The wire format: a message is one msgpack header plus raw buffers.

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

Layers travel as a node table: one row ``[type, params, children, token,
chunks, dtype]`` per distinct layer (shared subtrees once), children
before parents, a child inside ``params`` being a reference to its row. A
trusted type (``lamina.layers.registry``) is rebuilt from its params; any
other type travels *lowered*: its class as a blob and its block
dependencies as integer arrays, so a scheduler can plan it without running
its code.

Anything else (user functions, custom objects, exceptions) becomes a
``Blob`` of pickled bytes (cloudpickle when installed). A receiver that
decodes with ``load_blobs=False`` — the scheduler — keeps blobs opaque and
forwards them byte for byte; workers and clients load them. ``Packed``
carries an already encoded message inside another one, untouched.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from typing import Any, Callable, Sequence

import msgpack
import numpy as np

from lamina.layers.base import Layer

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

LOWERED = "~lowered"

try:
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - cloudpickle ships with dask
    _pickler = pickle


class WireError(ValueError):
    """A message could not be encoded or decoded."""


class LargeGraphWarning(UserWarning):
    """A message carrying an expression is larger than ``LARGE_GRAPH_BYTES``."""


class Blob:
    """Pickled bytes of an object, opaque until ``load()``.

    ``Blob.dump(obj)`` pickles with protocol 5, so NumPy arrays inside the
    object stay out of band in ``buffers`` (sent as frames, not copied).
    """

    __slots__ = ("data", "buffers")

    def __init__(self, data: bytes, buffers: Sequence[Any] = ()) -> None:
        self.data = data
        self.buffers = tuple(buffers)

    @classmethod
    def dump(cls, obj: Any) -> "Blob":
        buffers: list = []
        data = _pickler.dumps(obj, protocol=5, buffer_callback=buffers.append)
        return cls(data, [b.raw() for b in buffers])

    def load(self) -> Any:
        return pickle.loads(self.data, buffers=self.buffers)

    @property
    def nbytes(self) -> int:
        return _nbytes(self.data) + sum(_nbytes(b) for b in self.buffers)

    @property
    def _token(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(self.data)
        for b in self.buffers:
            h.update(b)
        return "blob-" + h.hexdigest()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Blob) and bytes(self.data) == bytes(other.data)
                and [bytes(b) for b in self.buffers] == [bytes(b) for b in other.buffers])

    def __hash__(self) -> int:
        return hash(self._token)

    def __repr__(self) -> str:
        return f"Blob<{self.nbytes} bytes>"

    def __reduce__(self) -> Any:
        raise TypeError("a Blob is sent by the wire format, never pickled")


class Packed:
    """An encoded message carried inside another one, frames untouched."""

    __slots__ = ("frames",)

    def __init__(self, frames: Sequence[Any]) -> None:
        self.frames = list(frames)

    @property
    def nbytes(self) -> int:
        return frames_nbytes(self.frames)

    def __repr__(self) -> str:
        return f"Packed<{len(self.frames)} frames, {self.nbytes} bytes>"


class _Mark:
    __slots__ = ("kind",)

    def __init__(self, kind: int) -> None:
        self.kind = kind


_LIST, _SET, _FROZENSET, _NODE = (_Mark(i) for i in range(4))
_MARKS = (_LIST, _SET, _FROZENSET, _NODE)
_MARK_EXT = [msgpack.ExtType(EXT_MARK, bytes([m.kind])) for m in _MARKS]
_ELLIPSIS_EXT = msgpack.ExtType(EXT_ELLIPSIS, b"")


def _nbytes(buf: Any) -> int:
    return buf.nbytes if isinstance(buf, memoryview) else len(buf)


def frames_nbytes(frames: Sequence[Any]) -> int:
    """Total size of a list of frames in bytes."""
    return sum(_nbytes(f) for f in frames)


def _packb(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _locally_trusted(layer: Layer) -> bool:
    from lamina.layers.registry import is_trusted

    return is_trusted(type(layer))


# encoding ----------------------------------------------------------------------
class _Encoder:
    def __init__(self, trusted: Callable[[Layer], bool]) -> None:
        self.frames: list[Any] = []
        self.nodes: list[Any] = []
        self.node_index: dict[str, int] = {}
        self.trusted = trusted
        self.memo: dict[int, tuple[Any, Any]] = {}
        self.closed: dict[str, bool] = {}

    def frame(self, buf: Any) -> int:
        self.frames.append(buf)
        return len(self.frames)

    def walk(self, obj: Any) -> Any:
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
        if isinstance(obj, Layer):
            return msgpack.ExtType(EXT_REF, _packb(self.node(obj)))
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
        if _nbytes(data) > INLINE_PICKLE_BYTES:
            data = self.frame(data)
        else:
            data = bytes(data)
        buffers = [self.frame(b) for b in blob.buffers]
        return msgpack.ExtType(EXT_BLOB, _packb((data, buffers)))

    def node(self, layer: Layer) -> int:
        index = self.node_index.get(layer.name)
        if index is not None:
            return index
        for child in _children_first(layer, self.node_index):
            self.encode_node(child)
        return self.node_index[layer.name]

    def as_params(self, layer: Layer) -> bool:
        """Trusted, and so is every layer under its non-dependency operands
        (a fused group's members), since its ``block_deps`` walks them."""
        if not self.trusted(layer):
            return False
        deps = {d.name for d in layer.dependencies}
        return all(self.closed[m.name] for m in _layer_operands(layer) if m.name not in deps)

    def encode_node(self, layer: Layer) -> None:
        children = [self.node_index[d.name] for d in layer.dependencies]
        chunks, dtype = self.walk(layer.chunks), self.walk(layer.dtype)
        params_ok = self.as_params(layer)
        self.closed[layer.name] = params_ok and all(
            self.closed[m.name] for m in _layer_operands(layer))
        if params_ok:
            params = [self.walk(op) for op in layer.operands]
            row = [_MARK_EXT[3], type(layer).__name__, params, children, layer.name, chunks, dtype]
        else:
            tables = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))
            lowered = {
                "cls": self.blob(Blob.dump(type(layer))),
                "label": layer.label(),
                "operands": [self.walk(op) for op in layer.operands],
                "deps": [(self.walk(np.asarray(p)), self.walk(np.asarray(i)))
                         for p, i in tables],
            }
            row = [_MARK_EXT[3], LOWERED, lowered, children, layer.name, chunks, dtype]
        self.node_index[layer.name] = len(self.nodes)
        self.nodes.append(row)


def _children_first(root: Layer, done: dict[str, int]) -> list[Layer]:
    """Layers under ``root`` (itself last) not yet encoded, children first."""
    order: list[Layer] = []
    seen: set[str] = set(done)
    stack: list[tuple[Layer, list[Layer] | None]] = [(root, None)]
    while stack:
        layer, pending = stack.pop()
        if pending is None:
            if layer.name in seen:
                continue
            pending = [d for d in _layer_operands(layer) if d.name not in seen]
            pending.reverse()
        if pending:
            child = pending.pop()
            stack.append((layer, pending))
            if child.name not in seen:
                stack.append((child, None))
            continue
        if layer.name not in seen:
            seen.add(layer.name)
            order.append(layer)
    return order


def _layer_operands(layer: Layer) -> list[Layer]:
    """Every layer a layer refers to: its dependencies, then layers in operands."""
    found = list(layer.dependencies)
    stack = list(layer.operands)
    while stack:
        value = stack.pop()
        if isinstance(value, Layer):
            found.append(value)
        elif type(value) in (tuple, list, set, frozenset):
            stack.extend(value)
        elif type(value) is dict:
            stack.extend(value.keys())
            stack.extend(value.values())
    return found


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


def dumps(value: Any, trusted: Callable[[Layer], bool] | None = None,
          warn_above: int | None = LARGE_GRAPH_BYTES) -> list[Any]:
    """Encode ``value`` into frames: ``[header, *buffers]``.

    ``trusted(layer)`` says whether a layer travels as params (default: its
    type is in the local trusted registry) or lowered. A message carrying
    layers and larger than ``warn_above`` bytes raises ``LargeGraphWarning``.
    """
    enc = _Encoder(trusted or _locally_trusted)
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
class _Decoder:
    def __init__(self, frames: Sequence[Any], load_blobs: bool) -> None:
        self.frames = frames
        self.load_blobs = load_blobs
        self.nodes: list[Layer] = []

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
            if not 0 <= index < len(self.nodes):
                raise WireError(f"reference to layer row {index} before it was defined")
            return self.nodes[index]
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
            layer = self.build_node(items)
            self.nodes.append(layer)
            return layer
        return items

    def build_node(self, row: tuple) -> Layer:
        from lamina.layers.registry import Lowered, trusted_class

        _, type_name, params, children, token, chunks, dtype = row
        if type_name == LOWERED:
            if not self.load_blobs:
                deps = [self.nodes[i] for i in children]
                return Lowered.stand_in(params["label"], params["deps"], deps, token,
                                        chunks, dtype)
            cls, operands = params["cls"], params["operands"]
        else:
            cls, operands = trusted_class(type_name), params
        return rebuild(cls, operands, token, chunks, dtype)


def rebuild(cls: type, operands: Sequence[Any], token: str, chunks: Any, dtype: Any) -> Layer:
    """A layer from its operands with its token and metadata as sent (no recomputation)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise WireError(f"{cls!r} is not a Layer class")
    operands = tuple(operands)
    if len(operands) != len(cls._parameters):
        raise WireError(f"{cls.__name__} takes {len(cls._parameters)} operands, "
                        f"the message gives {len(operands)}: peers run different versions")
    layer = cls.__new__(cls)
    object.__setattr__(layer, "operands", operands)
    layer.__dict__["_chunks_dtype"] = (tuple(tuple(c) for c in chunks), np.dtype(dtype))
    object.__setattr__(layer, "_token", token)
    return layer


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


def _decode(frames: Sequence[Any], load_blobs: bool) -> tuple[_Decoder, Any]:
    if not frames:
        raise WireError("empty message")
    header = memoryview(frames[0])
    if bytes(header[:3]) != MAGIC:
        raise WireError("not a lamina message (bad magic bytes)")
    if header[3] != WIRE_VERSION:
        raise WireError(
            f"message uses wire version {header[3]}, this lamina reads version "
            f"{WIRE_VERSION}: run the same lamina version on clients, scheduler and workers")
    decoder = _Decoder(frames, load_blobs)
    try:
        _, value = decoder.unpack(header[4:])
    except (WireError, pickle.UnpicklingError, ImportError, AttributeError):
        raise
    except (ValueError, TypeError, KeyError, IndexError, msgpack.UnpackException) as exc:
        raise WireError(f"malformed message: {exc}") from exc
    return decoder, value


def loads(frames: Sequence[Any], load_blobs: bool = True) -> Any:
    """Decode frames made by ``dumps``.

    With ``load_blobs=False`` pickled objects stay ``Blob``s and nothing is
    unpickled: the scheduler decodes this way.
    """
    return _decode(frames, load_blobs)[1]


def nodes_of(frames: Sequence[Any], load_blobs: bool = True) -> list[Layer]:
    """Every layer in a message's node table, children before parents."""
    return _decode(frames, load_blobs)[0].nodes
