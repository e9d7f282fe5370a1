"""Hypothesis strategies for random pandas frames cut into random partitions.

    @given(partitioned_frames())
    def test_sum(case):
        pdf, df = case                  # the pandas frame and a lazy one over it
        assert_equal(df.f.sum().compute(), pdf.f.sum())

Columns cover ints, floats with NaN, ±inf and ±0, nullable ints with NA,
strings with None, categoricals, datetimes with NaT, and a small integer
key; partitions are uneven and may be empty, and the index may be sorted
(known divisions) or shuffled (unknown).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from lamina.dataframe.core import wrap
from lamina.layers.frame.base import Pandas
from lamina.layers.frame.sources import FromPandas

FLOATS = st.one_of(st.floats(-1e6, 1e6, allow_nan=False, width=64),
                   st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
WORDS = st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "", "Zz", "ß", "x y"]))


@st.composite
def pandas_frames(draw: Any, min_rows: int = 0, max_rows: int = 40) -> pd.DataFrame:
    """A pandas DataFrame with every column kind lamina's operations must handle."""
    n = draw(st.integers(min_rows, max_rows))
    ints = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
    floats = draw(st.lists(FLOATS, min_size=n, max_size=n))
    nullable = draw(st.lists(st.one_of(st.none(), st.integers(-50, 50)), min_size=n,
                             max_size=n))
    words = draw(st.lists(WORDS, min_size=n, max_size=n))
    keys = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    days = draw(st.lists(st.one_of(st.none(), st.integers(0, 3000)), min_size=n, max_size=n))
    frame = pd.DataFrame({
        "i": np.array(ints, dtype="int64"),
        "f": np.array(floats, dtype="float64"),
        "n": pd.array(nullable, dtype="Int64"),
        "s": pd.array(words, dtype="str"),
        "c": pd.Categorical([w if w is not None else None for w in words]),
        "t": pd.to_datetime([None if d is None else pd.Timestamp("2000-01-01")
                             + pd.Timedelta(days=d) for d in days]),
        "k": np.array(keys, dtype="int64"),
    })
    if draw(st.booleans()):
        frame.index = draw(st.permutations(list(range(n)))) if n else frame.index
    return frame


@st.composite
def partition_bounds(draw: Any, n: int, max_partitions: int = 6) -> tuple[int, ...]:
    """Uneven row bounds over ``n`` rows, empty partitions allowed."""
    k = draw(st.integers(1, max_partitions))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    return (0, *cuts, n)


def from_pandas_bounds(frame: pd.DataFrame | pd.Series, bounds: tuple[int, ...]) -> Any:
    """A lazy frame over ``frame`` cut at exactly ``bounds`` (divisions unknown)."""
    return wrap(FromPandas(Pandas(frame), tuple(int(b) for b in bounds),
                           (None,) * len(bounds)))


@st.composite
def partitioned_frames(draw: Any, min_rows: int = 0, max_rows: int = 40) -> tuple:
    """``(pandas_frame, lazy_frame)``: the same data, the lazy one in random partitions."""
    frame = draw(pandas_frames(min_rows, max_rows))
    bounds = draw(partition_bounds(len(frame)))
    return frame, from_pandas_bounds(frame, bounds)
