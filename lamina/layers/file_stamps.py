"""What names a file's contents in a source layer's token: its size and mtime.

A source layer that reads a file by path names it by path, shape and
chunks; without a stamp of the contents, a file rewritten in place (same
path, same shape) between two computations would get the same layer name,
and anything keyed by that name (results held on a cluster, cached reads)
could answer with the old file's data. Parquet reads do the same with their
files' sizes and modification times.

The stamp is only as fine as the filesystem's timestamps: a rewrite of the
same size within one timestamp tick (a few milliseconds on Linux) keeps it.
"""

from __future__ import annotations

import os


def file_stamp(path: str | os.PathLike) -> tuple[int, int]:
    """``(size in bytes, modification time in ns)`` of one file."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def tree_stamp(path: str | os.PathLike) -> tuple[int, int, int] | None:
    """``(files, bytes, newest mtime in ns)`` of every file under a local directory
    (a zarr array: its metadata and chunk files); None for what is not one (a URL)."""
    if not os.path.isdir(path):
        return None
    files = size = newest = 0
    pending = [os.fspath(path)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    continue
                st = entry.stat()
                files += 1
                size += st.st_size
                newest = max(newest, st.st_mtime_ns)
    return files, size, newest


def check_unchanged(path: str, stamp: tuple[int, int]) -> None:
    """Raise if ``path`` is no longer the file that ``stamp`` was taken of."""
    now = file_stamp(path)
    if tuple(now) != tuple(stamp):
        raise ValueError(f"{path} changed (size, mtime {tuple(stamp)} -> {now}) since it was "
                         "opened: open it again to read the new contents")
