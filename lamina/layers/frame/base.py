"""``FrameLayer``: the base of every dataframe layer.

Subclasses say how many partitions they have (``npartitions``), their
``divisions`` (index bounds per partition, ``None`` where unknown) and an
empty pandas object with their columns and dtypes (``meta``). Partition
``i`` is block ``i``; ``combine_blocks`` turns the computed partitions
into one pandas object (or the one value of a scalar result).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Chunks, Layer
from lamina.tokenize import tokenize

HASH_LIMIT_BYTES = 64 * 2**20
PARTITION_DTYPE = np.dtype("V1")
"""The nominal dtype of a frame layer's blocks: partitions are pandas objects,
and an object dtype may not travel on the wire."""


class FrameLayer(Layer):
    """A layer whose blocks are pandas partitions (or one scalar)."""

    @property
    def npartitions(self) -> int:
        return len(self.chunks[0])

    def _npartitions(self) -> int:
        """The partition count, from plain operands (the scheduler sees no data)."""
        raise NotImplementedError

    def _operand(self, name: str) -> Any:
        """The operand called ``name``, or None when the type has none."""
        names = type(self)._parameters
        return self.operands[names.index(name)] if name in names else None

    @property
    def divisions(self) -> tuple:
        """The ``divisions_`` operand, or unknown divisions."""
        known = self._operand("divisions_")
        return tuple(known) if known is not None else (None,) * (self.npartitions + 1)

    @property
    def meta(self) -> Any:
        """The ``meta_`` operand: an empty pandas object, or a sample scalar."""
        return self._operand("meta_")

    @property
    def is_scalar(self) -> bool:
        """True when the one partition is a plain value, not a pandas object."""
        return not is_pandas(self.meta)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,) * self._npartitions(),), PARTITION_DTYPE

    def max_rows(self) -> int:
        """Rows of the largest partition, as far as the sources say (0: unknown)."""
        return max((d.max_rows() for d in self.dependencies if isinstance(d, FrameLayer)),
                   default=0)

    def max_partition_bytes(self) -> int:
        """Estimated bytes of the largest partition (for fusion's memory veto)."""
        return self.max_rows() * row_bytes(self.meta)

    def combine_blocks(self, blocks: list[Any]) -> Any:
        """The whole result from its partitions, in order."""
        if self.is_scalar:
            return blocks[0]
        return concat_partitions(blocks, self.meta)

    def block_problem(self, flat: int, block: Any) -> str:
        """What is wrong with a partition that came back ('' when nothing)."""
        if self.is_scalar:
            return ""
        meta = self.meta
        if type(block) is not type(meta):
            return f"a {type(block).__name__}, not a {type(meta).__name__}"
        return ""


STRING_BYTES = 48
"""A guess at the bytes of one string cell (pointer, header, a short text)."""


def row_bytes(meta: Any) -> int:
    """Bytes of one row of a pandas object like ``meta`` (strings guessed)."""
    if hasattr(meta, "columns"):
        dtypes = meta.dtypes.tolist()
    else:
        dtypes = [getattr(meta, "dtype", np.dtype("float64"))]
    total = 8  # the index
    for dtype in dtypes:
        size = getattr(dtype, "itemsize", 0)
        total += size if getattr(dtype, "kind", "O") in "iufbmM" and size else STRING_BYTES
    return total


def is_pandas(value: Any) -> bool:
    import pandas as pd

    return isinstance(value, (pd.DataFrame, pd.Series, pd.Index))


def concat_partitions(parts: list[Any], meta: Any) -> Any:
    """pandas.concat of partitions; ``meta`` when there are none."""
    import pandas as pd

    parts = [p for p in parts if len(p)] or [meta]
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts)


class Pandas:
    """A pandas object as an operand: hashed by content if small, by identity if large.

    Hashing gigabytes to name a node costs seconds; an in-memory frame is
    only ever equal to itself within one process anyway.
    """

    __slots__ = ("value", "_token")

    def __init__(self, value: Any) -> None:
        import pandas as pd

        self.value = value
        if int(np.asarray(value.memory_usage(deep=False)).sum()) > HASH_LIMIT_BYTES:
            self._token = tokenize("frame-id", id(value), value.shape)
            return
        try:
            hashed = pd.util.hash_pandas_object(value, index=True).to_numpy()
        except TypeError:  # unhashable cells (lists, dicts): hash the pickle
            hashed = value
        self._token = tokenize("frame", hashed, repr(value.iloc[:0]), str(_dtypes(value)))

    def __reduce__(self) -> tuple:
        return (type(self), (self.value,))


def _dtypes(value: Any) -> list:
    dtypes = getattr(value, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "tolist"):
        return [value.dtype]
    return dtypes.tolist()


def group_bounds(n: int, size: int) -> tuple[int, ...]:
    """Bounds of consecutive groups of ``size`` among ``n`` partitions."""
    return tuple(range(0, n, size)) + (n,) if n else (0, 0)
