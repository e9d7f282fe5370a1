"""Tree reductions: a partial result per partition, merged ``split_every`` at a time.

A ``Reduction`` is three functions: ``chunk(partition)`` gives a partial
result (``None`` for an empty partition, so that an empty partition never
changes a dtype), ``merge(partials)`` joins a list of them, and
``finish(partial, meta)`` gives the answer (``meta``: the empty input, for
when every partition was empty). The layers are one ``MapPartitions`` and
a ``Regroup`` per level, so the plan is a tree of depth log(n).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np
import pandas as pd

from lamina.dataframe.core import wrap
from lamina.layers.frame.base import group_bounds
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.regroup import Regroup

SPLIT_EVERY = 8


@dataclass(frozen=True)
class Reduction:
    name: str
    chunk: Callable[[Any], Any]
    merge: Callable[[list], Any]
    finish: Callable[[Any, Any], Any]


def _rows(partials: list) -> Any:
    """Partial results stacked: a DataFrame (one row each) or a Series of values."""
    if isinstance(partials[0], pd.Series):
        return pd.DataFrame(partials)
    return pd.Series(partials)


def _skip_empty(func: Callable) -> Callable:
    return partial(_nonempty_only, func)


def _nonempty_only(func: Callable, part: Any) -> Any:
    return func(part) if len(part) else None


def _merge_with(method: str, partials: list) -> Any:
    partials = [p for p in partials if p is not None]
    if not partials:
        return None
    if len(partials) == 1:
        return partials[0]
    # a missing partial sum is inf - inf, which must stay missing (pandas' sum)
    return getattr(_rows(partials), method)(skipna=method != "sum")


def _finish_or_empty(method: str, value: Any, meta: Any) -> Any:
    return getattr(meta, method)() if value is None else value


def _simple(method: str) -> Reduction:
    return Reduction(method, _skip_empty(_call(method)), partial(_merge_with, _MERGE[method]),
                     partial(_finish_or_empty, method))


def _call(method: str) -> Callable:
    return partial(_call_method, method)


def _call_method(method: str, value: Any) -> Any:
    return getattr(value, method)()


_MERGE = {"sum": "sum", "count": "sum", "min": "min", "max": "max"}
SUM, COUNT, MIN, MAX = (_simple(m) for m in ("sum", "count", "min", "max"))


def _length(part: Any) -> int:
    return len(part)


def _size(part: Any) -> int:
    return int(part.size)


def _add_all(partials: list) -> Any:
    return sum(p for p in partials if p is not None)


def _as_int(value: Any, meta: Any) -> int:
    return int(value or 0)


LENGTH = Reduction("len", _length, _add_all, _as_int)
SIZE = Reduction("size", _size, _add_all, _as_int)


def _mean_chunk(part: Any) -> tuple:
    return part.sum(), part.count()


def _mean_merge(partials: list) -> Any:
    partials = [p for p in partials if p is not None]
    if not partials:
        return None
    sums = _rows([s for s, _ in partials]).sum(skipna=False)
    counts = _rows([c for _, c in partials]).sum()
    return sums, counts


def _mean_finish(value: Any, meta: Any) -> Any:
    if value is None:
        return meta.mean()
    sums, counts = value
    out = sums / counts
    if isinstance(out, pd.Series):
        return out.astype("float64")
    return _missing_like(meta) if pd.isna(out) else np.float64(out)


def _missing_like(meta: Any) -> Any:
    """pandas' missing result for ``meta``: NA for a nullable dtype, else NaN."""
    return pd.NA if isinstance(meta.dtype, pd.api.extensions.ExtensionDtype) and \
        hasattr(meta.array, "_mask") else np.nan


MEAN = Reduction("mean", _skip_empty(_mean_chunk), _mean_merge, _mean_finish)


def _moments_chunk(part: Any) -> tuple:
    """(count, mean, sum of squared deviations) per column, as float arrays."""
    frame = part.to_frame() if isinstance(part, pd.Series) else part
    values = frame.astype("float64").to_numpy(na_value=np.nan)
    present = ~np.isnan(values)
    n = present.sum(axis=0).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, values, 0).sum(axis=0) / n
        m2 = np.where(present, (values - mean) ** 2, 0).sum(axis=0)
    return n, np.nan_to_num(mean), m2


