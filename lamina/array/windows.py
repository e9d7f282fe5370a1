"""``np.pad`` (constant) and ``sliding_window_view``: what xarray's ``rolling`` asks for.

    np.pad(x, ((2, 1), (0, 0)), constant_values=np.nan)    # lazy: concatenated borders
    sliding_window_view(x, 3, axis=0)                       # lazy: a stack of shifted slices

Both are built from existing layers (``full``, ``concatenate``, slicing,
``stack``), so they keep the input's chunks along the other axes and
optimize like any expression. A window of ``w`` reads each input block
about ``w`` times; the windows stay as lazy as the slices they are made of.
"""

from __future__ import annotations

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
    from lamina.array.manipulation import stack

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
        a = int(a) % x.ndim
        n = x.shape[a]
        shifted = [x[(slice(None),) * a + (slice(k, k + n - w + 1),)] for k in range(w)]
        x = stack(shifted, axis=-1)
    return x
