"""merge_parquet_reads: two reads of one dataset become one, with pandas' results."""

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
from lamina.optimizer.rules.frame_reads import RULES
from lamina.optimizer.rules.frames import RULES as PUSHDOWN
from lamina.testing.frame_check import FrameQuery, check_frame_rule
from lamina.testing.frames import pandas_frames

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
FOLDER = tempfile.mkdtemp(prefix="lamina-reads-")
COLUMNS = ["i", "f", "n", "s", "k", "t"]


def _mask(draw, frame, lazy):
    """A random pushable filter, or none."""
    column = draw(st.sampled_from(["i", "f", "k", "s", None]))
    if column is None:
        return None, None
    value = draw({"i": st.integers(-1000, 1000), "f": st.floats(-10, 10),
                  "k": st.integers(0, 3), "s": st.sampled_from(["a", "ab", "b"])}[column])
    op = draw(st.sampled_from(["__gt__", "__ge__", "__lt__", "__le__", "__eq__"]))
    return getattr(lazy[column], op)(value), getattr(frame[column], op)(value)


@st.composite
def two_read_queries(draw):
    """Two filtered projections of one parquet dataset, concatenated."""
    frame = draw(pandas_frames()).reset_index(drop=True)[COLUMNS]
    frame["t"] = frame["t"].astype("datetime64[us]")  # an empty column's unit is s: not in parquet
    path = os.path.join(FOLDER, f"{len(os.listdir(FOLDER))}.parquet")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=draw(st.integers(1, 12)))
    df = ld.read_parquet(path)
    chosen = draw(st.sampled_from([["f", "k"], ["i", "k"], ["k", "s"]]))
    parts, wants = [], []
    for _ in range(2):
        lazy_mask, mask = _mask(draw, frame, df)
        if draw(st.booleans()) and lazy_mask is not None:  # a second, shared condition
            lazy_mask, mask = lazy_mask & (df.k >= 1), mask & (frame.k >= 1)
        lazy = df if lazy_mask is None else df[lazy_mask]
        want = frame if mask is None else frame[mask]
        parts.append(lazy[chosen])
        wants.append(want[chosen])
    return FrameQuery(ld.concat(parts), pd.concat(wants))


def test_merged_reads_keep_results_equal_on_random_queries():
    report = check_frame_rule([*PUSHDOWN, *RULES], two_read_queries(), max_examples=30)
    assert report.by_rule.get("merge_parquet_reads", 0) > 0


def test_two_reads_of_one_file_become_one_read_of_the_union(tmp_path):
    pdf = pd.DataFrame({"a": np.arange(100), "b": np.arange(100.0), "c": ["x", "y"] * 50})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet",
                   row_group_size=10)
    df = ld.read_parquet(str(tmp_path))
    left = df[df.a >= 30][["b"]]
    right = df[(df.a >= 30) & (df.b < 55)][["c"]]
    plans = lamina.optimize(left, right, disabled_rules={"partitionwise_fusion"})
    reads = [x for x in topological([p.layer for p in plans]) if isinstance(x, ReadParquet)]
    assert len(reads) == 1
    assert set(reads[0].columns) == {"b", "c"}  # b < 55 applies after the read
    assert reads[0].filters == ((("a", ">=", 30),),)
    got_left, got_right = lamina.compute(*plans, optimize_graph=False)
    pd.testing.assert_frame_equal(got_left, pdf[pdf.a >= 30][["b"]])
    pd.testing.assert_frame_equal(got_right, pdf[(pdf.a >= 30) & (pdf.b < 55)][["c"]])
