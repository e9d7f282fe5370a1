"""``DataFrame``: a partitioned pandas DataFrame.

    df = ld.from_pandas(pdf, npartitions=4)
    df[["a", "b"]], df.a, df[df.a > 0], df.assign(c=df.a + 1)
    df.groupby("k").agg(total=("a", "sum")).compute()
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lamina.dataframe.core import Frame, partitionwise
from lamina.dataframe.methods import Partitioned
from lamina.layers.frame.partitionwise import (
    assign_columns,
    rename_columns,
    select_column,
    select_columns,
)


class DataFrame(Partitioned):
    """A lazy, partitioned ``pandas.DataFrame``; ``compute()`` returns one."""

    __slots__ = ()

    @property
    def columns(self) -> pd.Index:
        return self._meta.columns

    @property
    def dtypes(self) -> pd.Series:
        return self._meta.dtypes

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Frame):
            return self._filter_rows(key)
        if isinstance(key, list):
            self._check_columns(key)
            return partitionwise(select_columns, self, list(key), fname="columns")
        self._check_columns([key])
        return partitionwise(select_column, self, key, fname=f"[{key!r}]")

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and name in self._meta.columns:
            return self[name]
        raise AttributeError(f"DataFrame has no attribute or column {name!r}")

    def __dir__(self) -> list:
        return sorted(set(super().__dir__()) | {c for c in self.columns if isinstance(c, str)})

    def _check_columns(self, keys: list) -> None:
        missing = [k for k in keys if k not in self._meta.columns]
        if missing:
            raise KeyError(f"columns {missing} are not in the DataFrame; "
                           f"it has {list(self._meta.columns)}")

    def assign(self, **columns: Any) -> "DataFrame":
        """New or replaced columns: lazy Series aligned with this frame, or values."""
        names = tuple(columns)
        for name, value in columns.items():
            if isinstance(value, (pd.Series, pd.DataFrame)):
                raise TypeError(f"assign({name}=...) got an in-memory {type(value).__name__}: "
                                "wrap it with lamina.dataframe.from_pandas")
            if callable(value) and not isinstance(value, Frame):
                columns[name] = value(self)
        return partitionwise(assign_columns, self, names, *columns.values(), fname="assign")

    def rename(self, columns: dict) -> "DataFrame":
        return partitionwise(rename_columns, self, dict(columns), fname="rename")

    def drop(self, columns: Any) -> "DataFrame":
        columns = [columns] if not isinstance(columns, list) else columns
        self._check_columns(columns)
        return self[[c for c in self.columns if c not in columns]]

    def nunique(self) -> pd.Series:
        """Distinct non-missing values per column, lazily (a Series)."""
        from lamina.dataframe.concat import series_of_scalars

        return series_of_scalars([self[c].nunique() for c in self.columns], self.columns)

    def groupby(self, by: Any, sort: bool = True, dropna: bool = True,
                as_index: bool = True) -> Any:
        """Group rows by columns; ``.agg(...)`` merges the groups in a tree reduction, or
        shuffles them by key when there are many (``split_out``)."""
        from lamina.dataframe.groupby import GroupBy

        return GroupBy(self, by, sort=sort, dropna=dropna, as_index=as_index)

    def merge(self, right: "DataFrame", **kwargs: Any) -> "DataFrame":
        """pandas ``merge``: hash join by shuffle, broadcast when one side is small."""
        from lamina.dataframe.join import merge

        return merge(self, right, **kwargs)

    def sort_values(self, by: Any, **kwargs: Any) -> "DataFrame":
        from lamina.dataframe.sort import sort_values

        return sort_values(self, by, **kwargs)

    def set_index(self, column: str, **kwargs: Any) -> "DataFrame":
        from lamina.dataframe.sort import set_index

        return set_index(self, column, **kwargs)

    def to_parquet(self, path: str, **kwargs: Any) -> int:
        """Write one file per partition; see ``lamina.dataframe.to_parquet``."""
        from lamina.dataframe.io import to_parquet

        return to_parquet(self, path, **kwargs)

    def to_array(self) -> Any:
        from lamina.dataframe.arrays import to_array

        return to_array(self)
