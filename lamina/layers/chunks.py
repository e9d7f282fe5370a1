"""Chunk normalization and per-axis block arithmetic.

``normalize_chunks((2, -1), (5, 3))`` gives ``((2, 2, 1), (3,))``: one tuple
of block sizes per axis. Errors name the mismatch and say what to give.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

Chunks = tuple[tuple[int, ...], ...]

AUTO_CHUNK_BYTES = 128 * 2**20


def normalize_chunks(chunks: Any, shape: Sequence[int], dtype: Any = np.float64) -> Chunks:
    """Return explicit per-axis block sizes for ``chunks`` over ``shape``.

    Accepts an int (same size on every axis), a tuple with one entry per
    axis (int, -1/None for the whole axis, "auto", or an explicit tuple of
    block sizes), a tuple of tuples, or "auto".
    """
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"shape {shape} has a negative dimension")
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"chunks {chunks!r} is not understood: use an int, -1, a tuple or 'auto'")
        chunks = ("auto",) * len(shape)
    if isinstance(chunks, (int, np.integer)) or chunks is None:
        chunks = (chunks,) * len(shape)
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(i, chunks.get(i - len(shape), -1)) for i in range(len(shape)))
    chunks = tuple(chunks)
    if len(chunks) != len(shape):
        raise ValueError(
            f"chunks {chunks} do not match shape {shape}: give one chunk size per dimension"
        )
    out = []
    auto_axes = []
    for axis, (c, n) in enumerate(zip(chunks, shape)):
        if isinstance(c, str):
            if c != "auto":
                raise ValueError(f"chunks entry {c!r} is not understood: use an int, -1 or 'auto'")
            auto_axes.append(axis)
            out.append(None)
        elif c is None or (isinstance(c, (int, np.integer)) and c == -1):
            out.append((n,) if n else (0,))
        elif isinstance(c, (int, np.integer)):
            if c <= 0:
                raise ValueError(f"chunk size {c} on axis {axis} must be positive (or -1 for whole axis)")
            out.append(_regular(n, int(c)))
        else:
            sizes = tuple(int(x) for x in c)
            if sum(sizes) != n or any(x < 0 for x in sizes):
                raise ValueError(
                    f"chunks {sizes} on axis {axis} sum to {sum(sizes)}, but the shape is {n}: "
                    "block sizes along an axis must add up to its length"
                )
            out.append(sizes if sizes else (0,))
    if auto_axes:
        fixed = math.prod(max(max(c), 1) for c in out if c is not None)
        itemsize = np.dtype(dtype).itemsize if dtype is not None else 8
        budget = max(AUTO_CHUNK_BYTES // max(itemsize * fixed, 1), 1)
        side = max(int(budget ** (1 / len(auto_axes))), 1)
        for axis in auto_axes:
            out[axis] = _regular(shape[axis], min(side, max(shape[axis], 1)))
    return tuple(out)


def _regular(n: int, size: int) -> tuple[int, ...]:
    if n == 0:
        return (0,)
    full, rest = divmod(n, size)
    return (size,) * full + ((rest,) if rest else ())


def offsets(sizes: Sequence[int]) -> np.ndarray:
    """Start offset of each block along one axis, plus the total at the end."""
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def block_slices(chunks: Chunks, index: Sequence[int]) -> tuple[slice, ...]:
    """The region of the whole array covered by block ``index``."""
    out = []
    for sizes, i in zip(chunks, index):
        start = sum(sizes[:i])
        out.append(slice(start, start + sizes[i]))
    return tuple(out)


def block_shape(chunks: Chunks, index: Sequence[int]) -> tuple[int, ...]:
    return tuple(sizes[i] for sizes, i in zip(chunks, index))