def _moments_merge(partials: list) -> Any:
    partials = [p for p in partials if p is not None]
    if not partials:
        return None
    n, mean, m2 = partials[0]
    for n_b, mean_b, m2_b in partials[1:]:  # Chan et al.'s pairwise update
        total = n + n_b
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = mean_b - mean
            mean = np.where(total > 0, mean + delta * n_b / total, 0.0)
            m2 = m2 + m2_b + np.where(total > 0, delta ** 2 * n * n_b / total, 0.0)
        n = total
    return n, mean, m2


def _moments_finish(kind: str, ddof: int, value: Any, meta: Any) -> Any:
    if value is None:
        return getattr(meta, kind)(ddof=ddof)
    n, _, m2 = value
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n - ddof > 0, m2 / (n - ddof), np.nan)
    out = np.sqrt(var) if kind == "std" else var
    if isinstance(meta, pd.Series):
        return _missing_like(meta) if np.isnan(out[0]) else np.float64(out[0])
    return pd.Series(out, index=meta.columns, dtype="float64")


def moments(kind: str, ddof: int) -> Reduction:
    return Reduction(kind, _skip_empty(_moments_chunk), _moments_merge,
                     partial(_moments_finish, kind, ddof))


def _merged_finish(reduction: Reduction, meta: Any, partials: list) -> Any:
    return reduction.finish(reduction.merge(partials), meta)


def reduce(frame: Any, reduction: Reduction, split_every: int = SPLIT_EVERY) -> Any:
    """The tree reduction of ``frame``: a Scalar, or a Series for a DataFrame."""
    meta_in = frame._meta
    out_meta = reduction.finish(None, meta_in)
    layer = MapPartitions(reduction.chunk, (frame.layer,), (), None,
                          (None,) * (frame.npartitions + 1), (), reduction.name)
    n = layer.npartitions
    while n > split_every:
        layer = Regroup(layer, group_bounds(n, split_every), reduction.merge, None,
                        (None,) * (len(group_bounds(n, split_every))), reduction.name)
        n = layer.npartitions
    final = Regroup(layer, (0, n), partial(_merged_finish, reduction, meta_in), out_meta,
                    (None, None), reduction.name)
    return wrap(final)


def _dedup(kwargs: tuple, parts: list) -> Any:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    joined = pd.concat(parts) if len(parts) > 1 else parts[0]
    return joined.drop_duplicates(**dict(kwargs))


def _dedup_finish(meta: Any, kwargs: tuple, parts: list) -> Any:
    out = _dedup(kwargs, parts)
    return meta if out is None else out


def drop_duplicates(frame: Any, split_every: int = SPLIT_EVERY, **kwargs: Any) -> Any:
    """``drop_duplicates`` as a tree (keep="first" keeps pandas' rows and order)."""
    if kwargs.get("keep", "first") is False or kwargs.get("keep", "first") == "last":
        raise ValueError("drop_duplicates supports keep='first' only")
    frame._meta.drop_duplicates(**kwargs)  # pandas' errors for a bad subset
    options = tuple(sorted(kwargs.items()))
    layer = MapPartitions(partial(_dedup_one, options), (frame.layer,), (), None,
                          (None,) * (frame.npartitions + 1), (), "drop_duplicates")
    n = layer.npartitions
    while n > split_every:
        bounds = group_bounds(n, split_every)
        layer = Regroup(layer, bounds, partial(_dedup, options), None, (None,) * len(bounds),
                        "drop_duplicates")
        n = layer.npartitions
    final = Regroup(layer, (0, n), partial(_dedup_finish, frame._meta, options), frame._meta,
                    (None, None), "drop_duplicates")
    return wrap(final)


def _dedup_one(kwargs: tuple, part: Any) -> Any:
    return part.drop_duplicates(**dict(kwargs))
