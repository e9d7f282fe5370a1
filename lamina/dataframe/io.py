"""Reading and writing: pandas objects, parquet and CSV.

    ld.from_pandas(pdf, npartitions=4)
    ld.read_parquet("data/", columns=["a", "b"], filters=[("a", ">", 0)])
    ld.read_csv("data/*.csv")
    df.to_parquet("out/")      # atomic: all files or none
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from functools import partial
from typing import Any, Sequence

import numpy as np
import pandas as pd

from lamina.dataframe.core import wrap
from lamina.layers.frame.base import Pandas
from lamina.layers.frame.csv import ReadCSV
from lamina.layers.frame.parquet import WriteParquet, commit_dataset, plan_parquet
from lamina.layers.frame.regroup import Regroup
from lamina.layers.frame.sources import FromPandas


def from_pandas(data: pd.DataFrame | pd.Series, npartitions: int | None = None,
                chunksize: int | None = None) -> Any:
    """A lazy frame over an in-memory pandas object, cut into partitions by rows.

    When the index is sorted, partitions never split equal index values and
    the divisions are known.
    """
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        raise TypeError(f"from_pandas takes a pandas DataFrame or Series, got "
                        f"{type(data).__name__}")
    n = len(data)
    if chunksize is not None:
        if chunksize < 1:
            raise ValueError(f"chunksize must be at least 1, got {chunksize}")
        npartitions = max(-(-n // chunksize), 1)
    npartitions = 1 if npartitions is None else npartitions
    if not isinstance(npartitions, (int, np.integer)) or npartitions < 1:
        raise ValueError(f"npartitions must be a positive integer, got {npartitions!r}")
    bounds = [round(i * n / npartitions) for i in range(npartitions + 1)]
    sorted_index = n > 0 and data.index.is_monotonic_increasing and not data.index.hasnans
    if sorted_index:
        index = data.index
        bounds = [0] + sorted({int(index.searchsorted(index[b], side="left"))
                               for b in bounds[1:-1] if b < n} - {0}) + [n]
        divisions = tuple(index[b] for b in bounds[:-1]) + (index[-1],)
    else:
        divisions = (None,) * len(bounds)
    return wrap(FromPandas(Pandas(data), tuple(bounds), divisions))


def read_parquet(path: str, columns: Sequence[str] | None = None, filters: Any = None,
                 row_groups_per_partition: int = 1) -> Any:
    """A lazy DataFrame over a parquet file or folder, one partition per row group(s).

    Only ``columns`` are read; ``filters`` (pyarrow DNF, ``[("a", ">", 0)]``)
    skip row groups whose statistics rule them out and drop the other
    non-matching rows. The optimizer pushes later column selections and
    filters into the read on its own.
    """
    path = os.fspath(path)
    return wrap(plan_parquet(path, columns, filters, row_groups_per_partition))


def read_csv(path: str | Sequence[str], **kwargs: Any) -> Any:
    """A lazy DataFrame over CSV files (a glob pattern or a list), one partition per file."""
    paths = sorted(glob.glob(path)) if isinstance(path, str) else [os.fspath(p) for p in path]
    if not paths:
        raise FileNotFoundError(f"no CSV file matches {path!r}")
    for p in paths:
        if not os.path.exists(p):
            raise FileNotFoundError(f"CSV file {p!r} does not exist")
    meta = pd.read_csv(paths[0], nrows=1000, **kwargs).iloc[:0]
    return wrap(ReadCSV(tuple(paths), tuple(sorted(kwargs.items())), meta))


def to_parquet(frame: Any, path: str, index: bool = False, overwrite: bool = False) -> int:
    """Write one parquet file per partition into the folder ``path``; the row count.

    The files go to a temporary folder beside ``path``, renamed into place
    once all are written: a failed write leaves no half dataset (and an
    existing dataset untouched unless ``overwrite``).
    """
    from lamina.compute import compute

    target = os.path.abspath(os.fspath(path))
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{path!r} exists: pass overwrite=True to replace it")
    folder = os.path.join(os.path.dirname(target),
                          f".{os.path.basename(target)}.writing-{uuid.uuid4().hex[:12]}")
    os.makedirs(folder)
    written = WriteParquet(frame.layer, folder, index)
    commit = Regroup(written, (0, written.npartitions),
                     partial(commit_dataset, folder=folder, target=target), 0, (None, None),
                     "commit")
    try:
        return compute(wrap(commit))[0]
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
