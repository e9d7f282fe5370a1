"""A worker's blocks: in memory while they fit, spilled to local disk when not.

    store = open_store(parse_memory_limit("2GiB"))     # a plain dict without a limit
    store[key] = block          # may write least recently used blocks to disk
    store[key]                  # a spilled block is read back (and kept in memory)
    store.discard(key)          # released: memory or spill file freed at once
    store.close()               # removes the spill folder

Memory is the bytes of the blocks held in memory (``nbytes`` of NumPy and
CuPy arrays, ``memory_usage(deep=True)`` of pandas objects), counted
exactly as blocks come and go. When a store with a limit holds more than
``spill_fraction`` of it, it writes blocks to disk, least recently used
first, until it is back under; the block just stored or read stays in
memory, because the caller is about to use it.

A NumPy array without Python objects is compressed with LZ4 (numcodecs)
when that saves at least a fifth of its bytes (repetitive or sparse
blocks, small integer codes), else written raw with ``np.save``; LZ4 runs
at gigabytes a second, so either way spilling costs about one write at
disk speed, and the block comes back bit for bit (dtype, shape and values;
a non-contiguous array comes back contiguous). Any other value is pickled
(protocol 5). Files live in a
private temporary folder made on first spill, hold only this process's own
blocks, and are deleted as soon as their block is released, read back or
replaced, and with the folder when the store closes or the process exits.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import numpy as np
import psutil

from lamina.layers.frame.shards import lz4_codec, remove_file

SPILL_FRACTION = 0.6
PAUSE_FRACTION = 0.8
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_NOTHING = object()
logger = logging.getLogger(__name__)


def parse_memory_limit(value: str | float | None) -> int | None:
    """Bytes from ``"2GiB"``, ``"500MB"``, ``4e9``, or a fraction of system memory.

    A number in (0, 1] is a fraction of this machine's memory (``0.5``);
    ``None``, ``0``, ``"none"`` and ``"0"`` mean no limit.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ("", "none", "0"):
            return None
        match = _SIZE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(f"memory limit {value!r} is not a size: give bytes ('4000000000'), "
                             "a size with a unit ('2GiB', '500MB') or a fraction of this "
                             "machine's memory ('0.5')")
        number = float(match.group(1))
        if unit:
            return _positive(number * _UNITS[unit], value)
        value = number
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"memory limit {value!r} is not a number of bytes or a fraction")
    if value == 0:
        return None
    if 0 < value <= 1:
        return _positive(value * psutil.virtual_memory().total, value)
    return _positive(value, value)


def _positive(number: float, given: Any) -> int:
    if number < 1:
        raise ValueError(f"memory limit {given!r} must be positive (at least one byte)")
    return int(number)


def sizeof(value: Any) -> int:
    """The bytes a block holds: ``nbytes`` of arrays, deep usage of pandas objects."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, (int, np.integer)) and not isinstance(value, type):
        return int(nbytes)
    usage = getattr(value, "memory_usage", None)
    if callable(usage) and not isinstance(value, type):
        try:
            return int(np.sum(usage(deep=True)))
        except Exception:
            pass
    return sys.getsizeof(value)


def process_memory(process: psutil.Process | None = None) -> int:
    """A process's resident memory in bytes (this one by default; 0 if unreadable)."""
    try:
        return (process or psutil.Process()).memory_info().rss
    except Exception:
        return 0


def open_store(memory_limit: int | None, spill_fraction: float = SPILL_FRACTION,
               pause_fraction: float = PAUSE_FRACTION,
               directory: str | None = None) -> BlockStore | UnlimitedStore:
    """A ``BlockStore`` for a memory limit, else a plain dict (no cost per block)."""
    if memory_limit is None:
        return UnlimitedStore()
    return BlockStore(memory_limit, spill_fraction, pause_fraction, directory)


class UnlimitedStore(dict):
    """Blocks of a worker without a memory limit: a dict with the store's methods."""

    memory_limit = None

    def discard(self, key: int) -> bool:
        """Forget a block; say whether it was held."""
        return self.pop(key, _NOTHING) is not _NOTHING

    def on_disk(self, keys: Iterable[int]) -> bool:
        return False

    def over_pause(self) -> bool:
        return False

    def close(self) -> None:
        self.clear()

    def spill_files(self) -> list[str]:
        return []

    def info(self) -> dict[str, Any]:
        """The same counters as ``BlockStore.info``: memory only, summed when asked."""
        return {"memory_limit": None, "memory_bytes": sum(map(sizeof, list(self.values()))),
                "spilled_keys": 0, "disk_bytes": 0, "spilled_bytes_total": 0, "spills": 0,
                "reloads": 0, "spill_files": 0, "spill_directory": None}


