"""Shuffle shards on local disk, so that a shuffle's memory stays bounded.

A shuffle's split cuts an input partition into ``nout`` pieces that wait
until every output partition has read its own. Held in memory, those
pieces add up to all the data the shuffle moves. Instead, where a runner
names a ``ShardDirectory`` for the thread running a task, the split writes
its pieces to one file there and its block is a small ``Shards`` handle;
output partition ``j`` reads piece ``j`` back alone (a seek and a read)::

    directory = ShardDirectory()             # a private folder, made on first write
    with writing_shards(directory):
        shards = write_pieces([df0, df1])    # a Shards when a directory is set
    shards[1]                                # df1, read from disk
    del shards                               # its file is removed
    directory.close()                        # the folder too

Pieces are pickled (protocol 5) and compressed with LZ4 when that saves a
fifth of their bytes. A handle's file goes when the handle is released
(garbage collected), and every file with the directory when it closes: the
embedded runner closes its directory when the run ends (success, failure
or cancellation), a worker when it stops. Pickling a handle (a peer asking
for the whole block, a client gathering it) gives the plain list of pieces,
so a file never has to be reachable from another machine.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

COMPRESS_MIN_BYTES = 64 * 2**10
COMPRESS_MAX_RATIO = 0.8
_RAW, _LZ4 = b"r", b"z"
_local = threading.local()


class ShardDirectory:
    """Where a runner's shuffle splits write their pieces; counts what they wrote."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        self._folder: str | None = None
        self._lock = threading.Lock()
        self._names = iter(range(2**62))
        self._cleanup: weakref.finalize | None = None
        self.bytes_written = 0
        self.files_written = 0

    def _path(self) -> str:
        with self._lock:
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="lamina-shuffle-", dir=self.root)
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._folder, True)
            return os.path.join(self._folder, f"split-{next(self._names)}")

    def write(self, pieces: list[Any]) -> "Shards":
        """Write ``pieces`` (None for an empty one) to one file; a handle to read them."""
        path = self._path()
        offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
        try:
            with open(path, "wb") as f:
                for j, piece in enumerate(pieces):
                    if piece is not None and len(piece):
                        f.write(_encoded(piece))
                    offsets[j + 1] = f.tell()
        except BaseException:
            _remove(path)
            raise
        with self._lock:
            self.bytes_written += int(offsets[-1])
            self.files_written += 1
        return Shards(path, offsets)

    def files(self) -> list[str]:
        """The shard files on disk now (for reports and tests)."""
        folder = self._folder
        return sorted(os.listdir(folder)) if folder and os.path.isdir(folder) else []

    def info(self) -> dict[str, Any]:
        """Counters for a worker's ``info``: bytes and files written, files left."""
        return {"shuffle_bytes_total": self.bytes_written,
                "shuffle_files_total": self.files_written,
                "shuffle_files": len(self.files()), "shuffle_directory": self._folder}

    def close(self) -> None:
        """Remove the folder with every shard file in it."""
        with self._lock:
            if self._cleanup is not None:
                self._cleanup()
            self._folder = None


class Shards:
    """The pieces of one split, in one file; ``shards[j]`` reads piece ``j``.

    Its file is removed when the handle is released. A store that spills
    blocks keeps it in memory (``keeps_own_disk``): it is already on disk.
    """

    keeps_own_disk = True
    __slots__ = ("path", "offsets", "_finalizer", "__weakref__")

    def __init__(self, path: str, offsets: np.ndarray) -> None:
        self.path = path
        self.offsets = offsets
        self._finalizer = weakref.finalize(self, _remove, path)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, j: int) -> Any:
        start, stop = int(self.offsets[j]), int(self.offsets[j + 1])
        if start == stop:
            return None
        with open(self.path, "rb") as f:
            f.seek(start)
            return _decoded(f.read(stop - start))

    @property
    def disk_bytes(self) -> int:
        return int(self.offsets[-1])

    def load(self) -> list[Any]:
        """Every piece, in memory."""
        return [self[j] for j in range(len(self))]

    def __reduce__(self) -> tuple:
        return (list, (self.load(),))


@contextmanager
def writing_shards(directory: ShardDirectory | None) -> Iterator[None]:
    """Splits run by this thread meanwhile write to ``directory`` (None: keep in memory)."""
    before = getattr(_local, "directory", None)
    _local.directory = directory
    try:
        yield
    finally:
        _local.directory = before


def write_pieces(pieces: list[Any]) -> "Shards | list[Any]":
    """``pieces`` written to this thread's shard directory, or as they are without one."""
    directory = getattr(_local, "directory", None)
    return pieces if directory is None else directory.write(pieces)


def in_memory(value: Any) -> Any:
    """A block with any ``Shards`` handle read into memory (before its directory closes)."""
    return value.load() if isinstance(value, Shards) else value


def _encoded(piece: Any) -> bytes:
    raw = pickle.dumps(piece, protocol=5)
    if len(raw) >= COMPRESS_MIN_BYTES:
        packed = _lz4().encode(raw)
        if len(packed) <= COMPRESS_MAX_RATIO * len(raw):
            return _LZ4 + bytes(packed)
    return _RAW + raw


def _decoded(data: bytes) -> Any:
    if data[:1] == _LZ4:
        return pickle.loads(_lz4().decode(memoryview(data)[1:]))
    return pickle.loads(memoryview(data)[1:])


def _lz4() -> Any:
    from numcodecs import LZ4

    return LZ4(acceleration=1)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
