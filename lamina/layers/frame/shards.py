"""Shuffle shards on local disk, so that a shuffle's memory stays bounded.

A shuffle's split cuts an input partition into ``nout`` pieces that wait
until every output partition has read its own. Held in memory, those
pieces add up to all the data the shuffle moves. Instead, where a runner
names a ``ShardDirectory`` for the thread running a task, the split writes
its pieces to one file there and its block is a small ``Shards`` handle;
output partition ``j`` reads piece ``j`` back alone (a seek and a read)::

    directory = ShardDirectory()             # a private folder, made on first write
    with writing_shards(directory):
        shards = write_split(df, cuts)       # a Shards when a directory is set
    shards[1]                                # rows cuts[1]:cuts[2] of df, from disk
    del shards                               # its file is removed
    directory.close()                        # the folder too

A frame of plain NumPy columns is written column by column, and a gather
concatenates its pieces as arrays (one frame per output partition, not
one per piece: pandas spends about a millisecond making each). Other
pieces are pickled (protocol 5) and compressed with LZ4 when that saves a
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

    def write_split(self, ordered: Any, cuts: np.ndarray) -> "Shards":
        """Write rows ``cuts[j]:cuts[j + 1]`` of ``ordered`` as piece ``j``.

        A frame of plain NumPy columns (numbers, booleans, datetimes) and a
        plain index is written column by column, each once, and its pieces
        are read back as arrays (``ColumnShards``); anything else piece by
        piece, pickled.
        """
        if not _plain(ordered):
            return self.write([ordered.iloc[cuts[j]:cuts[j + 1]] for j in range(len(cuts) - 1)])
        arrays = [ordered.index.to_numpy()] + [ordered.iloc[:, i].to_numpy()
                                               for i in range(ordered.shape[1])]
        path = self._path()
        starts = np.zeros(len(arrays), dtype=np.int64)
        try:
            with open(path, "wb") as f:
                for i, array in enumerate(arrays):
                    starts[i] = f.tell()
                    f.write(np.ascontiguousarray(array).view(np.uint8).data)
                size = f.tell()
        except BaseException:
            remove_file(path)
            raise
        self._count(size)
        return ColumnShards(path, np.asarray(cuts, dtype=np.int64), starts,
                            tuple(a.dtype for a in arrays), ordered.columns, ordered.index.name)

    def _count(self, size: int) -> None:
        with self._lock:
            self.bytes_written += int(size)
            self.files_written += 1

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
            remove_file(path)
            raise
        self._count(int(offsets[-1]))
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
        self._finalizer = weakref.finalize(self, remove_file, path)

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


class ColumnShards(Shards):
    """Pieces of a frame of plain columns: each column written whole, once.

    Piece ``j`` is rows ``cuts[j]:cuts[j + 1]`` of every column (the index
    first), at ``starts[i] + row * itemsize``; ``arrays(j)`` reads them
    without making a frame, so a gather concatenates arrays and makes one
    frame instead of one per piece.
    """

    __slots__ = ("cuts", "starts", "dtypes", "columns", "index_name")

    def __init__(self, path: str, cuts: np.ndarray, starts: np.ndarray, dtypes: tuple,
                 columns: Any, index_name: Any) -> None:
        super().__init__(path, cuts)
        self.cuts, self.starts, self.dtypes = cuts, starts, dtypes
        self.columns, self.index_name = columns, index_name

    @property
    def disk_bytes(self) -> int:
        return int(self.cuts[-1]) * sum(d.itemsize for d in self.dtypes)

    def arrays(self, j: int) -> list[np.ndarray] | None:
        """The index and column values of piece ``j`` (None when it has no rows)."""
        lo, hi = int(self.cuts[j]), int(self.cuts[j + 1])
        if lo == hi:
            return None
        out = []
        with open(self.path, "rb") as f:
            for start, dtype in zip(self.starts.tolist(), self.dtypes):
                values = np.empty(hi - lo, dtype=dtype)
                f.seek(start + lo * dtype.itemsize)
                f.readinto(values.view(np.uint8).data)
                out.append(values)
        return out

    def __getitem__(self, j: int) -> Any:
        arrays = self.arrays(j)
        return None if arrays is None else self.frame(arrays)

    def frame(self, arrays: list[np.ndarray]) -> Any:
        """A DataFrame of this split's columns from index and column values."""
        import pandas as pd

        frame = pd.DataFrame(dict(enumerate(arrays[1:])),
                             index=pd.Index(arrays[0], name=self.index_name), copy=False)
        frame.columns = self.columns
        return frame

    def same_layout(self, other: "ColumnShards") -> bool:
        return self.dtypes == other.dtypes and self.columns.equals(other.columns) and \
            self.columns.dtype == other.columns.dtype and self.index_name == other.index_name


def gather_columns(splits: list[Any], j: int) -> Any:
    """Piece ``j`` of every split, concatenated as arrays into one frame; None when the
    splits are not all ``ColumnShards`` of one layout (concatenate frames then)."""
    first = splits[0] if splits else None
    if not isinstance(first, ColumnShards) or not all(
            isinstance(s, ColumnShards) and first.same_layout(s) for s in splits):
        return None
    pieces = [a for a in (s.arrays(j) for s in splits) if a is not None]
    if not pieces:
        return first.frame([np.empty(0, dtype=d) for d in first.dtypes])
    return first.frame([np.concatenate(column) for column in zip(*pieces)])


def _plain(frame: Any) -> bool:
    """A DataFrame whose index and columns are NumPy numbers, booleans or datetimes."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame) or not frame.columns.is_unique or \
            type(frame.index) not in (pd.Index, pd.RangeIndex) or \
            frame.index.dtype.kind not in "iufb":
        return False
    return all(isinstance(d, np.dtype) and d.kind in "biufcmM" for d in frame.dtypes)


@contextmanager
def writing_shards(directory: ShardDirectory | None) -> Iterator[None]:
    """Splits run by this thread meanwhile write to ``directory`` (None: keep in memory)."""
    before = getattr(_local, "directory", None)
    _local.directory = directory
    try:
        yield
    finally:
        _local.directory = before


def write_split(ordered: Any, cuts: np.ndarray) -> "Shards | list[Any]":
    """Rows ``cuts[j]:cuts[j + 1]`` of ``ordered`` as piece ``j``: written to this
    thread's shard directory, or a list of pieces in memory without one."""
    directory = getattr(_local, "directory", None)
    if directory is None:
        return [ordered.iloc[cuts[j]:cuts[j + 1]] for j in range(len(cuts) - 1)]
    return directory.write_split(ordered, cuts)


def in_memory(value: Any) -> Any:
    """A block with any ``Shards`` handle read into memory (before its directory closes)."""
    return value.load() if isinstance(value, Shards) else value


def _encoded(piece: Any) -> bytes:
    raw = pickle.dumps(piece, protocol=5)
    if len(raw) >= COMPRESS_MIN_BYTES:
        packed = lz4_codec().encode(raw)
        if len(packed) <= COMPRESS_MAX_RATIO * len(raw):
            return _LZ4 + bytes(packed)
    return _RAW + raw


def _decoded(data: bytes) -> Any:
    if data[:1] == _LZ4:
        return pickle.loads(lz4_codec().decode(memoryview(data)[1:]))
    return pickle.loads(memoryview(data)[1:])


def lz4_codec() -> Any:
    from numcodecs import LZ4

    return LZ4(acceleration=1)


def remove_file(path: str) -> None:
    """Delete a file that may be gone already."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