class BlockStore(MutableMapping):
    """Blocks by key, spilled to disk least recently used first above a memory target.

    Thread safe: tasks store and read blocks from pool threads while the
    event loop serves peers and releases. Without ``memory_limit`` it never
    spills and never pauses (``open_store`` then gives a plain dict instead).
    """

    def __init__(self, memory_limit: int | None = None, spill_fraction: float = SPILL_FRACTION,
                 pause_fraction: float = PAUSE_FRACTION, directory: str | None = None) -> None:
        if memory_limit is not None and memory_limit < 1:
            raise ValueError(f"memory_limit must be positive bytes or None, got {memory_limit}")
        for name, fraction in (("spill_fraction", spill_fraction),
                               ("pause_fraction", pause_fraction)):
            if not 0 < fraction <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {fraction}")
        self.memory_limit = memory_limit
        self.spill_fraction = spill_fraction
        self.pause_fraction = pause_fraction
        self.directory = directory
        self._memory: OrderedDict[int, Any] = OrderedDict()
        self._sizes: dict[int, int] = {}
        self._disk: dict[int, tuple[str, int]] = {}
        self._writing: dict[int, Any] = {}
        self._writing_bytes = 0
        self._unspillable: set[int] = set()
        self._files = itertools.count()
        self._lock = threading.RLock()
        self._folder: str | None = None
        self._process = psutil.Process()
        self._cleanup: weakref.finalize | None = None
        self.memory_bytes = 0
        self.disk_bytes = 0
        self.spilled_bytes = 0
        self.spills = 0
        self.reloads = 0

    @property
    def spill_target(self) -> float:
        """Bytes in memory above which blocks go to disk (infinite without a limit)."""
        return math.inf if self.memory_limit is None else self.spill_fraction * self.memory_limit

    @property
    def pause_target(self) -> float:
        """Bytes above which the worker stops starting tasks (infinite without a limit)."""
        return math.inf if self.memory_limit is None else self.pause_fraction * self.memory_limit

    # mapping ----------------------------------------------------------------------
    def __setitem__(self, key: int, value: Any) -> None:
        with self._lock:
            self._drop(key)
            self._hold(key, value)
        self.spill_down(self.spill_target, keep=key)

    def __getitem__(self, key: int) -> Any:
        with self._lock:
            if key in self._memory:
                if self.memory_limit is not None:
                    self._memory.move_to_end(key)
                return self._memory[key]
            if key not in self._disk:
                raise KeyError(key)
            value = self._load(key)
            self._hold(key, value)
        self.spill_down(self.spill_target, keep=key)
        return value

    def __delitem__(self, key: int) -> None:
        with self._lock:
            if not self._drop(key):
                raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._memory or key in self._disk

    def __len__(self) -> int:
        return len(self._memory) + len(self._disk)

    def __iter__(self) -> Iterator[int]:
        with self._lock:
            return iter([*self._memory, *self._disk])

    def pop(self, key: int, default: Any = _NOTHING) -> Any:
        """Remove and return a block (a spilled one is read without spilling others)."""
        with self._lock:
            if key in self._memory:
                value = self._memory[key]
                self._drop(key)
                return value
            if key in self._disk:
                return self._load(key)
            if default is _NOTHING:
                raise KeyError(key)
            return default

    def discard(self, key: int) -> bool:
        """Forget a block without reading it back; say whether it was held."""
        with self._lock:
            return self._drop(key)

    def on_disk(self, keys: Iterable[int]) -> bool:
        """Whether any of ``keys`` is spilled (reading it back means disk I/O)."""
        disk = self._disk
        return bool(disk) and any(key in disk for key in keys)

    # spilling ---------------------------------------------------------------------
    def spill_down(self, target: float, keep: int | None = None) -> None:
        """Write least recently used blocks to disk until memory is at most ``target``.

        Files are written outside the lock, so other threads (and the event
        loop serving peers and releases) wait for no write but their own; a
        block released or replaced meanwhile has its new file deleted.
        """
        while True:
            with self._lock:
                if self.memory_bytes - self._writing_bytes <= target:
                    return
                key = next((k for k in self._memory if k != keep and k not in self._writing
                            and k not in self._unspillable), None)
                if key is None:
                    return
                value = self._writing[key] = self._memory[key]
                size = self._sizes[key]
                self._writing_bytes += size
                path = os.path.join(self._spill_folder(), f"{key}-{next(self._files)}")
            try:
                path = _write(path, value)
            except Exception as exc:
                logger.warning("could not spill block %d to %s, keeping it in memory: %s",
                               key, path, exc)
                with self._lock:
                    self._unspillable.add(key)
                return
            finally:
                with self._lock:
                    del self._writing[key]
                    self._writing_bytes -= size
            with self._lock:
                if self._memory.get(key) is not value:
                    remove_file(path)
                    continue
                self._disk[key] = (path, size)
                del self._memory[key]
                del self._sizes[key]
                self.memory_bytes -= size
                self.disk_bytes += size
                self.spilled_bytes += size
                self.spills += 1

    def over_pause(self) -> bool:
        """Whether held blocks or the process exceed the pause fraction of the limit.

        Held blocks stay near the spill target (only the block last stored
        or read may push them over), so this mostly says that the process's
        own memory, measured as resident memory, is too large: task
        temporaries, fetched inputs, the interpreter.
        """
        if self.memory_limit is None:
            return False
        pause = self.pause_target
        return self.memory_bytes > pause or process_memory(self._process) > pause

    def _hold(self, key: int, value: Any) -> None:
        if getattr(value, "keeps_own_disk", False):   # a handle to data on disk already
            self._unspillable.add(key)
        size = sizeof(value)
        self._memory[key] = value
        self._sizes[key] = size
        self.memory_bytes += size

    def _drop(self, key: int) -> bool:
        self._unspillable.discard(key)
        if key in self._memory:
            del self._memory[key]
            self.memory_bytes -= self._sizes.pop(key)
            return True
        entry = self._disk.pop(key, None)
        if entry is None:
            return False
        self.disk_bytes -= entry[1]
        remove_file(entry[0])
        return True

    def _load(self, key: int) -> Any:
        path, size = self._disk.pop(key)
        self.disk_bytes -= size
        with open(path, "rb") as f:
            if path.endswith(".lz4"):
                value = _read_compressed(f)
            elif path.endswith(".npy"):
                value = np.load(f, allow_pickle=False)
            else:
                value = pickle.load(f)
        remove_file(path)
        self.reloads += 1
        return value

    def _spill_folder(self) -> str:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="lamina-spill-", dir=self.directory)
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._folder, True)
        return self._folder

    # lifecycle and reports ------------------------------------------------------------
    def close(self) -> None:
        """Forget every block and remove the spill folder; blocks stored later stay in memory."""
        with self._lock:
            self.memory_limit = None
            self._memory.clear()
            self._sizes.clear()
            self._disk.clear()
            self.memory_bytes = self.disk_bytes = 0
            if self._cleanup is not None:
                self._cleanup()
            self._folder = None

    def spill_files(self) -> list[str]:
        """The spill files on disk now (for reports and tests)."""
        folder = self._folder
        return sorted(os.listdir(folder)) if folder and os.path.isdir(folder) else []

    def info(self) -> dict[str, Any]:
        """Counters for ``worker_info``: bytes in memory and on disk, spills and reloads."""
        return {"memory_limit": self.memory_limit, "memory_bytes": self.memory_bytes,
                "spilled_keys": len(self._disk), "disk_bytes": self.disk_bytes,
                "spilled_bytes_total": self.spilled_bytes, "spills": self.spills,
                "reloads": self.reloads, "spill_files": len(self.spill_files()),
                "spill_directory": self._folder}


