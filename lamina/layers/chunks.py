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
    block sizes), a tuple of tuples, a dict ``{axis: entry}`` (negative axes
    count from the end; axes not named: whole), or "auto". Sizes are whole
    numbers; a zero size is allowed only in an explicit tuple or on an
    empty axis.
    """
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"shape {shape} has a negative dimension")
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"chunks {chunks!r} is not understood: use an int, -1, a tuple or 'auto'")
        chunks = ("auto",) * len(shape)
    if _is_scalar(chunks) or chunks is None:
        chunks = (chunks,) * len(shape)
    if isinstance(chunks, dict):
        given = chunks_by_axis(chunks, len(shape), "chunks")
        chunks = tuple(given.get(i, -1) for i in range(len(shape)))
    try:
        chunks = tuple(chunks)
    except TypeError:
        raise TypeError(f"chunks {chunks!r} is not understood: use an int, -1, a tuple or "
                        "'auto'") from None
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
        elif c is None:
            out.append((n,) if n else (0,))
        elif _is_scalar(c):
            c = _whole(c, axis)
            if c == -1:
                out.append((n,) if n else (0,))
            elif c <= 0 and not (c == 0 and n == 0):
                raise ValueError(f"chunk size {c} on axis {axis} must be positive (or -1 for "
                                 "the whole axis)")
            else:
                out.append(_regular(n, c))
        else:
            out.append(_explicit(c, n, axis))
    if auto_axes:
        fixed = math.prod(max(max(c), 1) for c in out if c is not None)
        itemsize = np.dtype(dtype).itemsize if dtype is not None else 8
        budget = max(AUTO_CHUNK_BYTES // max(itemsize * fixed, 1), 1)
        side = max(int(budget ** (1 / len(auto_axes))), 1)
        for axis in auto_axes:
            out[axis] = _regular(shape[axis], min(side, max(shape[axis], 1)))
    return tuple(out)


def chunks_by_axis(mapping: dict, ndim: int, what: str = "chunks") -> dict[int, Any]:
    """``{axis: value}`` with axes made non-negative; AxisError for an axis out of range."""
    out: dict[int, Any] = {}
    for key, value in mapping.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"{what} keys must be axes (ints), got {key!r}")
        if not -ndim <= key < ndim:
            raise np.exceptions.AxisError(int(key), ndim, msg_prefix=what)
        axis = int(key) % ndim
        if axis in out:
            raise ValueError(f"{what} names axis {axis} twice (as {axis} and {axis - ndim}): "
                             "give each axis once")
        out[axis] = value
    return out


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating, np.bool_))


def _whole(value: Any, axis: int) -> int:
    """``value`` as an int, or a TypeError saying that chunk sizes are whole numbers."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"chunks must be whole numbers (ints): got {value!r} "
                        f"({type(value).__name__}) on axis {axis}")
    return int(value)


def _explicit(sizes: Any, n: int, axis: int) -> tuple[int, ...]:
    """An explicit tuple of block sizes along one axis, checked."""
    try:
        sizes = tuple(_whole(x, axis) for x in sizes)
    except TypeError as error:
        if "whole numbers" in str(error):
            raise
        raise TypeError(f"chunks entry {sizes!r} on axis {axis} is not understood: use an "
                        "int, -1, None, 'auto' or a tuple of block sizes") from None
    negative = [x for x in sizes if x < 0]
    if negative:
        raise ValueError(f"chunks {sizes} on axis {axis} hold the negative size {negative[0]}: "
                         "block sizes are counts of elements, 0 or more (-1 means the whole "
                         "axis only as a single entry, not inside a tuple)")
    if sum(sizes) != n:
        raise ValueError(
            f"chunks {sizes} on axis {axis} sum to {sum(sizes)}, but the shape is {n}: "
            "block sizes along an axis must add up to its length"
        )
    return sizes if sizes else (0,)


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
