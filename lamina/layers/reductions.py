"""Tree reductions as layers: chunk, combine, aggregate.

A reduction over some axes is three kinds of layer:

* ``ReduceChunk`` reduces every block on its own (keeping the reduced axes
  with length 1), giving one small *partial* per block. A partial may be an
  array or a tuple of arrays (mean: ``(sum, count)``; var:
  ``(count, mean, M2)``; argmin: ``(values, global indices)``).
* ``ReduceCombine`` merges groups of up to ``split_every[i]`` partials along
  each reduced axis ``axes[i]``; repeated until few blocks remain.
* ``ReduceAggregate`` merges the remaining partials along the reduced axes
  and turns the result into the answer (drops the reduced axes unless
  ``keepdims``).

``reduction(layer, "sum", axes=(0,), ...)`` builds the whole tree::

    out = reduction(x, "mean", (0, 1), acc_dtype=np.dtype("f8"),
                    out_dtype=np.dtype("f8"), keepdims=False, split_every=None)

Operations are named by string and looked up in ``OPERATIONS``, so a layer's
parameters stay plain values (shapes, axes, split sizes, names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Sequence

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.chunks import offsets
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted

GROUP_BLOCKS = 16
COMBINE_BYTES = 256 * 2**20
SMALL_PARTIAL = 4096
_INDEX_MAX = np.iinfo(np.int64).max


# operations ------------------------------------------------------------------
def _is_small(parts: list) -> bool:
    return parts[0].size <= SMALL_PARTIAL


def _merge_with(ufunc: np.ufunc, parts: list, axis: int) -> Any:
    """Merge same-shaped partials with a binary ufunc along ``axis``.

    Small partials are joined and reduced in one call; large ones are folded
    into one buffer so that no joined copy is made.
    """
    if len(parts) == 1:
        return parts[0]
    if _is_small(parts):
        joined = np.concatenate(parts, axis=axis)
        return ufunc.reduce(joined, axis=axis, dtype=joined.dtype, keepdims=True)
    out = ufunc(parts[0], parts[1])
    for part in parts[2:]:
        ufunc(out, part, out=out)
    return out


def _ufunc_op(ufunc: np.ufunc, typed: bool, identity: bool = True) -> "ReductionOp":
    def chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> Any:
        if typed:
            return ufunc.reduce(b, axis=axes, dtype=dtype, keepdims=True)
        return ufunc.reduce(b, axis=axes, keepdims=True)

    def combine(parts: list, axis: int) -> Any:
        return _merge_with(ufunc, parts, axis)

    return ReductionOp(chunk, combine, identity=identity)


def _same(part: Any, **options: Any) -> Any:
    return part


def _count(b: Any, axes: tuple[int, ...]) -> int:
    return math.prod(b.shape[k] for k in axes)


def _nansum_chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> Any:
    return np.add.reduce(np.where(np.isnan(b), 0, b), axis=axes, dtype=dtype, keepdims=True)


def _mean_chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> tuple:
    return np.add.reduce(b, axis=axes, dtype=dtype, keepdims=True), _count(b, axes)


def _nanmean_chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> tuple:
    missing = np.isnan(b)
    total = np.add.reduce(np.where(missing, 0, b), axis=axes, dtype=dtype, keepdims=True)
    return total, np.add.reduce(~missing, axis=axes, dtype=np.int64, keepdims=True)


def _mean_combine(parts: list, axis: int) -> tuple:
    total = _merge_with(np.add, [p[0] for p in parts], axis)
    counts = [p[1] for p in parts]
    if isinstance(counts[0], int):
        return total, sum(counts)
    return total, _merge_with(np.add, counts, axis)


def _mean_finish(part: tuple, **options: Any) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return part[0] / part[1]


def _abs2(d: Any) -> Any:
    """``|d| ** 2``, real even for complex ``d``."""
    if d.dtype.kind == "c":
        return d.real * d.real + d.imag * d.imag
    return d * d


def _var_chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> tuple:
    n = _count(b, axes)
    mean = np.add.reduce(b, axis=axes, dtype=dtype, keepdims=True) / max(n, 1)
    return n, mean, np.add.reduce(_abs2(b - mean), axis=axes, keepdims=True)


def _var_combine(parts: list, axis: int) -> tuple:
    """Chan et al.'s parallel formula: ``M2 = sum M2_i + sum n_i |mean_i - mean|^2``.

    Small NumPy partials are merged in one vectorized step; others one at a
    time (the pairwise form), with Python scalars only.
    """
    counts = [p[0] for p in parts]
    n = sum(counts)
    if n == 0:
        return parts[0]
    if _is_small([p[1] for p in parts]) and isinstance(parts[0][1], np.ndarray):
        shape = [1] * parts[0][1].ndim
        shape[axis] = len(parts)
        weights = np.asarray(counts, dtype=np.float64).reshape(shape)
        means = np.concatenate([p[1] for p in parts], axis=axis)
        mean = np.add.reduce(means * (weights / n), axis=axis, keepdims=True)
        spread = np.add.reduce(_abs2(means - mean) * weights, axis=axis, keepdims=True)
        m2 = np.add.reduce(np.concatenate([p[2] for p in parts], axis=axis), axis=axis,
                           keepdims=True)
        return n, mean.astype(means.dtype, copy=False), m2 + spread.astype(m2.dtype, copy=False)
    count, mean, m2 = parts[0]
    for nb, mean_b, m2_b in parts[1:]:
        total = count + nb
        frac = nb / total if total else 0.0
        delta = mean_b - mean
        mean = mean + delta * frac
        m2 = m2 + m2_b + _abs2(delta) * (count * frac)
        count = total
    return count, mean, m2


def _var_finish(part: tuple, ddof: int = 0, **options: Any) -> Any:
    n, _, m2 = part
    with np.errstate(invalid="ignore", divide="ignore"):
        return m2 / max(n - ddof, 0)


def _std_finish(part: tuple, ddof: int = 0, **options: Any) -> Any:
    return np.sqrt(_var_finish(part, ddof))


def _arg_op(kind: str) -> "ReductionOp":
    pick = np.argmin if kind == "min" else np.argmax
    best = np.minimum if kind == "min" else np.maximum

    def chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> tuple:
        starts, shape = where
        if not axes:
            return b, np.zeros_like(b, dtype=np.int64)
        if len(axes) == 1:
            axis = axes[0]
            local = pick(b, axis=axis, keepdims=True)
            return np.take_along_axis(b, local, axis=axis), local.astype(np.int64) + starts[axis]
        local = int(pick(b))
        coords = np.unravel_index(local, b.shape)
        flat = np.ravel_multi_index(tuple(c + s for c, s in zip(coords, starts)), shape)
        value = b.reshape(-1)[local:local + 1].reshape((1,) * b.ndim)
        return value, np.full_like(value, flat, dtype=np.int64)

    def combine(parts: list, axis: int) -> tuple:
        values = np.concatenate([p[0] for p in parts], axis=axis)
        index = np.concatenate([p[1] for p in parts], axis=axis)
        winner = best.reduce(values, axis=axis, keepdims=True)
        hit = values == winner
        if values.dtype.kind in "fc":
            hit |= np.isnan(values) & np.isnan(winner)
        return winner, np.where(hit, index, _INDEX_MAX).min(axis=axis, keepdims=True)

    def finish(part: tuple, **options: Any) -> Any:
        return part[1]

    return ReductionOp(chunk, combine, finish, identity=False, positional=True)


@dataclass(frozen=True)
class ReductionOp:
    """How one reduction makes, merges and finishes partials.

    ``chunk(block, axes, dtype, where)`` reduces a block (keepdims);
    ``where`` is ``(block start per axis, array shape)`` when ``positional``.
    ``combine(parts, axis)`` merges a list of two or more partials of equal
    shape (``axis`` is a reduced axis, where they have length 1);
    ``finish(part, **options)`` turns the last partial into the result.
    Without an ``identity``, a block with no elements has no partial
    (``None``).
    """

    chunk: Callable
    combine: Callable
    finish: Callable = _same
    identity: bool = True
    positional: bool = False


OPERATIONS: dict[str, ReductionOp] = {
    "sum": _ufunc_op(np.add, typed=True),
    "prod": _ufunc_op(np.multiply, typed=True),
    "nansum": ReductionOp(_nansum_chunk, _ufunc_op(np.add, typed=True).combine),
    "min": _ufunc_op(np.minimum, typed=False, identity=False),
    "max": _ufunc_op(np.maximum, typed=False, identity=False),
    "nanmin": _ufunc_op(np.fmin, typed=False, identity=False),
    "nanmax": _ufunc_op(np.fmax, typed=False, identity=False),
    "any": _ufunc_op(np.logical_or, typed=False),
    "all": _ufunc_op(np.logical_and, typed=False),
    "mean": ReductionOp(_mean_chunk, _mean_combine, _mean_finish),
    "nanmean": ReductionOp(_nanmean_chunk, _mean_combine, _mean_finish),
    "var": ReductionOp(_var_chunk, _var_combine, _var_finish),
    "std": ReductionOp(_var_chunk, _var_combine, _std_finish),
    "argmin": _arg_op("min"),
    "argmax": _arg_op("max"),
}


# layers ----------------------------------------------------------------------
def _reduced_chunks(chunks: Chunks, axes: tuple[int, ...], groups: Sequence[int] | None) -> Chunks:
    out = list(chunks)
    for i, k in enumerate(axes):
        n = len(chunks[k])
        size = n if groups is None else groups[i]
        out[k] = (1,) * max(-(-n // size), 1)
    return tuple(out)


@trusted(version=1)
class ReduceChunk(Layer):
    """Each block reduced on its own over ``axes`` (kept with length 1)."""

    _parameters = ("x", "op", "axes", "acc_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return _reduced_chunks(self.x.chunks, self.axes, (1,) * len(self.axes)), self.acc_dtype

    def label(self) -> str:
        return f"ReduceChunk[{self.op}]"

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def dependency_block_maps(self, block_map: tuple) -> list[tuple]:
        return [block_map]

    def kernel(self) -> Kernel:
        op = OPERATIONS[self.op]
        chunk, axes, dtype = op.chunk, self.axes, self.acc_dtype
        empty_is_none = not op.identity
        if not op.positional:
            if empty_is_none:
                return lambda block, inputs: (
                    None if any(inputs[0].shape[k] == 0 for k in axes)
                    else chunk(inputs[0], axes, dtype, None))
            return lambda block, inputs: chunk(inputs[0], axes, dtype, None)
        starts = [offsets(c).tolist() for c in self.x.chunks]
        shape, index = self.x.shape, self.block_index

        def run(block: int, inputs: list) -> Any:
            value = inputs[0]
            if any(value.shape[k] == 0 for k in axes):
                return None
            where = ([s[i] for s, i in zip(starts, index(block))], shape)
            return chunk(value, axes, dtype, where)

        return run


class _GroupedLayer(Layer):
    """Reads groups of blocks of ``x`` along ``axes``; the same block elsewhere."""

    def _groups(self) -> Sequence[int]:
        raise NotImplementedError

    @cached_property
    def _axis_maps(self) -> list[AxisMap]:
        sizes = dict(zip(self.axes, self._groups()))
        return [AxisMap.groups(nb, sizes[k]) if k in sizes else AxisMap.identity(nb)
                for k, nb in enumerate(self.x.numblocks)]

    def _out_axis_of(self) -> list[int | None]:
        return list(range(self.x.ndim))

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        if all(self.x.numblocks[k] == 1 for k in self.axes):
            return [one_to_one(out_blocks)]
        return [product_deps(out_blocks, self.numblocks, self._axis_maps, self.x.numblocks,
                             self._out_axis_of())]

    def _merge(self) -> Callable[[list], Any]:
        op = OPERATIONS[self.op]
        combine = op.combine
        axis = self.axes[0] if self.axes else 0
        if op.identity:
            return lambda parts: parts[0] if len(parts) == 1 else combine(parts, axis)

        def merge(parts: list) -> Any:
            parts = [p for p in parts if p is not None]
            if len(parts) <= 1:
                return parts[0] if parts else None
            return combine(parts, axis)

        return merge


@trusted(version=1)
class ReduceCombine(_GroupedLayer):
    """Merges groups of ``split_every[i]`` partials along each ``axes[i]``."""

    _parameters = ("x", "op", "axes", "split_every")

    def _groups(self) -> Sequence[int]:
        return self.split_every

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return _reduced_chunks(self.x.chunks, self.axes, self.split_every), self.x.dtype

    def label(self) -> str:
        return f"ReduceCombine[{self.op}]"

    def kernel(self) -> Kernel:
        merge = self._merge()
        return lambda block, inputs: merge(inputs)


@trusted(version=1)
class ReduceAggregate(_GroupedLayer):
    """Merges all partials along ``axes`` and finishes them into the result."""

    _parameters = ("x", "op", "axes", "keepdims", "out_dtype", "options")
    _defaults = {"options": ()}

    def _groups(self) -> Sequence[int]:
        return [max(self.x.numblocks[k], 1) for k in self.axes]

    def _meta(self) -> tuple[Chunks, np.dtype]:
        chunks = _reduced_chunks(self.x.chunks, self.axes, None)
        if not self.keepdims:
            chunks = tuple(c for k, c in enumerate(chunks) if k not in self.axes)
        return chunks, self.out_dtype

    def _out_axis_of(self) -> list[int | None]:
        if self.keepdims:
            return list(range(self.x.ndim))
        kept = [k for k in range(self.x.ndim) if k not in self.axes]
        return [kept.index(k) if k in kept else None for k in range(self.x.ndim)]

    def label(self) -> str:
        return f"ReduceAggregate[{self.op}]"

    def kernel(self) -> Kernel:
        merge = self._merge()
        finish = OPERATIONS[self.op].finish
        options = dict(self.options)
        xp, dtype = self.array_module, self.out_dtype
        chunks, index = self.chunks, self.block_index

        def run(block: int, inputs: list) -> Any:
            value = xp.asarray(finish(merge(inputs), **options)).astype(dtype, copy=False)
            return value.reshape(tuple(c[i] for c, i in zip(chunks, index(block))))

        return run


# trees -----------------------------------------------------------------------
def default_split_every(numblocks: Sequence[int], partial_bytes: int = 8,
                        total: int | None = None) -> tuple[int, ...]:
    """Blocks per group along each reduced axis, about ``total`` per group.

    The budget (default: ``GROUP_BLOCKS``, fewer when partials are large) is
    shared among the axes with several blocks: axes with few blocks take
    them all, the others share the rest evenly (at least 2 each).
    """
    if total is None:
        total = max(min(GROUP_BLOCKS, COMBINE_BYTES // max(partial_bytes, 1)), 2)
    out = [1] * len(numblocks)
    remaining = float(total)
    order = sorted(range(len(numblocks)), key=lambda i: numblocks[i])
    for pos, i in enumerate(order):
        share = max(int(round(remaining ** (1.0 / (len(order) - pos)))), 2)
        out[i] = max(min(numblocks[i], share), 1)
        remaining = max(remaining / out[i], 1.0)
    return tuple(max(s, 2) for s in out)


def combine_tree(partials: Layer, op: str, axes: tuple[int, ...], split_every: Sequence[int],
                 keepdims: bool, out_dtype: np.dtype, options: tuple = ()) -> Layer:
    """Combine levels over a layer of partials, then the aggregate step."""
    if op not in OPERATIONS:
        raise ValueError(f"unknown reduction {op!r}: use one of {sorted(OPERATIONS)}")
    split_every = tuple(int(s) for s in split_every)
    if len(split_every) != len(axes) or any(s < 2 for s in split_every):
        raise ValueError(f"split_every {split_every} must give a group size >= 2 per reduced "
                         f"axis {axes}")
    layer = partials
    while any(layer.numblocks[k] > s for k, s in zip(axes, split_every)):
        layer = ReduceCombine(layer, op, axes, split_every)
    return ReduceAggregate(layer, op, axes, bool(keepdims), np.dtype(out_dtype), tuple(options))


def reduction(x: Layer, op: str, axes: tuple[int, ...], acc_dtype: np.dtype,
              out_dtype: np.dtype, keepdims: bool, split_every: Sequence[int] | None,
              options: tuple = ()) -> Layer:
    """The whole tree reducing ``x`` over ``axes`` (sorted, non-negative)."""
    axes = tuple(int(a) for a in axes)
    if split_every is None:
        width = math.prod(max(c) if c else 1 for k, c in enumerate(x.chunks) if k not in axes)
        split_every = default_split_every([x.numblocks[k] for k in axes],
                                          width * np.dtype(acc_dtype).itemsize * 2)
    chunked = ReduceChunk(x, op, axes, np.dtype(acc_dtype))
    return combine_tree(chunked, op, axes, split_every, keepdims, out_dtype, options)
