"""Decoding of wire messages, bounded by ``WireLimits`` before anything is built.

    loads(frames)                           # a value, or WireError
    loads(frames, load_blobs=False)         # the scheduler: pickles stay opaque Blobs

A message comes from a peer that may be hostile, so every count it announces
is checked before the receiver acts on it: the header's size and the number
of frames; each container's length and all of them together (a run-length
encoded tuple counted as it expands); the nesting of containers and of
extension types, counted while descending, so that it is refused before it
could overflow a stack; a NumPy array's shape and dtype against its buffer's
real size. The msgpack parsing and those bounds run compiled
(``lamina.comm._unpack``), as fast as plain ``msgpack.unpackb``; this module
builds the extension types that need NumPy or pickle. Whatever is wrong
raises ``WireError`` and nothing else.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, Sequence

import msgpack
import numpy as np

from lamina.comm._unpack import Unpacker
from lamina.comm.format import (
    EXT_BLOB,
    EXT_BYTES,
    EXT_COMPLEX,
    EXT_DTYPE,
    EXT_NDARRAY,
    EXT_PACKED,
    EXT_RANGE,
    EXT_RLE,
    EXT_SCALAR,
    EXT_SLICE,
    MAGIC,
    WIRE_VERSION,
)
from lamina.comm.limits import DEFAULT_LIMITS, WireError, WireLimits, brief
from lamina.comm.opaque import Blob, Packed, buffer_nbytes

if TYPE_CHECKING:
    from lamina.comm.wire import Extension

_MAX_NDIM = 64


class Decoder(Unpacker):
    """One message being decoded: its frames and the objects of its node table.

    ``rows[i]`` is what row ``i`` decoded to; ``load_blobs`` says whether
    this receiver unpickles (an extension may build stand-ins when not).
    The msgpack parsing and its bounds are compiled (``_unpack.Unpacker``);
    this class builds the extension types that need NumPy or pickle.

        Decoder(frames, load_blobs, extension=None, limits=DEFAULT_LIMITS)
    """

    def frame(self, index: Any) -> Any:
        if type(index) is not int or not 0 < index < len(self.frames):
            raise WireError(f"frame {_short(index)} is missing: the message has {len(self.frames)}")
        return self.frames[index]

    def _extension_value(self, code: int, fields: Any) -> Any:
        if code == EXT_NDARRAY:
            dtype, shape, order, index = fields
            return _array_from(self.frame(index), dtype, shape, order, self.limits)
        if code == EXT_BLOB:
            inline, buffer_ids = fields
            payload = inline if isinstance(inline, bytes) else self.frame(inline)
            blob = Blob(payload, [self.frame(i) for i in buffer_ids])
            return blob.load() if self.load_blobs else blob
        if code == EXT_RLE:
            return self._run_lengths(*fields)
        if code == EXT_SLICE:
            return slice(*fields)
        if code == EXT_RANGE:
            return range(*fields)
        if code == EXT_DTYPE:
            return _dtype_from(fields)
        if code == EXT_SCALAR:
            dtype, raw = fields
            dtype = _dtype_from(dtype)
            if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
                raise WireError(f"a {dtype} scalar needs {dtype.itemsize} bytes")
            return np.frombuffer(raw, dtype=dtype)[0]
        if code == EXT_COMPLEX:
            real, imag = fields
            if not all(type(x) in (int, float) for x in fields):
                raise WireError("a complex number's parts must be numbers")
            return complex(real, imag)
        if code == EXT_BYTES:
            return bytes(self.frame(fields))
        if code == EXT_PACKED:
            start, count = fields
            if type(start) is not int or type(count) is not int or count < 0 \
                    or not 0 < start <= start + count <= len(self.frames):
                raise WireError(f"packed frames {_short(start)}+{_short(count)} are not in the message")
            return Packed(self.frames[start:start + count])
        raise WireError(f"unknown extension type {code}")

    def _run_lengths(self, values: Any, counts: Any) -> tuple:
        if not (type(values) is tuple and type(counts) is tuple and len(values) == len(counts)
                and all(type(c) is int and c >= 0 for c in counts)):
            raise WireError("a run-length encoded tuple needs as many counts (>= 0) as values")
        self._count(sum(counts))
        return tuple(np.repeat(np.asarray(values, dtype=np.int64),
                               np.asarray(counts, dtype=np.int64)).tolist())

    def node(self, fields: tuple) -> Any:
        if self.extension is None:
            raise WireError("the message has a node table (e.g. a layer expression) but was "
                            "decoded without an extension: decode it with the extension "
                            "that encoded it (lamina.layers.codec.LayerCodec for layers)")
        return self.extension.decode(fields, self)


def _array_from(buf: Any, dtype: Any, shape: Any, order: Any,
                limits: WireLimits) -> np.ndarray:
    """The array a header describes over ``buf``, whose size must match exactly."""
    dtype = _dtype_from(dtype)
    if (type(shape) is not tuple or len(shape) > _MAX_NDIM or order not in (0, 1)
            or not all(type(s) is int and s >= 0 for s in shape)):
        raise WireError(f"bad array header: shape {_short(shape)}, order {_short(order)}")
    count = 1
    for s in shape:
        count *= s
    nbytes = buffer_nbytes(buf)
    if count * dtype.itemsize != nbytes or (dtype.itemsize == 0 and count > limits.max_items):
        raise WireError(f"an array of shape {shape} and dtype {dtype} needs "
                        f"{count * dtype.itemsize} bytes, its frame has {nbytes}")
    if count == 0 or dtype.itemsize == 0:
        return np.empty(shape, dtype=dtype)
    flat = np.frombuffer(buf, dtype=dtype, count=count)
    if order:
        return flat.reshape(shape[::-1]).T
    return flat.reshape(shape)


def _dtype_from(plain: Any) -> np.dtype:
    if isinstance(plain, np.dtype):
        dtype = plain
    elif isinstance(plain, str):
        dtype = np.dtype(plain)
    elif type(plain) in (list, tuple) and len(plain) == 1 and type(plain[0]) in (list, tuple):
        dtype = np.dtype([tuple(f) for f in plain[0]])
    else:
        raise WireError(f"bad dtype {_short(plain)}")
    if dtype.hasobject:
        raise WireError(f"dtype {dtype} holds Python objects: those travel pickled, as blobs")
    return dtype


def _short(value: Any) -> str:
    """``value`` for an error message: its repr if short, else its type and size."""
    if type(value) in (int, bool) or value is None:
        return repr(value)
    if type(value) in (str, bytes) and len(value) <= 40:
        return repr(value)
    if type(value) is tuple and len(value) <= 8 and all(type(v) is int for v in value):
        return repr(value)
    size = f" of {len(value)}" if hasattr(value, "__len__") else ""
    return f"a {type(value).__name__}{size}"


_MALFORMED = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
              msgpack.UnpackException)


def _decode(frames: Sequence[Any], load_blobs: bool, extension: Extension | None,
            limits: WireLimits) -> Decoder:
    if not frames:
        raise WireError("empty message")
    if len(frames) > limits.max_frames:
        raise WireError(f"the message has {len(frames)} frames, more than "
                        f"{limits.max_frames} (WireLimits.max_frames)")
    header = memoryview(frames[0]).cast("B")
    if header.nbytes > limits.max_header_bytes:
        raise WireError(f"the message header has {header.nbytes} bytes, more than "
                        f"{limits.max_header_bytes} (WireLimits.max_header_bytes)")
    if bytes(header[:3]) != MAGIC or header.nbytes < 4:
        raise WireError("not a lamina message (bad magic bytes)")
    if header[3] != WIRE_VERSION:
        raise WireError(
            f"message uses wire version {header[3]}, this lamina reads version "
            f"{WIRE_VERSION}: run the same lamina version on clients, scheduler and workers")
    decoder = Decoder(frames, load_blobs, extension, limits)
    try:
        _, decoder.value = decoder.unpack(header[4:])
    except (WireError, pickle.UnpicklingError, ImportError, AttributeError):
        raise
    except _MALFORMED as exc:
        raise WireError(f"malformed message: {brief(exc)}") from exc
    return decoder


def loads(frames: Sequence[Any], load_blobs: bool = True,
          extension: Extension | None = None, limits: WireLimits = DEFAULT_LIMITS) -> Any:
    """Decode frames made by ``dumps``, within ``limits``; raise ``WireError`` if malformed.

    With ``load_blobs=False`` pickled objects stay ``Blob``s and nothing is
    unpickled: the scheduler decodes this way. A message with a node table
    needs the ``extension`` that encoded it.
    """
    return _decode(frames, load_blobs, extension, limits).value


def nodes_of(frames: Sequence[Any], load_blobs: bool = True,
             extension: Extension | None = None,
             limits: WireLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every object of a message's node table, in row order (children first)."""
    return _decode(frames, load_blobs, extension, limits).rows
