"""``Series``: a partitioned pandas Series, with ``.str`` and ``.dt`` partition-wise."""

from __future__ import annotations

from functools import partial
from typing import Any

from lamina.dataframe import reductions
from lamina.dataframe.core import partitionwise
from lamina.dataframe.methods import Partitioned


def _accessor_attribute(accessor: str, name: str, part: Any) -> Any:
    return getattr(getattr(part, accessor), name)


def _accessor_call(accessor: str, name: str, part: Any, *args: Any, **kwargs: Any) -> Any:
    return getattr(getattr(part, accessor), name)(*args, **kwargs)


class Accessor:
    """``series.str`` / ``series.dt``: pandas' accessor, applied to every partition."""

    def __init__(self, series: "Series", accessor: str) -> None:
        getattr(series._meta, accessor)  # pandas' AttributeError for a wrong dtype
        self._series, self._accessor = series, accessor

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(getattr(self._series._meta, self._accessor), name)
        fname = f"{self._accessor}.{name}"
        if not callable(value):
            return partitionwise(partial(_accessor_attribute, self._accessor, name),
                                 self._series, fname=fname)

        def call(*args: Any, **kwargs: Any) -> Any:
            return partitionwise(partial(_accessor_call, self._accessor, name),
                                 self._series, *args, fname=fname, **kwargs)

        return call


def _value_counts(dropna: bool, part: Any) -> Any:
    return part.value_counts(dropna=dropna)


def _counts_merge(partials: list) -> Any:
    import pandas as pd

    partials = [p for p in partials if p is not None and len(p)]
    if not partials:
        return None
    joined = pd.concat(partials)
    return joined.groupby(level=0, dropna=False, sort=False).sum()


def _counts_finish(value: Any, meta: Any) -> Any:
    if value is None:
        return meta.value_counts()
    return value.sort_values(ascending=False, kind="stable")


def _unique_chunk(part: Any) -> Any:
    return part.dropna().drop_duplicates()


def _unique_merge(partials: list) -> Any:
    import pandas as pd

    partials = [p for p in partials if p is not None and len(p)]
    if not partials:
        return None
    return pd.concat(partials).drop_duplicates()


def _unique_count(value: Any, meta: Any) -> int:
    return 0 if value is None else int(len(value))


def _renamed(part: Any, name: Any) -> Any:
    return part.rename(name)


def _unique_finish(value: Any, meta: Any) -> Any:
    return (meta if value is None else value).reset_index(drop=True)


NUNIQUE = reductions.Reduction("nunique", _unique_chunk, _unique_merge, _unique_count)


class Series(Partitioned):
    """A lazy, partitioned ``pandas.Series``; ``compute()`` returns one."""

    __slots__ = ()

    @property
    def name(self) -> Any:
        return self._meta.name

    @property
    def dtype(self) -> Any:
        return self._meta.dtype

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Partitioned):
            return self._filter_rows(key)
        raise TypeError("a lazy Series is indexed by a boolean Series only; "
                        "use head(), get_partition() or compute() for positions")

    @property
    def str(self) -> Accessor:
        return Accessor(self, "str")

    @property
    def dt(self) -> Accessor:
        return Accessor(self, "dt")

    def to_frame(self, name: Any = None) -> Any:
        return partitionwise(lambda p: p.to_frame() if name is None else p.to_frame(name),
                             self, fname="to_frame")

    def rename(self, name: Any) -> "Series":
        """The same values under another name."""
        return partitionwise(_renamed, self, name, fname="rename")

    def unique(self) -> Any:
        """The distinct values (missing included), in first-seen order, as a Series."""
        from lamina.dataframe.rows import _distinct, _distinct_merge

        return reductions.reduce(self, reductions.Reduction(
            "unique", _distinct, _distinct_merge, _unique_finish))

    def value_counts(self, dropna: bool = True) -> "Series":
        """Counts of each value, most frequent first (a tree reduction)."""
        reduction = reductions.Reduction(
            "value_counts", partial(_value_counts, dropna), _counts_merge, _counts_finish)
        return reductions.reduce(self, reduction)

    def nunique(self) -> Any:
        """The number of distinct non-missing values, lazily."""
        return reductions.reduce(self, NUNIQUE)

    def between(self, left: Any, right: Any, inclusive: str = "both") -> "Series":
        return partitionwise(lambda p: p.between(left, right, inclusive), self,
                             fname="between")
