"""Chunked random arrays, reproducible whatever the schedule.

    import lamina.random
    rng = lamina.random.default_rng(42)
    x = rng.random((10_000, 1_000), chunks=(1_000, 1_000))
    z = rng.standard_normal(1_000_000, chunks=100_000)
    k = rng.integers(0, 10, size=(100, 100), chunks=25)

Each block is drawn from its own NumPy bit generator, seeded by the
generator's seed, the call and the block index, so a block's values are
the same on every compute, with any number of threads, and recomputing
one block (after a loss, or in a second pass of an algorithm) gives the
same values. Successive calls on one generator give different arrays, as
in NumPy; two generators made with the same seed give the same sequence of
arrays. With ``seed=None`` fresh entropy is drawn once, when the generator
is made, and kept in each array's layer.
"""

from __future__ import annotations

import operator
import threading
from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.chunks import normalize_chunks
from lamina.layers.random import RandomBlocks

__all__ = ["Generator", "default_rng"]


class Generator:
    """Makes chunked random arrays; NumPy's ``Generator`` methods, lazily.

    ``seed`` is what ``np.random.SeedSequence`` takes (None, a
    non-negative int or a sequence of them), or a ``SeedSequence``.
    """

    def __init__(self, seed: Any = None) -> None:
        if isinstance(seed, np.random.SeedSequence):
            sequence = seed
        else:
            sequence = np.random.SeedSequence(seed)
        entropy = sequence.entropy
        self._entropy = tuple(int(e) for e in entropy) if np.ndim(entropy) else int(entropy)
        self._spawn_key = tuple(int(k) for k in sequence.spawn_key)
        self._calls = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"lamina.random.Generator(entropy={self._entropy!r}, calls={self._calls})"

    def random(self, size: Any = None, dtype: Any = np.float64, chunks: Any = "auto") -> Array:
        """Floats uniform in ``[0, 1)``; ``dtype`` float64 or float32."""
        return self._draw("random", size, chunks, dtype=np.dtype(dtype))

    def standard_normal(self, size: Any = None, dtype: Any = np.float64,
                        chunks: Any = "auto") -> Array:
        """Samples of the standard normal distribution; float64 or float32."""
        return self._draw("standard_normal", size, chunks, dtype=np.dtype(dtype))

    def integers(self, low: Any, high: Any = None, size: Any = None, dtype: Any = np.int64,
                 endpoint: bool = False, chunks: Any = "auto") -> Array:
        """Integers in ``[low, high)`` (``[low, high]`` with ``endpoint``).

        With one bound, ``integers(n)`` draws from ``[0, n)``, as NumPy does.
        """
        if high is None:
            low, high = 0, low
        return self._draw("integers", size, chunks, low=_scalar("low", low),
                          high=_scalar("high", high), dtype=np.dtype(dtype),
                          endpoint=bool(endpoint))

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None,
                chunks: Any = "auto") -> Array:
        """Floats uniform in ``[low, high)``."""
        return self._draw("uniform", size, chunks, low=_scalar("low", low),
                          high=_scalar("high", high))

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None,
               chunks: Any = "auto") -> Array:
        """Samples of the normal distribution with mean ``loc`` and deviation ``scale``."""
        return self._draw("normal", size, chunks, loc=_scalar("loc", loc),
                          scale=_scalar("scale", scale))

    def _draw(self, method: str, size: Any, chunks: Any, **kwargs: Any) -> Array:
        shape = _shape_of(size)
        probe = getattr(np.random.default_rng(0), method)(size=1, **kwargs)
        dtype = probe.dtype
        layer = RandomBlocks(self._entropy, self._next_key(), method,
                             tuple(sorted(kwargs.items())),
                             normalize_chunks(chunks, shape, dtype), dtype)
        return Array(layer)

    def _next_key(self) -> tuple[int, ...]:
        with self._lock:
            call = self._calls
            self._calls += 1
        return self._spawn_key + (call,)


def default_rng(seed: Any = None) -> Generator:
    """A ``Generator`` seeded with ``seed``; a ``Generator`` is returned as is."""
    if isinstance(seed, Generator):
        return seed
    return Generator(seed)


def _shape_of(size: Any) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, (int, np.integer)):
        size = (size,)
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(
            f"size {size!r} is not understood: give an int or a tuple of ints"
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError("negative dimensions are not allowed")
    return shape


def _scalar(name: str, value: Any) -> Any:
    if np.ndim(value) != 0:
        raise ValueError(
            f"{name} must be a scalar, got an array of shape {np.shape(value)}: "
            "draw with scalar parameters and transform the result instead"
        )
    return value.item() if isinstance(value, (np.generic, np.ndarray)) else value
