"""Sorting, searching and sets: ``sort``, ``argsort``, ``searchsorted``, ``unique*``.

    la.sort(x, axis=0)                         # the axis in one block, other axes chunked
    la.argsort(x, descending=True, stable=True)
    la.searchsorted(edges, x)                  # lazy over the blocks of x (and of edges)
    la.unique_counts(x)                        # see the note on unique below

``sort``/``argsort`` rechunk the sorted axis to one block (as Dask's
``topk``-free sort must) and sort each block with NumPy, so the result is
NumPy's exactly, NaN last. ``searchsorted`` needs no rechunk: for a sorted
``a`` cut in blocks, the insertion index is the sum of the insertion
indices in each block.

The number of unique values depends on the data, and lamina blocks have
known sizes, so ``unique`` and ``unique_*`` compute when called and return
Arrays over the results. ``unique_values``, ``unique_counts`` and plain
``unique`` gather only each block's unique values and counts (computed on
the workers); ``unique_inverse``, ``unique_all`` and ``unique`` with
``return_index``/``return_inverse``/``axis`` compute the whole input.
``-0.0`` and ``0.0`` are one value, represented by either sign (NumPy's
choice follows its sort of the whole array).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from lamina.array.core import Array
from lamina.array.creation import asarray, from_array
from lamina.array.elementwise import elemwise
from lamina.array.manipulation import ravel
from lamina.array.map_blocks import map_blocks
from lamina.layers.blockwise import Blockwise


def _sort_block(block: np.ndarray, axis: int, kind: str | None, descending: bool,
                indices: bool) -> np.ndarray:
    if not descending:
        return (np.argsort if indices else np.sort)(block, axis=axis, kind=kind)
    # Flip, sort stably, flip back: descending, with ties in their original order.
    flipped = np.flip(block, axis)
    if not indices:
        return np.flip(np.sort(flipped, axis=axis, kind=kind), axis)
    order = np.flip(np.argsort(flipped, axis=axis, kind=kind), axis)
    return (block.shape[axis] - 1 - order).astype(np.intp, copy=False)


def _sorted(a: Any, axis: int | None, kind: str | None, stable: bool | None,
            descending: bool, indices: bool) -> Array:
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), -1
    if a.ndim == 0:
        raise np.exceptions.AxisError(axis, 0)
    axis = normalize_axis_index(int(axis), a.ndim)
    if stable is not None and kind is not None:
        raise ValueError("`kind` and `stable` parameters can't be provided at the same time. "
                         "Use only one of them.")
    if kind is None and stable is not False or stable or descending:
        kind = "stable"  # the Array API's default; one of the orders NumPy's default allows
    a = a.rechunk({axis: -1})
    func = functools.partial(_sort_block, axis=axis, kind=kind, descending=bool(descending),
                             indices=indices)
    return map_blocks(func, a, dtype=np.intp if indices else a.dtype,
                      name="argsort" if indices else "sort")


def sort(a: Any, axis: int | None = -1, kind: str | None = None, order: Any = None, *,
         descending: bool = False, stable: bool | None = None) -> Array:
    """Sorted copy along ``axis`` (None: flattened), NumPy's order (NaN last).

    ``descending`` and ``stable`` follow the Array API: a stable sort (the
    default unless ``kind=`` or ``stable=False`` says otherwise) keeps equal
    elements in their original order, descending too.
    """
    if order is not None:
        raise NotImplementedError("sort(order=...) of structured arrays is not supported")
    return _sorted(a, axis, kind, stable, descending, indices=False)


def argsort(a: Any, axis: int | None = -1, kind: str | None = None, order: Any = None, *,
            descending: bool = False, stable: bool | None = None) -> Array:
    """Indices that sort ``a`` along ``axis``; see ``sort``."""
    if order is not None:
        raise NotImplementedError("argsort(order=...) of structured arrays is not supported")
    return _sorted(a, axis, kind, stable, descending, indices=True)


def _search_block(v: np.ndarray, a: np.ndarray, side: str, sorter: Any) -> np.ndarray:
    return np.searchsorted(a, v, side=side, sorter=sorter).astype(np.intp, copy=False)


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Array:
    """Where ``v``'s values go in the sorted 1-D ``a`` to keep it sorted, like ``np.searchsorted``.

    Lazy over ``v``'s blocks; a lamina ``a`` adds one term per block of ``a``.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    v = asarray(v)
    if isinstance(a, Array) and a.size == 0:
        a = np.empty(a.shape, a.dtype)
    if not isinstance(a, Array):
        a = np.asarray(a)
        if a.ndim != 1:
            raise ValueError("object too deep for desired array: a must be 1-dimensional")
        return elemwise(_search_block, v, a=a, side=side, sorter=sorter, dtype=np.intp,
                        name="searchsorted")
    if a.ndim != 1:
        raise ValueError("object too deep for desired array: a must be 1-dimensional")
    if sorter is not None:
        a = a[np.asarray(sorter)]
    starts = np.cumsum((0,) + a.chunks[0])
    terms = [_search_lamina_block(a[int(lo):int(hi)], v, side)
             for lo, hi in zip(starts[:-1], starts[1:]) if hi > lo]
    return functools.reduce(lambda p, q: p + q, terms)


