"""Give freed heap memory back to the operating system after a heavy task.

A pass kernel allocates and frees many medium-sized arrays (packed blocks,
partial products) from two or more threads at once; glibc keeps the freed
memory in its arenas, so the resident size creeps up with the number of
tasks run although the live data does not (the same reason Dask's workers
trim their heap). ``trim_heap()`` asks glibc to release it; elsewhere it
does nothing::

    result = heavy_kernel(...)
    trim_heap()
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any, Callable


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def trim_heap() -> None:
    """Release free heap memory to the operating system (glibc only)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def trimming_kernel(kernel: Callable[[int, list], Any]) -> Callable[[int, list], Any]:
    """A layer kernel that trims the heap after each block."""

    def run(block: int, inputs: list) -> Any:
        try:
            return kernel(block, inputs)
        finally:
            trim_heap()

    return run
