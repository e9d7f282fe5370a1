"""head_cull: a head reads only its partitions, and ``head()`` equals pandas' head."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.dataframe as ld
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.walk import topological
from lamina.optimizer.rules.frame_head import RULES
from lamina.optimizer.rules.frames import RULES as PUSHDOWN
from lamina.testing.frame_check import FrameQuery, check_frame_rule
from lamina.testing.frames import from_pandas_bounds, pandas_frames, partition_bounds

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _filtered(draw, pdf, df):
    """A random partition-wise step: a filter, an assignment, or both."""
    kind = draw(st.sampled_from(["filter", "assign", "both", "project"]))
    lazy, want = df, pdf
    if kind in ("filter", "both"):
        value = draw(st.integers(-1000, 1000))
        lazy, want = lazy[lazy.i > value], want[want.i > value]
    if kind in ("assign", "both"):
        lazy, want = lazy.assign(g=lazy.f * 2), want.assign(g=want.f * 2)
    if kind == "project":
        lazy, want = lazy[["k", "f"]], want[["k", "f"]]
    return lazy, want


@st.composite
def head_queries(draw):
    """``df[step]`` then the head of partitions ``a:b``, and pandas' rows for it."""
    pdf = draw(pandas_frames(max_rows=30))
    bounds = draw(partition_bounds(len(pdf)))
    df = from_pandas_bounds(pdf, bounds)
    lazy, want = _filtered(draw, pdf, df)
    n = draw(st.integers(0, 8))
    a = draw(st.integers(0, df.npartitions - 1))
    b = draw(st.integers(a + 1, df.npartitions))
    positions = np.arange(len(pdf))
    kept = pdf.index[(positions >= bounds[a]) & (positions < bounds[b])]  # labels are unique
    rows = want[want.index.isin(kept)]
    return FrameQuery(lazy._head_of(a, b, n), rows.head(n))


def test_head_cull_keeps_results_equal_on_random_heads():
    report = check_frame_rule(RULES, head_queries(), max_examples=30)
    assert report.by_rule.get("head_cull", 0) > 0


def test_a_head_plan_holds_only_the_partitions_it_reads(tmp_path):
    pdf = pd.DataFrame({"a": np.arange(1000), "b": np.arange(1000.0)})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet",
                   row_group_size=10)
    df = ld.read_parquet(str(tmp_path))
    lazy = df[df.a % 2 == 0].head(3, compute=False)
    (optimized,) = lamina.optimize(lazy, disabled_rules={"partitionwise_fusion"})
    reads = [x for x in topological([optimized.layer]) if isinstance(x, ReadParquet)]
    assert [r.npartitions for r in reads] == [1]
    pd.testing.assert_frame_equal(lazy.compute(), pdf[pdf.a % 2 == 0].head(3))


@settings(max_examples=30, deadline=None)
@given(pandas_frames(max_rows=30), st.data())
def test_head_grows_until_it_has_pandas_rows(pdf, data):
    bounds = data.draw(partition_bounds(len(pdf)))
    df = from_pandas_bounds(pdf, bounds)
    value = data.draw(st.integers(-1000, 1000))
    n = data.draw(st.integers(0, 12))
    got = df[df.i > value].head(n)
    pd.testing.assert_frame_equal(got, pdf[pdf.i > value].head(n))


def test_head_over_parquet_with_pushdown_reads_few_row_groups(tmp_path):
    pdf = pd.DataFrame({"a": np.arange(400), "b": np.arange(400.0)})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet",
                   row_group_size=10)
    df = ld.read_parquet(str(tmp_path))
    got = df[df.a >= 155].head(7)
    pd.testing.assert_frame_equal(got, pdf[pdf.a >= 155].head(7))
    report = check_frame_rule([*RULES, *PUSHDOWN], st.just(
        FrameQuery(df[df.a >= 155]._head_of(15, 20, 7), pdf[pdf.a >= 155].head(7))),
        max_examples=1)
    assert report.by_rule.get("head_cull", 0) == 1


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(0, 300))
def test_head_after_a_sort_over_many_partitions_equals_pandas(seed, npartitions, n):
    """The sorted partitions are read in order until ``n`` rows are in hand."""
    rng = np.random.default_rng(seed)
    pdf = pd.DataFrame({"a": rng.integers(0, 20, 240), "b": rng.random(240)})
    df = ld.from_pandas(pdf, npartitions=npartitions)
    got = df.sort_values(["a", "b"], ascending=[False, True]).head(n)
    want = pdf.sort_values(["a", "b"], ascending=[False, True], kind="stable").head(n)
    pd.testing.assert_frame_equal(got, want)
