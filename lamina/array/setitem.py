"""``x[index] = value``: a new layer for ``x``, the old one untouched.

    y = x            # the same Array object: y sees the assignment
    z = x + 0        # another expression: z keeps the old values
    x[2:5] = 0       # x now names a new layer (as in Dask)
    x[x < 0] = 0     # a boolean mask with a scalar: where(mask, 0, x)

Layers are immutable, so ``__setitem__`` builds a new expression and
rebinds the Array to it; every expression built from the old layer keeps
the old values. A small in-memory source (from ``from_array``, ``full``,
``zeros``...) is copied with NumPy's assignment. Otherwise each block of
``x`` is rewritten by a blockwise kernel that finds which of its elements
the index selects from their coordinates (basic indices: ints, slices,
``None``, ``...``, and one 1-D integer array or boolean mask). ``value``
may be a scalar, an in-memory array or a lazy 0-d Array; a lazy N-d value
is computed first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.sources import FromArray, Full

COPY_LIMIT_BYTES = 2**20


def setitem(x: Array, index: Any, value: Any) -> Array:
    """The expression of ``x`` after ``x[index] = value``."""
    from lamina.array.creation import from_array
    from lamina.array.elementwise import elemwise

    region = x[_without_lazy_mask(index)]  # validates the index like getitem
    if _is_lazy_mask(index, x):
        if getattr(value, "ndim", np.ndim(value)) != 0:
            raise NotImplementedError(
                "x[mask] = value with a lazy mask needs a scalar (or 0-d) value: the number "
                "of selected elements is not known before computing")
        return elemwise(np.where, index, _scalar_value(value, x.dtype), x, dtype=x.dtype,
                        name="setitem-mask")
    if isinstance(value, Array) and value.ndim > 0:
        value = value.compute()
    if isinstance(x.layer, (FromArray, Full)) and x.nbytes <= COPY_LIMIT_BYTES:
        data = np.array(x.compute())
        data[index] = np.asarray(value) if not isinstance(value, Array) else value.compute()
        return from_array(data, chunks=x.chunks)
    if isinstance(value, Array):
        values = value.astype(x.dtype)
    else:
        with np.errstate(all="ignore"):
            values = np.asarray(value).astype(x.dtype)
    value_shape = values.shape
    if np.broadcast_shapes(value_shape, region.shape) != region.shape:
        raise ValueError(f"could not broadcast input array from shape {value_shape} "
                         f"into shape {region.shape}")
    specs, order, lengths = _plan(index, x.shape)
    coords = [_coordinate(x, k) for k in range(x.ndim)]
    kwargs = {"specs": specs, "order": order}
    if isinstance(values, Array):
        return elemwise(_assign_scalar, x, values, *coords, dtype=x.dtype, name="setitem",
                        **kwargs)
    # the region's axes without those ``None`` added, in the order of ``order``
    values = np.ascontiguousarray(np.broadcast_to(values, region.shape)).reshape(lengths)
    return elemwise(_assign, x, *coords, dtype=x.dtype, name="setitem", values=values,
                    **kwargs)


def _is_lazy_mask(index: Any, x: Array) -> bool:
    return isinstance(index, Array) and index.dtype == np.bool_ and index.shape == x.shape


def _without_lazy_mask(index: Any) -> Any:
    if isinstance(index, Array) and index.dtype == np.bool_:
        return ...
    if isinstance(index, Array):
        raise NotImplementedError("x[i] = v with a lazy integer index: compute the index first")
    return index


def _scalar_value(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, Array):
        return value.astype(dtype)
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(dtype)[()]


def _coordinate(x: Array, axis: int) -> Array:
    """Positions along ``axis``, shaped to broadcast against ``x``, chunked like it."""
    from lamina.array.creation import arange

    line = arange(x.shape[axis], chunks=(x.chunks[axis],))
    return line[tuple(slice(None) if k == axis else None for k in range(x.ndim))]


def _expanded(index: Any, ndim: int) -> list[Any]:
    """The index with the ellipsis expanded (``None`` entries kept)."""
    entries = list(index) if isinstance(index, tuple) else [index]
    used = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if Ellipsis in [e for e in entries if not isinstance(e, np.ndarray)]:
        at = next(i for i, e in enumerate(entries) if e is Ellipsis)
        return entries[:at] + [slice(None)] * (ndim - used) + entries[at + 1:]
    return entries + [slice(None)] * (ndim - used)


def _plan(index: Any, shape: tuple[int, ...]) -> tuple[tuple, tuple[int, ...], list[int]]:
    """Per axis of ``x``: ("int", i), ("slice", start, stop, step) or ("table", lookup).

    ``order`` lists the axes of ``x`` that stay in the region, in the
    region's order (an advanced index not next to the ints goes first),
    and ``lengths`` how many positions each of them selects.
    """
    specs = []
    kinds = []
    sizes = []
    axis = 0
    for entry in _expanded(index, len(shape)):
        if entry is None:
            continue
        n = shape[axis]
        if isinstance(entry, slice):
            specs.append(("slice", *entry.indices(n)))
            kinds.append("slice")
            sizes.append(len(range(*entry.indices(n))))
        elif isinstance(entry, (int, np.integer)) or (np.ndim(entry) == 0
                                                      and not isinstance(entry, (list, tuple))):
            specs.append(("int", int(entry) % n))
            kinds.append("int")
            sizes.append(1)
        else:
            positions = np.asarray(entry)
            if positions.dtype == np.bool_:
                positions = np.flatnonzero(positions)
            positions = np.where(positions < 0, positions + n, positions)
            table = np.full(n, -1, dtype=np.int64)
            table[positions] = np.arange(len(positions))
            specs.append(("table", table))
            kinds.append("array")
            sizes.append(len(positions))
        axis += 1
    kept = [k for k, kind in enumerate(kinds) if kind != "int"]
    if "array" in kinds:
        advanced = [k for k, kind in enumerate(kinds) if kind in ("int", "array")]
        if advanced[-1] - advanced[0] != len(advanced) - 1:
            at = kinds.index("array")
            kept = [at] + [k for k in kept if k != at]
    return tuple(specs), tuple(kept), [sizes[k] for k in kept]


def _selection(spec: tuple, c: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Which coordinates ``c`` the spec selects, and their position in the region."""
    kind = spec[0]
    if kind == "int":
        return c == spec[1], None
    if kind == "table":
        pos = spec[1][c]
        return pos >= 0, np.maximum(pos, 0)
    start, stop, step = spec[1:]
    offset = c - start
    if step > 0:
        inside = (c >= start) & (c < stop)
    else:
        inside = (c <= start) & (c > stop)
    inside &= offset % step == 0
    return inside, np.where(inside, offset // step, 0)


def _mask_and_positions(specs: tuple, coords: tuple) -> tuple[Any, dict[int, np.ndarray]]:
    mask: Any = True
    positions = {}
    for k, (spec, c) in enumerate(zip(specs, coords)):
        inside, pos = _selection(spec, c)
        mask = mask & inside
        if pos is not None:
            positions[k] = pos
    return mask, positions


def _assign(block: np.ndarray, *coords: np.ndarray, specs: tuple, order: tuple,
            values: np.ndarray) -> np.ndarray:
    """One block of ``x`` with the selected elements replaced from ``values``."""
    mask, positions = _mask_and_positions(specs, coords)
    mask = np.broadcast_to(mask, block.shape)
    if not mask.any():
        return block
    picked = values[tuple(positions[k] for k in order)] if order else values
    out = block.copy()
    np.copyto(out, np.broadcast_to(picked, block.shape), where=mask)
    return out


def _assign_scalar(block: np.ndarray, value: np.ndarray, *coords: np.ndarray, specs: tuple,
                   order: tuple) -> np.ndarray:
    """One block with the selected elements set to a (lazy) 0-d value."""
    mask, _ = _mask_and_positions(specs, coords)
    return np.where(mask, value, block).astype(block.dtype, copy=False)