COMPRESS_MIN_BYTES = 64 * 2**10
COMPRESS_MAX_RATIO = 0.8


def _write(path: str, value: Any) -> str:
    """Write a block to ``path`` plus a suffix saying how: ``.lz4``, raw ``.npy`` or ``.pkl``."""
    raw = type(value) is np.ndarray and not value.dtype.hasobject
    if raw and value.nbytes >= COMPRESS_MIN_BYTES:
        compressed = _compressed(value)
        if compressed is not None:
            return _write_bytes(path + ".lz4", compressed)
    path += ".npy" if raw else ".pkl"
    try:
        with open(path, "wb") as f:
            if raw:
                np.save(f, value, allow_pickle=False)
            else:
                pickle.dump(value, f, protocol=5)
    except BaseException:
        remove_file(path)
        raise
    return path


def _compressed(value: np.ndarray) -> list[bytes] | None:
    """The header and LZ4 bytes of ``value``, or None where that saves too little."""
    data = np.ascontiguousarray(value)
    packed = lz4_codec().encode(data.reshape(-1).view(np.uint8))
    if len(packed) > COMPRESS_MAX_RATIO * data.nbytes:
        return None
    header = json.dumps({"descr": np.lib.format.dtype_to_descr(data.dtype),
                         "shape": list(data.shape)}).encode()
    return [len(header).to_bytes(4, "little"), header, packed]


def _write_bytes(path: str, parts: list[bytes]) -> str:
    try:
        with open(path, "wb") as f:
            for part in parts:
                f.write(part)
    except BaseException:
        remove_file(path)
        raise
    return path


def _read_compressed(f: Any) -> np.ndarray:
    size = int.from_bytes(f.read(4), "little")
    header = json.loads(f.read(size))
    out = np.empty(tuple(header["shape"]), dtype=np.lib.format.descr_to_dtype(header["descr"]))
    lz4_codec().decode(f.read(), out=out.reshape(-1).view(np.uint8))
    return out
