"""Dataframe rules keep results equal to pandas' while reading less."""

import os
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import strategies as st

import lamina
import lamina.dataframe as ld
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.walk import topological
from lamina.optimizer.rules.frames import RULES
from lamina.testing.frame_check import FrameQuery, check_frame_rule
from lamina.testing.frames import pandas_frames

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
FOLDER = tempfile.mkdtemp(prefix="lamina-rules-")
OPS = ["gt", "ge", "lt", "le", "eq", "ne"]


@st.composite
def parquet_queries(draw):
    """A filter on a random column and threshold, then a projection, over a parquet read
    of a random frame written in random row groups."""
    frame = draw(pandas_frames()).reset_index(drop=True)[["i", "f", "n", "s", "k", "t"]]
    frame["t"] = frame["t"].astype("datetime64[us]")  # an empty column's unit is s: not in parquet
    path = os.path.join(FOLDER, f"{len(os.listdir(FOLDER))}.parquet")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=draw(st.integers(1, 12)))
    df, pdf = ld.read_parquet(path), frame
    column = draw(st.sampled_from(["i", "f", "k", "s"]))
    value = draw({"i": st.integers(-1000, 1000), "f": st.floats(-10, 10),
                  "k": st.integers(0, 3), "s": st.sampled_from(["a", "ab", "b"])}[column])
    op = draw(st.sampled_from(OPS))
    reflect = draw(st.booleans())
    name = f"__{op}__"
    lazy_mask = getattr(df[column], name)(value)
    mask = getattr(pdf[column], name)(value)
    if reflect and op in ("gt", "lt"):
        flip = {"gt": "__lt__", "lt": "__gt__"}[op]
        lazy_mask = getattr(df[column], flip)(value)
        mask = getattr(pdf[column], flip)(value)
    if draw(st.booleans()):  # a conjunction with a second comparison
        lazy_mask = lazy_mask & (df.k >= 1)
        mask = mask & (pdf.k >= 1)
    chosen = draw(st.sampled_from([["f"], ["s", "i"], ["t"]]))
    lazy, want = df[lazy_mask][chosen], pdf[mask][chosen]
    if draw(st.booleans()):
        lazy, want = lazy.sum() if chosen != ["s", "i"] and chosen != ["t"] else lazy, \
            want.sum() if chosen != ["s", "i"] and chosen != ["t"] else want
    return FrameQuery(lazy, want)


def test_frame_rules_keep_results_equal_on_random_parquet_queries():
    report = check_frame_rule(RULES, parquet_queries(), max_examples=25)
    assert report.by_rule.get("predicate_into_parquet", 0) > 0
    assert report.by_rule.get("projection_into_parquet", 0) > 0


def _reads(collection):
    (optimized,) = lamina.optimize(collection, disabled_rules={"partitionwise_fusion"})
    return [layer for layer in topological([optimized.layer]) if isinstance(layer, ReadParquet)]


def test_only_used_columns_are_read_and_statistics_skip_row_groups(tmp_path):
    pdf = pd.DataFrame({"a": np.arange(100), "b": np.arange(100.0), "c": ["x"] * 100})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet",
                   row_group_size=10)
    df = ld.read_parquet(str(tmp_path))
    query = df[(df.a >= 75) & (df.b < 90)].groupby("c").agg(total=("b", "sum"))
    (read,) = _reads(query)
    assert read.columns == ("b", "c")
    assert read.filters == ((("a", ">=", 75), ("b", "<", 90)),)
    assert [len(groups) for _, groups in read.parts] == [0] * 7 + [1] * 2 + [0]
    want = pdf[(pdf.a >= 75) & (pdf.b < 90)].groupby("c").agg(total=("b", "sum"))
    pd.testing.assert_frame_equal(query.compute(), want)


def test_not_equal_is_never_pushed_into_the_read(tmp_path):
    pdf = pd.DataFrame({"s": pd.array(["a", None, "b"], dtype="str")})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet")
    df = ld.read_parquet(str(tmp_path))
    (read,) = _reads(df[df.s != "a"])
    assert read.filters is None
    pd.testing.assert_frame_equal(df[df.s != "a"].compute(), pdf[pdf.s != "a"])


def test_head_reads_only_the_first_partition(tmp_path):
    from lamina.scheduler.lowering import lower

    df = ld.from_pandas(pd.DataFrame({"x": np.arange(100)}), npartitions=10)
    table = lower([(df.x + 1).head(3, compute=False).layer])
    assert table.n_tasks == 4  # one source partition, one +1, the head
