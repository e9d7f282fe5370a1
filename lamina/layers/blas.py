"""Keep BLAS single-threaded while the runner's threads call it.

The runner already uses every core; an OpenBLAS that also starts a thread
per core for each small product spends its time synchronizing (the pass
kernels run ten times slower on two cores). ``single_threaded_blas()`` sets
OpenBLAS to one thread while any kernel (or a whole SVD) is inside it and
restores the previous count when the last one leaves; without OpenBLAS it
does nothing::

    with single_threaded_blas():
        y = slab @ z
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable, Iterator

_GET = ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
        "openblas_get_num_threads64_")
_SET = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
        "openblas_set_num_threads64_")

_lock = threading.Lock()
_depth = 0
_saved = 1


@lru_cache(maxsize=1)
def _openblas() -> tuple[Any, Any] | None:
    """``(get, set)`` thread-count functions of the loaded OpenBLAS, if any."""
    import numpy  # noqa: F401  (loads the BLAS library)

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        get = next((getattr(lib, n) for n in _GET if hasattr(lib, n)), None)
        put = next((getattr(lib, n) for n in _SET if hasattr(lib, n)), None)
        if get is not None and put is not None:
            get.restype, get.argtypes = ctypes.c_int, []
            put.restype, put.argtypes = None, [ctypes.c_int]
            return get, put
    return None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """One BLAS thread inside the block (re-entrant, shared by threads)."""
    global _depth, _saved
    controls = _openblas()
    if controls is None:
        yield
        return
    get, put = controls
    with _lock:
        if _depth == 0:
            _saved = get()
            put(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                put(_saved)


def blas_kernel(kernel: Callable[[int, list], Any]) -> Callable[[int, list], Any]:
    """A layer kernel that runs with ``single_threaded_blas``."""

    def run(block: int, inputs: list) -> Any:
        with single_threaded_blas():
            return kernel(block, inputs)

    return run