def _search_lamina_block(piece: Array, v: Array, side: str) -> Array:
    """``searchsorted(piece, v)``: ``piece`` in one block, read by every block of ``v``."""
    piece = piece.rechunk(-1)
    layer = Blockwise(_search_in, v.chunks, np.dtype(np.intp),
                      (tuple(range(v.ndim)), (None,)), (("side", side),),
                      (v.layer, piece.layer), "searchsorted")
    return Array(layer)


def _search_in(v: np.ndarray, a: np.ndarray, side: str) -> np.ndarray:
    return np.searchsorted(a, v, side=side).astype(np.intp, copy=False)


class UniqueAllResult(NamedTuple):
    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class UniqueCountsResult(NamedTuple):
    values: Array
    counts: Array


class UniqueInverseResult(NamedTuple):
    values: Array
    inverse_indices: Array


def _computed(x: Any) -> np.ndarray:
    return np.asarray(x.compute() if isinstance(x, Array) else x)


def _wrap(*values: np.ndarray) -> list[Array]:
    return [from_array(v, chunks=-1) for v in values]


class BlockUniques:
    """One block's unique values and their counts (an object block's element)."""

    __slots__ = ("values", "counts")

    def __init__(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values, self.counts = values, counts

    def __reduce__(self) -> tuple:
        return (BlockUniques, (self.values, self.counts))


def _block_unique(block: np.ndarray, equal_nan: bool) -> np.ndarray:
    """One block's unique values and counts, as a one-element object block."""
    out = np.empty((1,) * block.ndim, dtype=object)
    out.reshape(-1)[0] = BlockUniques(*np.unique(block.reshape(-1), return_counts=True,
                                                 equal_nan=equal_nan))
    return out


def _values_counts(x: Any, equal_nan: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and their counts; only each block's uniques leave the workers."""
    x = asarray(x)
    if x.size == 0:
        return np.unique(np.empty(0, x.dtype), return_counts=True, equal_nan=equal_nan)
    per_block = map_blocks(functools.partial(_block_unique, equal_nan=equal_nan), x,
                           dtype=object, chunks=tuple((1,) * nb for nb in x.numblocks),
                           name="unique")
    result = per_block.compute()
    parts = [result] if isinstance(result, BlockUniques) else \
        list(np.asarray(result, dtype=object).reshape(-1))
    values = np.concatenate([p.values for p in parts])
    counts = np.concatenate([p.counts for p in parts])
    unique_values, inverse = np.unique(values, return_inverse=True, equal_nan=equal_nan)
    total = np.zeros(len(unique_values), dtype=np.intp)
    np.add.at(total, inverse, counts)
    return unique_values, total


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, *,
           equal_nan: bool = True) -> Any:
    """Sorted unique values, like ``np.unique``; computes now (see the module note).

    Without ``return_index``, ``return_inverse`` or ``axis``, each block is
    reduced to its unique values (and counts) on the workers and only those
    are gathered; otherwise the whole of ``ar`` is computed.
    """
    if not (return_index or return_inverse or axis is not None):
        values, counts = _values_counts(ar, equal_nan)
        return tuple(_wrap(values, counts)) if return_counts else _wrap(values)[0]
    out = np.unique(_computed(ar), return_index=return_index, return_inverse=return_inverse,
                    return_counts=return_counts, axis=axis, equal_nan=equal_nan)
    return tuple(_wrap(*out)) if isinstance(out, tuple) else _wrap(out)[0]


def unique_values(x: Any, /) -> Array:
    """Array API ``unique_values``: NaNs are all distinct; gathers each block's uniques."""
    return _wrap(_values_counts(x, equal_nan=False)[0])[0]


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """Array API ``unique_counts``: NaNs are all distinct; gathers each block's uniques."""
    return UniqueCountsResult(*_wrap(*_values_counts(x, equal_nan=False)))


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """Array API ``unique_inverse`` (inverse in ``x``'s shape); computes ``x`` now."""
    return UniqueInverseResult(*_wrap(*np.unique_inverse(_computed(x))))


def unique_all(x: Any, /) -> UniqueAllResult:
    """Array API ``unique_all``; computes ``x`` now."""
    return UniqueAllResult(*_wrap(*np.unique_all(_computed(x))))


__all__ = ["argsort", "searchsorted", "sort", "unique", "unique_all", "unique_counts",
           "unique_inverse", "unique_values"]
