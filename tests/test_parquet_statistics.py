"""Row-group statistics as arrays: pruning never drops a row group that holds a match."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.dataframe as ld
from lamina.layers.frame import parquet_meta
from lamina.layers.frame.parquet import filters_expression, normalize_filters
from lamina.layers.frame.parquet_meta import dataset_meta

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
OPS = [">", ">=", "<", "<=", "==", "!=", "in", "not in"]
FLOATS = st.one_of(st.floats(-100, 100), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
STAMPS = st.integers(0, 40).map(lambda d: pd.Timestamp("2001-01-01") + pd.Timedelta(days=d))
COLUMNS = {
    "i": (st.integers(-50, 50), pa.int64()),
    "f": (FLOATS, pa.float64()),
    "s": (st.sampled_from(["", "a", "ab", "b", "ß", "zz"]), pa.string()),
    "t": (STAMPS, pa.timestamp("us")),
}


@st.composite
def tables_and_filters(draw):
    column = draw(st.sampled_from(sorted(COLUMNS)))
    values, arrow_type = COLUMNS[column]
    n = draw(st.integers(1, 30))
    cells = draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))
    table = pa.table({column: pa.array(cells, type=arrow_type)})
    op = draw(st.sampled_from(OPS))
    value = draw(st.lists(values, min_size=1, max_size=3)) if "in" in op else draw(values)
    return table, draw(st.integers(1, 8)), [(column, op, value)]


@settings(max_examples=80, deadline=None)
@given(tables_and_filters())
def test_a_pruned_row_group_holds_no_matching_row(tmp_path_factory, case):
    table, size, filters = case
    path = str(tmp_path_factory.mktemp("stats") / "f.parquet")
    pq.write_table(table, path, row_group_size=size)
    meta = dataset_meta(path)
    keep = meta.may_match(normalize_filters(filters))
    expression = filters_expression(normalize_filters(filters))
    reader = pq.ParquetFile(path)
    for g in np.flatnonzero(~keep):
        rows = reader.read_row_group(int(g)).filter(expression)
        assert rows.num_rows == 0, (g, filters, reader.read_row_group(int(g)))


def test_statistics_prune_at_planning_when_cheap_and_in_the_tasks_otherwise(tmp_path,
                                                                           monkeypatch):
    pdf = pd.DataFrame({"a": np.arange(200), "t": pd.date_range("2001-01-01", periods=200)})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet",
                   row_group_size=10)
    cut = pd.Timestamp("2001-06-01")
    want = pdf[pdf.t >= cut]
    planned = ld.read_parquet(str(tmp_path), filters=[("t", ">=", cut)])
    assert planned.npartitions == 5  # day 151 on: row groups 15..19 may match
    pd.testing.assert_frame_equal(planned.compute(), want)
    monkeypatch.setattr(parquet_meta, "PLAN_STATS_LIMIT", 0)
    parquet_meta._DATASETS.clear()
    deferred = ld.read_parquet(str(tmp_path), filters=[("t", ">=", cut)])
    assert deferred.npartitions == 20  # the tasks skip row groups instead
    pd.testing.assert_frame_equal(deferred.compute(), want)


def test_a_rewritten_file_is_planned_from_its_new_footer(tmp_path):
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"a": np.arange(10)}), path, row_group_size=5)
    assert ld.read_parquet(str(tmp_path)).npartitions == 2
    pq.write_table(pa.table({"a": np.arange(12)}), path, row_group_size=3)
    df = ld.read_parquet(str(tmp_path))
    assert df.npartitions == 4
    assert df.a.sum().compute() == 66



@pytest.mark.parametrize("filters", [[("f", "!=", 0.0)], [("f", "in", [float("nan")])]])
def test_a_row_group_whose_only_other_value_is_nan_is_kept(tmp_path, filters):
    """Statistics leave NaN out: min = max = 0 must not rule out ``!= 0`` or ``in [nan]``."""
    path = str(tmp_path / "f.parquet")
    pq.write_table(pa.table({"f": pa.array([0.0, float("nan")])}), path, row_group_size=2)
    assert dataset_meta(path).may_match(normalize_filters(filters)).tolist() == [True]
    expression = filters_expression(normalize_filters(filters))
    assert pq.read_table(path).filter(expression).num_rows == 1
    assert len(ld.read_parquet(path, filters=filters).compute()) == 1
