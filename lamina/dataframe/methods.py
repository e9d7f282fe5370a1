"""``Partitioned``: what DataFrame and Series share beyond a layer.

Arithmetic and comparisons (partition-wise, aligned), filtering, ``isin``,
``where``, ``head``/``tail``, ``repartition``, the tree reductions and
``drop_duplicates``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable

import numpy as np
import pandas as pd

from lamina.dataframe import reductions
from lamina.dataframe.core import Frame, Scalar, add_operators, partitionwise, wrap
from lamina.layers.frame.base import concat_partitions
from lamina.layers.frame.partitionwise import filter_rows
from lamina.layers.frame.regroup import Regroup, SplitPartitions


def _head(parts: list, n: int) -> Any:
    return pd.concat(parts).head(n) if len(parts) > 1 else parts[0].head(n)


def _tail(parts: list, n: int) -> Any:
    return parts[-1].tail(n)


class Partitioned(Frame):
    """Shared methods of DataFrame and Series."""

    __slots__ = ()

    def _binary(self, other: Any, op: Callable, reflect: bool = False) -> Any:
        if isinstance(other, (pd.DataFrame, pd.Series, pd.Index)):
            raise TypeError(f"cannot combine a lazy {type(self).__name__} with an in-memory "
                            f"{type(other).__name__}: wrap it with lamina.dataframe.from_pandas")
        args = (other, self) if reflect else (self, other)
        return partitionwise(op, *args, fname=op.__name__)

    @property
    def index(self) -> Any:
        return partitionwise(lambda p: p.index, self, fname="index")

    def __len__(self) -> int:
        return int(self.size_rows().compute())

    def size_rows(self) -> Scalar:
        """The number of rows, lazily."""
        return reductions.reduce(self, reductions.LENGTH)

    # row selection -----------------------------------------------------------
    def _filter_rows(self, mask: Any) -> Any:
        return partitionwise(filter_rows, self, mask, fname="filter")

    def isin(self, values: Any) -> Any:
        """``pandas isin``: in-memory values, or a lazy Series (a semi-join whose
        distinct values are gathered once and read by every partition)."""
        if isinstance(values, Frame):
            from lamina.dataframe.rows import isin_lazy

            return isin_lazy(self, values)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError("only list-like objects are allowed to be passed to isin(), "
                            f"you passed a {type(values).__name__}")
        values = list(values) if not isinstance(values, dict) else values
        return partitionwise(lambda p, v: p.isin(v), self, values, fname="isin")

    def where(self, cond: Any, other: Any = None) -> Any:
        """Keep values where ``cond`` is true, else ``other`` (missing by default)."""
        if other is None:
            return partitionwise(lambda p, c: p.where(c), self, cond, fname="where")
        return partitionwise(lambda p, c, o: p.where(c, o), self, cond, other, fname="where")

    def mask(self, cond: Any, other: Any = None) -> Any:
        return self.where(~cond, other) if other is not None else self.where(~cond)

    def __invert__(self) -> Any:
        return partitionwise(lambda p: ~p, self, fname="invert")

    def __neg__(self) -> Any:
        return partitionwise(lambda p: -p, self, fname="neg")

    def __abs__(self) -> Any:
        return partitionwise(abs, self, fname="abs")

    def abs(self) -> Any:
        return abs(self)

    def reset_index(self, drop: bool = False) -> Any:
        """``reset_index``: rows numbered 0..n-1 across all partitions, as in pandas."""
        from lamina.dataframe.rows import reset_index

        return reset_index(self, drop=drop)

    def round(self, decimals: int = 0) -> Any:
        return partitionwise(_round, self, decimals, fname="round")

    def nlargest(self, n: int = 5, columns: Any = None) -> Any:
        """The ``n`` rows with the largest ``columns`` (pandas' order, keep='first')."""
        from lamina.dataframe.rows import top_rows

        return top_rows(self, "nlargest", n, columns)

    def nsmallest(self, n: int = 5, columns: Any = None) -> Any:
        """The ``n`` rows with the smallest ``columns`` (pandas' order, keep='first')."""
        from lamina.dataframe.rows import top_rows

        return top_rows(self, "nsmallest", n, columns)

    def isna(self) -> Any:
        return partitionwise(lambda p: p.isna(), self, fname="isna")

    def notna(self) -> Any:
        return partitionwise(lambda p: p.notna(), self, fname="notna")

    def fillna(self, value: Any) -> Any:
        return partitionwise(lambda p, v: p.fillna(v), self, value, fname="fillna")

    def dropna(self, **kwargs: Any) -> Any:
        return partitionwise(lambda p: p.dropna(**kwargs), self, fname="dropna")

    def astype(self, dtype: Any) -> Any:
        return partitionwise(lambda p, d: p.astype(d), self, dtype, fname="astype")

    # partitions -------------------------------------------------------------
    def head(self, n: int = 5, npartitions: int = 1, compute: bool = True) -> Any:
        """The first ``n`` rows, read from the first ``npartitions`` partitions only
        (``-1``: all).

        Computed, it equals pandas' ``head``: when those partitions hold fewer
        than ``n`` rows (a filter left few), the next partitions are read,
        four times as many each round, until ``n`` rows or the end.
        """
        k = self.npartitions if npartitions == -1 else min(npartitions, self.npartitions)
        if k < 1:
            raise ValueError(f"head reads npartitions={npartitions}: give at least 1 or -1")
        out = self._head_of(0, k, n)
        if not compute:
            return out
        found = [out.compute()]
        rows = len(found[0])
        while rows < n and k < self.npartitions:
            step = min(3 * k, self.npartitions - k)
            found.append(self._head_of(k, k + step, n - rows).compute())
            rows, k = rows + len(found[-1]), k + step
        return found[0] if len(found) == 1 else pd.concat(found).head(n)

    def _head_of(self, start: int, stop: int, n: int) -> Any:
        """Lazily, the first ``n`` rows of partitions ``start:stop``."""
        layer = Regroup(self.layer, (start, stop), partial(_head, n=n), self._meta,
                        (self.divisions[start], self.divisions[stop]), "head")
        return wrap(layer)

    def tail(self, n: int = 5, compute: bool = True) -> Any:
        """The last ``n`` rows of the last partition."""
        last = self.npartitions
        layer = Regroup(self.layer, (last - 1, last), partial(_tail, n=n), self._meta,
                        (self.divisions[-2], self.divisions[-1]), "tail")
        out = wrap(layer)
        return out.compute() if compute else out

    def get_partition(self, i: int) -> Any:
        if not 0 <= i < self.npartitions:
            raise IndexError(f"partition {i} is out of range: there are {self.npartitions}")
        return wrap(Regroup(self.layer, (i, i + 1), _first, self._meta,
                            (self.divisions[i], self.divisions[i + 1]), "get_partition"))

    def repartition(self, npartitions: int) -> Any:
        """The same rows in ``npartitions`` partitions (joined or split by rows)."""
        if not isinstance(npartitions, int) or npartitions < 1:
            raise ValueError(f"repartition needs npartitions >= 1, got {npartitions!r}")
        layer, n = self.layer, self.npartitions
        if npartitions > n:
            layer = SplitPartitions(layer, math.ceil(npartitions / n))
            n = layer.npartitions
        if npartitions == n:
            return wrap(layer)
        bounds = tuple(round(i * n / npartitions) for i in range(npartitions + 1))
        divisions = tuple(layer.divisions[b] for b in bounds)
        return wrap(Regroup(layer, bounds, partial(concat_partitions, meta=self._meta),
                            self._meta, divisions, "repartition"))

    # reductions ---------------------------------------------------------------
    def sum(self, min_count: int = 0) -> Any:
        """The sum; with ``min_count``, missing unless that many values are present
        (``min_count=1``: SQL's sum, missing over no rows)."""
        total = reductions.reduce(self, reductions.SUM)
        if not min_count:
            return total
        return partitionwise(_at_least, total, self.count(), int(min_count),
                             fname="min_count")

    def count(self) -> Any:
        return reductions.reduce(self, reductions.COUNT)

    def min(self) -> Any:
        return reductions.reduce(self, reductions.MIN)

    def max(self) -> Any:
        return reductions.reduce(self, reductions.MAX)

    def mean(self) -> Any:
        return reductions.reduce(self, reductions.MEAN)

    def var(self, ddof: int = 1) -> Any:
        return reductions.reduce(self, reductions.moments("var", ddof))

    def std(self, ddof: int = 1) -> Any:
        return reductions.reduce(self, reductions.moments("std", ddof))

    @property
    def size(self) -> Scalar:
        return reductions.reduce(self, reductions.SIZE)

    def drop_duplicates(self, split_every: int = 8, **kwargs: Any) -> Any:
        """Rows seen first, in order (a tree of ``drop_duplicates``: one partition)."""
        return reductions.drop_duplicates(self, split_every=split_every, **kwargs)


def _at_least(total: Any, count: Any, min_count: int) -> Any:
    if isinstance(total, pd.Series):
        return total.where(count >= min_count)
    return total if count >= min_count else np.nan


def _round(part: Any, decimals: int) -> Any:
    return part.round(decimals)


def _first(parts: list) -> Any:
    return parts[0]


add_operators(Partitioned)
