"""What the wire carries without looking inside: pickled objects and encoded messages.

    blob = Blob.dump(user_function)       # pickled now, loaded only where trusted
    blob.load()(3)
    Packed(dumps(graph))                  # a whole message inside another one

A ``Blob`` stays opaque on the scheduler, which forwards it byte for byte
and never unpickles it; workers and clients ``load`` it. ``Packed`` lets a
message be encoded once and forwarded many times, its frames untouched.
"""

from __future__ import annotations

import hashlib
import pickle
import traceback
from typing import Any, Sequence

try:
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - cloudpickle ships with dask
    _pickler = pickle


def error_summary(exc: BaseException, where: str = "") -> dict[str, str]:
    """An exception in plain words, for readers that never unpickle it (the dashboard):
    its type's name, the first line group of its message (no notes) and ``where``."""
    first = traceback.format_exception_only(exc)[0].strip()
    return {"type": type(exc).__name__, "message": first.partition(": ")[2][:1000],
            "where": where}


def buffer_nbytes(buf: Any) -> int:
    """Size in bytes of one frame (``bytes``, ``bytearray`` or ``memoryview``)."""
    return buf.nbytes if isinstance(buf, memoryview) else len(buf)


def frames_nbytes(frames: Sequence[Any]) -> int:
    """Total size of a list of frames in bytes."""
    return sum(buffer_nbytes(f) for f in frames)


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
        return buffer_nbytes(self.data) + frames_nbytes(self.buffers)

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
