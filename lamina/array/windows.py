"""``np.pad`` (constant) and ``sliding_window_view``: what xarray's ``rolling`` asks for.

    np.pad(x, ((2, 1), (0, 0)), constant_values=np.nan)    # lazy: concatenated borders
    sliding_window_view(x, 3, axis=0)                       # lazy: each block with a halo

Both are built from existing layers (``full``, ``concatenate``, slicing,
``map_blocks``), so they keep the input's chunks along the other axes and
optimize like any expression. The windows of a block are a NumPy view of
the block joined to the start of the next: no more blocks than the input.
"""

from __future__ import annotations

import importlib
from typing import Any, Sequence

import numpy as np

from lamina.array.core import Array


def pad(array: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0,
        **kwargs: Any) -> Array:
    """``np.pad`` with ``mode="constant"``: borders of ``constant_values`` (cast to
    the array's dtype, as NumPy does)."""
    from lamina.array.creation import asarray, full
    from lamina.array.manipulation import concatenate

    if mode != "constant" or kwargs:
        raise NotImplementedError(f"np.pad mode={mode!r} on lamina Arrays: only "
                                  "mode='constant' is supported; compute() first for others")
    x = asarray(array)
    if x.ndim == 0:
        return x
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    values = np.broadcast_to(np.asarray(constant_values, dtype=object), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad_width {pad_width!r} has a negative width")
    for axis in range(x.ndim):
        before, after = (int(w) for w in widths[axis])
        if not before and not after:
            continue
        parts = []
        for width, value in ((before, values[axis, 0]), (after, values[axis, 1])):
            shape = x.shape[:axis] + (width,) + x.shape[axis + 1:]
            chunks = x.chunks[:axis] + ((width,),) + x.chunks[axis + 1:]
            parts.append(full(shape, value, chunks=chunks, dtype=x.dtype) if width else None)
        x = concatenate([p for p in (parts[0], x, parts[1]) if p is not None], axis=axis)
    return x


def sliding_window_view(x: Any, window_shape: int | Sequence[int], axis: Any = None, *,
                        subok: bool = False, writeable: bool = False) -> Array:
    """``np.lib.stride_tricks.sliding_window_view``: windows as new trailing axes."""
    from lamina.array.creation import asarray

    x = asarray(x)
    windows = (window_shape,) if np.isscalar(window_shape) else tuple(window_shape)
    axes = tuple(range(x.ndim)) if axis is None else (
        (axis,) if np.isscalar(axis) else tuple(axis))
    if len(windows) != len(axes):
        raise ValueError(f"window_shape {window_shape!r} and axis {axis!r} differ in length: "
                         "give one window size per axis")
    for w, a in zip(windows, axes):
        n = x.shape[int(a) % x.ndim]
        if w < 0 or w > n:
            raise ValueError(f"window {w} does not fit axis {a} of length {n}: a window "
                             "is at most as long as its axis")
    if 0 in windows:  # empty windows: only the shape matters, found on a zero-stride view
        from lamina.array.creation import empty

        template = np.broadcast_to(np.empty((), x.dtype), x.shape)
        return empty(np.lib.stride_tricks.sliding_window_view(template, windows, axes).shape,
                     dtype=x.dtype)
    for w, a in zip(windows, axes):
        x = _windows_along(x, int(w), int(a) % x.ndim)
    return x


def _windows_along(x: Array, window: int, axis: int) -> Array:
    """Windows of ``window`` values along ``axis``, block by block, as a new last axis.

    Each block is joined to the first ``window - 1`` values of the next (its
    halo) and NumPy's windows are taken of that. Chunks shorter than the
    window are first merged with the next ones, so that a halo lies in one
    block: the windows have as many blocks as the input. (A stack of ``window``
    shifted slices, the obvious way, cuts the blocks at every offset: a
    30-day rolling mean of daily blocks made 30 blocks per day.)
    """
    from lamina.array.manipulation import concatenate
    from lamina.array.map_blocks import map_blocks

    n = x.shape[axis]
    sizes = merged_chunks(x.chunks[axis], window)
    if sizes != x.chunks[axis]:
        x = x.rechunk({axis: sizes})
    starts = np.cumsum((0,) + sizes)
    stops = [min(int(stop) + window - 1, n) for stop in starts[1:]]
    if window > 1 and len(sizes) > 1:
        pieces = [x[(slice(None),) * axis + (slice(int(lo), hi),)]
                  for lo, hi in zip(starts[:-1], stops)]
        x = concatenate(pieces, axis=axis).rechunk(
            {axis: tuple(hi - int(lo) for lo, hi in zip(starts[:-1], stops))})
    out = sizes[:-1] + (sizes[-1] - window + 1,)
    return map_blocks(_block_windows, x, window=window, axis=axis, dtype=x.dtype,
                      chunks=x.chunks[:axis] + (out,) + x.chunks[axis + 1:] + ((window,),),
                      new_axis=x.ndim, name="sliding_window_view")


def merged_chunks(sizes: tuple[int, ...], least: int) -> tuple[int, ...]:
    """``sizes`` with each chunk shorter than ``least`` merged into the next (the last
    into the one before), as Dask's ``map_overlap`` merges chunks shorter than its depth."""
    out: list[int] = []
    for size in sizes:
        if out and out[-1] < least:
            out[-1] += size
        else:
            out.append(size)
    if len(out) > 1 and out[-1] < least:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def _block_windows(block: Any, window: int, axis: int) -> Any:
    xp = np if isinstance(block, np.ndarray) else \
        importlib.import_module(type(block).__module__.split(".")[0])
    return xp.lib.stride_tricks.sliding_window_view(block, window, axis=axis)
