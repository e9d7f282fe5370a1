"""Source layers: blocks made from nothing but parameters, or from an
in-memory array.

``FromArray`` slices a NumPy (or CuPy) array; ``Full`` fills blocks with a
value (zeros/ones/empty/full); ``Arange`` and ``Linspace`` compute their
block's values from its offset; ``FromBlocks`` holds already computed blocks
(what ``persist`` returns).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import Chunks, Kernel, Layer
from lamina.layers.registry import trusted
from lamina.tokenize import identity_token, tokenize

HASH_LIMIT_BYTES = 64 * 2**20


class _ByIdentity:
    """Wraps a large array so that its token names the array, not its bytes.

    Hashing gigabytes to name a node costs seconds; an in-memory array is
    only ever equal to itself within one process anyway. The name comes from
    ``identity_token`` (never reused by a later array, unlike ``id``); a
    view is named by its base array and where it lies in it, so equal
    slices of one array get equal tokens.
    """

    __slots__ = ("value", "_token")

    def __init__(self, value: Any, token: str | None = None) -> None:
        self.value = value
        self._token = token or _array_name(value)

    def __reduce__(self) -> tuple:
        return (type(self), (self.value, self._token))


def _array_name(value: Any) -> str:
    root = value
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    if root is value or not isinstance(value, np.ndarray):
        return tokenize("array", identity_token(value), value.shape, str(value.dtype))
    offset = value.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return tokenize("array-view", identity_token(root), offset, value.shape, value.strides,
                    str(value.dtype))


def wrap_array(value: Any) -> Any:
    """Operand form of an in-memory array: hashed if small, by identity if large."""
    if getattr(value, "nbytes", 0) > HASH_LIMIT_BYTES:
        return _ByIdentity(value)
    return value


def array_region(source: "FromArray", index: tuple) -> Any:
    """``source``'s array at ``index`` (basic indexing: a view), named by the source's
    token and the index.

    The optimizer makes such a view every time a slice moves into an in-memory
    source; hashing its bytes again would cost as much as computing it (a
    ``diff`` or ``roll`` of a 30 MB array spent most of its time there).
    Equal sources and indices still give equal names.
    """
    view = unwrap_array(source.array)[index]
    return _ByIdentity(view, tokenize("array-region", source.name, index))


def unwrap_array(value: Any) -> Any:
    return value.value if isinstance(value, _ByIdentity) else value


class SourceLayer(Layer):
    """Base of layers without dependencies; offsets per axis cached."""

    @cached_property
    def axis_starts(self) -> list[list[int]]:
        out = []
        for sizes in self.chunks:
            starts = [0]
            for s in sizes:
                starts.append(starts[-1] + s)
            out.append(starts)
        return out

    def block_region(self, flat: int) -> tuple[slice, ...]:
        """Slices of the whole array that block ``flat`` covers."""
        idx = self.block_index(flat)
        return tuple(slice(s[i], s[i + 1]) for s, i in zip(self.axis_starts, idx))

    def block_deps(self, out_blocks: np.ndarray) -> list:
        return []


@trusted(version=1)
class FromArray(SourceLayer):
    _parameters = ("array", "in_chunks")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, unwrap_array(self.array).dtype

    @property
    def array_module(self) -> Any:
        return _module_of(unwrap_array(self.array))

    def kernel(self) -> Kernel:
        array = unwrap_array(self.array)
        region = self.block_region
        if self.ndim == 0:
            return lambda block, inputs: array
        return lambda block, inputs: array[region(block)]


@trusted(version=1)
class Full(SourceLayer):
    _parameters = ("shape_", "in_chunks", "out_dtype", "fill_value", "xp_name")
    _defaults = {"xp_name": "numpy"}

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    @property
    def array_module(self) -> Any:
        return _import_module(self.xp_name)

    def kernel(self) -> Kernel:
        xp = self.array_module
        chunks, dtype, fill = self.chunks, self.dtype, self.fill_value
        index = self.block_index
        if fill is None:
            return lambda block, inputs: xp.empty(
                tuple(c[i] for c, i in zip(chunks, index(block))), dtype=dtype)
        return lambda block, inputs: xp.full(
            tuple(c[i] for c, i in zip(chunks, index(block))), fill, dtype=dtype)


@trusted(version=1)
class Arange(SourceLayer):
    """Values ``first + i * delta`` (1-D), computed as ``np.arange`` does.

    Like NumPy, ``first`` is ``start`` and the second value ``start + step``,
    both cast to the dtype, and ``delta`` their difference in the dtype, so
    every block equals the same slice of ``np.arange``, bit for bit.
    """

    _parameters = ("start", "step", "length", "in_chunks", "out_dtype", "xp_name")
    _defaults = {"xp_name": "numpy"}

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    @property
    def array_module(self) -> Any:
        return _import_module(self.xp_name)

    def kernel(self) -> Kernel:
        xp = self.array_module
        dtype = self.dtype
        work = np.dtype(np.float32) if dtype == np.float16 else dtype
        with np.errstate(all="ignore"):
            first = np.array(self.start).astype(dtype).astype(work)[()]
            second = np.array(self.start + self.step).astype(dtype).astype(work)[()]
            delta = second - first
        region = self.block_region

        def run(block: int, inputs: list) -> Any:
            r = region(block)[0]
            with np.errstate(all="ignore"):
                values = first + xp.arange(r.start, r.stop).astype(work) * delta
            head = max(min(r.stop, 2) - r.start, 0)
            values[:head] = xp.asarray([first, second])[r.start:r.start + head]
            return values.astype(dtype, copy=False)

        return run


@trusted(version=2)
class Linspace(SourceLayer):
    """``num`` evenly spaced values from ``start`` to ``stop`` (1-D).

    Computed as NumPy computes them, in ``work_dtype`` (float32 for float32
    endpoints): ``i * step + start``, the last value set to ``stop``.
    """

    _parameters = ("start", "stop", "num", "endpoint", "in_chunks", "out_dtype", "xp_name",
                   "work_dtype")
    _defaults = {"xp_name": "numpy", "work_dtype": np.dtype(np.float64)}

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    @property
    def array_module(self) -> Any:
        return _import_module(self.xp_name)

    def kernel(self) -> Kernel:
        xp = self.array_module
        num, endpoint, dtype, work = self.num, self.endpoint, self.dtype, self.work_dtype
        start, stop = np.array(self.start, dtype=work), np.array(self.stop, dtype=work)
        div = (num - 1) if endpoint else num
        with np.errstate(all="ignore"):
            delta = np.subtract(stop, start, dtype=work)
            step = delta / div if div > 0 else None
        region = self.block_region

        def run(block: int, inputs: list) -> Any:
            r = region(block)[0]
            i = xp.arange(r.start, r.stop, dtype=work)
            with np.errstate(all="ignore"):
                if step is None:
                    values = i * delta
                elif step == 0:
                    values = (i / div) * delta
                else:
                    values = i * step
                values += start
            if endpoint and num > 1 and r.stop == num:
                values[-1] = stop
            if dtype.kind in "iu":
                values = xp.floor(values)
            return values.astype(dtype, copy=False)

        return run


@trusted(version=1)
class FromBlocks(SourceLayer):
    """Blocks already computed and held in memory (the result of ``persist``)."""

    _parameters = ("blocks", "in_chunks", "out_dtype", "key")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    @property
    def array_module(self) -> Any:
        blocks = unwrap_array(self.blocks)
        return _module_of(blocks[0]) if blocks else np

    def kernel(self) -> Kernel:
        blocks = unwrap_array(self.blocks)
        return lambda block, inputs: blocks[block]


class _BlockList(_ByIdentity):
    """Computed blocks, named afresh: each list is its own computation's result."""

    def __init__(self, value: Any, token: str | None = None) -> None:
        self.value = value
        self._token = token or tokenize("blocks", identity_token(value), len(value))


def hold_blocks(blocks: list) -> Any:
    """Operand form of a list of computed blocks (named by identity)."""
    return _BlockList(blocks)


def _module_of(array: Any) -> Any:
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        return _import_module("cupy")
    return np


def _import_module(name: str) -> Any:
    if name == "numpy":
        return np
    import importlib

    return importlib.import_module(name)
