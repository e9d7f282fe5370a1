"""``groupby(...).agg(...)``: partial aggregates per partition, merged as a tree.

Every requested aggregation is split into partials that merge by a plain
reduction (``mean`` into sum and count, ``var``/``std`` into count, sum and
sum of squares), so partitions are reduced on their own and merged
``split_every`` at a time. With ``split_out=k`` the partials are shuffled
by group key into ``k`` partitions and merged there instead (for many
groups). By default (``split_out=None``) the count of groups, known or
estimated (``lamina.dataframe.groups``), chooses; the plan's last layer
says which (``groupby-tree`` or ``groupby-shuffle``, in ``lamina.explain``).

    df.groupby("k").agg(total=("x", "sum"), n=("x", "count"))
    df.groupby(["k", "j"]).x.mean()
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from lamina.dataframe.core import wrap
from lamina.dataframe.groups import choose_split_out
from lamina.layers.frame.base import group_bounds
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.regroup import Regroup
from lamina.layers.frame.shuffle import ShuffleGather, ShuffleSplit

SPLIT_EVERY = 8
PARTIALS = {"sum": ("sum",), "count": ("count",), "min": ("min",), "max": ("max",),
            "mean": ("sum", "count"), "var": ("count", "sum", "sumsq"),
            "std": ("count", "sum", "sumsq"), "size": ("size",)}
MERGE = {"sum": "sum", "count": "sum", "min": "min", "max": "max", "sumsq": "sum",
         "size": "sum"}


def _chunk(by: list, dropna: bool, partials: tuple, part: pd.DataFrame) -> pd.DataFrame:
    """One column per partial ``(column, op)``, one row per group of the partition."""
    squares = {f"__sq_{c}": part[c].astype("float64") ** 2
               for c, op in partials if op == "sumsq"}
    frame = part.assign(**squares) if squares else part
    grouped = frame.groupby(by, sort=False, dropna=dropna, observed=True)
    out = {}
    for i, (column, op) in enumerate(partials):
        if op == "size":
            out[str(i)] = grouped.size()
        elif op == "sumsq":
            out[str(i)] = grouped[f"__sq_{column}"].sum()
        else:
            out[str(i)] = getattr(grouped[column], op)()
    return pd.DataFrame(out)


def _merge(partials: tuple, parts: list) -> pd.DataFrame | None:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    if len(parts) == 1 and parts[0].index.is_unique:
        return parts[0]
    joined = pd.concat(parts) if len(parts) > 1 else parts[0]
    levels = list(range(joined.index.nlevels))
    grouped = joined.groupby(level=levels, sort=False, dropna=False, observed=True)
    # a missing partial sum is inf - inf, which must stay missing (pandas' sum)
    return pd.DataFrame({str(i): grouped[str(i)].sum(skipna=False) if MERGE[op] == "sum"
                         else getattr(grouped[str(i)], MERGE[op])()
                         for i, (_, op) in enumerate(partials)})


def _finish(spec: tuple, partials: tuple, sort: bool, meta: Any, series: bool,
            parts: list) -> Any:
    merged = _merge(partials, parts)
    if merged is None:
        return meta
    column_of = {p: str(i) for i, p in enumerate(partials)}
    out = {}
    for name, column, func in spec:
        def get(op: str) -> pd.Series:
            return merged[column_of[(column, op)]]

        if func in ("mean",):
            out[name] = get("sum") / get("count")
        elif func in ("var", "std"):
            n, total = get("count").astype("float64"), get("sum").astype("float64")
            with np.errstate(invalid="ignore", divide="ignore"):
                var = (get("sumsq") - total ** 2 / n) / (n - 1)
            var = var.where(n > 1).clip(lower=0)
            out[name] = np.sqrt(var) if func == "std" else var
        else:
            out[name] = get(func)
    result = pd.DataFrame(out, index=merged.index)
    result.index.names = meta.index.names
    if sort:
        result = result.sort_index()
    result = result.astype(meta.dtypes.to_dict() if not series else {spec[0][0]: meta.dtype},
                           errors="ignore")
    return result.iloc[:, 0].rename(meta.name) if series else result


class GroupBy:
    """Rows of a DataFrame grouped by columns, waiting for an aggregation."""

    def __init__(self, frame: Any, by: Any, sort: bool = True, dropna: bool = True,
                 selection: Any = None, as_index: bool = True) -> None:
        self.by = [by] if not isinstance(by, (list, tuple)) else list(by)
        missing = [b for b in self.by if b not in frame.columns]
        if missing:
            raise KeyError(f"groupby keys {missing} are not columns of the DataFrame; "
                           f"it has {list(frame.columns)}")
        if not isinstance(as_index, bool):
            raise TypeError(f"as_index must be a bool, got {as_index!r}")
        self.frame, self.sort, self.dropna, self.selection = frame, sort, dropna, selection
        self.as_index = as_index

    def __getitem__(self, key: Any) -> "GroupBy":
        keys = key if isinstance(key, list) else [key]
        missing = [k for k in keys if k not in self.frame.columns]
        if missing:
            raise KeyError(f"columns {missing} are not in the DataFrame")
        return GroupBy(self.frame, self.by, self.sort, self.dropna, key, self.as_index)

    def __getattr__(self, name: str) -> "GroupBy":
        if not name.startswith("_") and name in self.frame.columns:
            return self[name]
        raise AttributeError(f"GroupBy has no attribute or column {name!r}")

    def _values(self) -> list:
        if self.selection is None:
            return [c for c in self.frame.columns if c not in self.by]
        return self.selection if isinstance(self.selection, list) else [self.selection]

    def _pandas(self, meta: pd.DataFrame) -> Any:
        grouped = meta.groupby(self.by, sort=self.sort, dropna=self.dropna, observed=True)
        return grouped if self.selection is None else grouped[self.selection]

    def agg(self, arg: Any = None, split_out: int | None = None,
            split_every: int = SPLIT_EVERY, **named: Any) -> Any:
        """Named aggregations ``name=(column, func)``, a dict ``{column: func}``
        or one func for every column; funcs: sum, count, min, max, mean, var, std,
        size, nunique. With ``as_index=False`` the keys come back as columns.

        ``split_out``: the result's partitions; 1 merges the groups in a tree
        reduction, more shuffles them by key (for many groups). None chooses
        from the number of groups, known or estimated (``choose_split_out``);
        aggregations with ``nunique`` gather into one partition.
        """
        if split_out is not None and (isinstance(split_out, bool) or
                                      not isinstance(split_out, (int, np.integer))
                                      or split_out < 1):
            raise ValueError(f"split_out must be a positive number of partitions or None, "
                             f"got {split_out!r}")
        series = False
        if named:
            spec = [(name, column, func) for name, (column, func) in named.items()]
            meta = self._pandas(self.frame._meta).agg(**named)
        elif isinstance(arg, dict):
            spec = [(column, column, func) for column, func in arg.items()]
            meta = self._pandas(self.frame._meta).agg(arg)
        elif isinstance(arg, str):
            spec = [(c, c, arg) for c in self._values()]
            meta = getattr(self._pandas(self.frame._meta), arg)()
            series = isinstance(meta, pd.Series)
            if arg == "size":
                spec = [(meta.name if series else "size", self.by[0], "size")]
        else:
            raise TypeError(f"agg takes named aggregations, a dict or a function name, "
                            f"got {arg!r}")
        for _, column, func in spec:
            if func not in PARTIALS and func != "nunique":
                raise ValueError(f"aggregation {func!r} is not supported: use one of "
                                 f"{sorted([*PARTIALS, 'nunique'])}")
            if column not in self.frame.columns:
                raise KeyError(f"column {column!r} is not in the DataFrame")
        if any(func == "nunique" for _, _, func in spec):
            out = self._with_distinct_counts(tuple(spec), meta, series,
                                             1 if split_out is None else split_out,
                                             split_every)
            return out if self.as_index else out.reset_index()
        note, boundaries = "", None
        if split_out is None:
            split_out, groups, boundaries = choose_split_out(self.frame, self.by, self.sort)
            note = f" ~{groups} groups" if groups is not None else " groups unknown"
        out = self._reduce(tuple(spec), meta, series, split_out, split_every, note, boundaries)
        return out if self.as_index else out.reset_index()

    def _with_distinct_counts(self, spec: tuple, meta: Any, series: bool, split_out: int,
                              split_every: int) -> Any:
        """Aggregations with ``nunique``: each distinct count from the distinct
        (keys, column) rows (a tree of drop_duplicates), the rest as usual,
        side by side in one partition."""
        from lamina.dataframe.core import partitionwise

        if split_out != 1:
            raise ValueError("nunique per group is gathered into one partition: "
                             "use split_out=1")
        pieces = []
        plain = tuple(s for s in spec if s[2] != "nunique")
        if plain:
            names = [name for name, _, _ in plain]
            pieces.append(self._reduce(plain, meta[names], False, 1, split_every))
        for name, column, _ in spec:
            if (name, column, "nunique") in spec:
                rows = self.frame[list(dict.fromkeys([*self.by, column]))]
                distinct = rows.drop_duplicates(split_every=split_every)
                pieces.append(partitionwise(
                    partial(_distinct_count, self.by, column, name, self.sort, self.dropna),
                    distinct, fname="groupby-nunique", keep_divisions=False))
        return partitionwise(partial(_side_by_side, meta, series, self.sort), *pieces,
                             meta=meta, fname="groupby-combine", keep_divisions=False)

    def _reduce(self, spec: tuple, meta: Any, series: bool, split_out: int,
                split_every: int, note: str = "", boundaries: tuple | None = None) -> Any:
        partials = tuple(dict.fromkeys((column, op) for _, column, func in spec
                                       for op in PARTIALS[func]))
        needed = list(dict.fromkeys([*self.by, *(c for c, _ in partials)]))
        frame = self.frame[needed] if len(needed) < len(self.frame.columns) else self.frame
        layer = MapPartitions(partial(_chunk, self.by, self.dropna, partials), (frame.layer,),
                              (), None, (None,) * (frame.npartitions + 1), (), "groupby-chunk")
        finish = partial(_finish, spec, partials, self.sort, meta, series)
        if split_out > 1:
            split = ShuffleSplit(layer, (), split_out, boundaries)
            gathered = ShuffleGather(split)
            return wrap(MapPartitions(_single(finish), (gathered,), (), meta,
                                      (None,) * (split_out + 1), (),
                                      f"groupby-shuffle split_out={split_out} by "
                                      f"{'hash' if boundaries is None else 'range'}{note}"))
        n = layer.npartitions
        while n > split_every:
            bounds = group_bounds(n, split_every)
            layer = Regroup(layer, bounds, partial(_merge, partials), None,
                            (None,) * len(bounds), "groupby-merge")
            n = layer.npartitions
        return wrap(Regroup(layer, (0, n), finish, meta, (None, None), f"groupby-tree{note}"))

    def size(self) -> Any:
        return self.agg("size")


def _distinct_count(by: list, column: Any, name: Any, sort: bool, dropna: bool,
                    part: pd.DataFrame) -> pd.Series:
    grouped = part.groupby(by, sort=sort, dropna=dropna, observed=True)
    return grouped[column].nunique().rename(name)


def _side_by_side(meta: Any, series: bool, sort: bool, *pieces: Any) -> Any:
    if series:
        return pieces[0].astype(meta.dtype).rename(meta.name)
    joined = pd.concat(pieces, axis=1)
    if sort:
        joined = joined.sort_index()
    joined.index.names = meta.index.names
    return joined[list(meta.columns)].astype(meta.dtypes.to_dict())


def _single(finish: Any) -> Any:
    return partial(_finish_one, finish)


def _finish_one(finish: Any, part: Any) -> Any:
    return finish([part])


for _name in ("sum", "count", "min", "max", "mean", "var", "std", "nunique"):
    setattr(GroupBy, _name, lambda self, _f=_name, **kw: self.agg(_f, **kw))
