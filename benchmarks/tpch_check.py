"""Whether a TPC-H result equals DuckDB's: same columns, same rows, floats to 1e-6.

Rows are compared after sorting both results by every column (strings and
integers first, then floats rounded to cents), so an engine that breaks a
tie in ``order by`` differently still compares equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "M":
            values = values.astype("datetime64[us]").astype("int64")
        elif values.dtype.kind in "iufb":
            values = values.astype("float64")
        else:
            values = values.astype(str)
        out[column] = values
    return pd.DataFrame(out)


def same(got: pd.DataFrame, want: pd.DataFrame, rtol: float = 1e-6) -> str | None:
    """None when ``got`` equals ``want`` up to row order and float rounding, else why not."""
    if list(got.columns) != list(want.columns):
        return f"columns {list(got.columns)} != {list(want.columns)}"
    if len(got) != len(want):
        return f"{len(got)} rows != {len(want)}"
    got, want = _comparable(got), _comparable(want)
    floats = [c for c in want.columns if want[c].dtype.kind == "f"]
    others = [c for c in want.columns if c not in floats]
    keys = others + floats

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        rounded = frame.assign(**{c: frame[c].round(2) for c in floats})
        order = rounded.sort_values(keys, kind="stable").index
        return frame.loc[order].reset_index(drop=True)

    got, want = ordered(got), ordered(want)
    for column in want.columns:
        a, b = got[column].to_numpy(), want[column].to_numpy()
        if column in floats:
            if not np.allclose(a, b, rtol=rtol, atol=1e-6, equal_nan=True):
                return f"column {column!r} differs: {a[:5]} != {b[:5]}"
        elif not (a == b).all():
            return f"column {column!r} differs: {a[:5]} != {b[:5]}"
    return None
