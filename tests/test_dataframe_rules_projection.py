"""projection_pushdown: a plan reads only the columns it uses, through assign,
filter, rename, merge and concat, with pandas' results."""

import importlib.util
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
from lamina.layers.frame.parquet import ReadParquet, filter_columns
from lamina.layers.walk import topological
from lamina.optimizer.rules.frame_projection import RULES
from lamina.optimizer.rules.frames import RULES as PUSHDOWN
from lamina.testing.frame_check import FrameQuery, check_frame_rule
from lamina.testing.frames import pandas_frames

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
FOLDER = tempfile.mkdtemp(prefix="lamina-projection-")
COLUMNS = ["i", "f", "n", "s", "k", "t"]


def _parquet(frame, draw):
    path = os.path.join(FOLDER, f"{len(os.listdir(FOLDER))}.parquet")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=draw(st.integers(1, 12)))
    return ld.read_parquet(path)


@st.composite
def chains(draw):
    """A random chain of assign / filter / select / rename / merge over a parquet read,
    ending in a groupby that uses a few columns (an order-free result)."""
    frame = draw(pandas_frames()).reset_index(drop=True)[COLUMNS]
    frame["t"] = frame["t"].astype("datetime64[us]")  # an empty column's unit is s: not in parquet
    lazy, want = _parquet(frame, draw), frame
    other = pd.DataFrame({"k": [0, 1, 2, 2, 5], "f": [0.5, np.nan, 2.0, -1.0, 3.0],
                          "w": [1.0, 2.0, 3.0, 4.0, 5.0], "z": list("abcde")})
    lazy_other = ld.from_pandas(other, npartitions=2)
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from(["assign", "filter", "select", "rename", "merge"]))
        numeric = [c for c in want.columns if want[c].dtype.kind in "if" and c != "k"]
        if step == "assign" and numeric:
            source = draw(st.sampled_from(numeric))
            name = draw(st.sampled_from(["d", "e", source]))
            lazy, want = lazy.assign(**{name: lazy[source] * 2}), \
                want.assign(**{name: want[source] * 2})
        elif step == "filter" and numeric:
            column = draw(st.sampled_from(numeric))
            lazy, want = lazy[lazy[column] > 0], want[want[column] > 0]
        elif step == "select":
            keep = draw(st.lists(st.sampled_from(list(want.columns)), min_size=1,
                                 unique=True))
            keep = list(dict.fromkeys(["k", *keep]))
            lazy, want = lazy[keep], want[keep]
        elif step == "rename" and "i" in want.columns:
            lazy, want = lazy.rename({"i": "ii"}), want.rename(columns={"i": "ii"})
        elif step == "merge" and "w" not in want.columns:
            how = draw(st.sampled_from(["inner", "left"]))
            lazy, want = lazy.merge(lazy_other, on="k", how=how), \
                want.merge(other, on="k", how=how)
    numeric = [c for c in want.columns if isinstance(want[c].dtype, np.dtype)
               and want[c].dtype.kind in "if" and c != "k"]  # a nullable sum's dtype: #10
    used = draw(st.lists(st.sampled_from(numeric), max_size=2, unique=True)) if numeric else []
    spec = {f"out_{c}": (c, "sum") for c in used} | {"rows": ("k", "count")}
    return FrameQuery(lazy.groupby("k").agg(**spec), want.groupby("k").agg(**spec))


def test_projection_pushdown_keeps_results_equal_on_random_chains():
    report = check_frame_rule([*RULES, *PUSHDOWN], chains(), max_examples=12)
    assert report.by_rule.get("projection_pushdown", 0) > 0
    assert report.by_rule.get("projection_into_parquet", 0) > 0


def _reads(collection):
    (optimized,) = lamina.optimize(collection, disabled_rules={"partitionwise_fusion"})
    return {os.path.basename(r.path.rstrip("/")): set(r.columns) | set(filter_columns(r.filters))
            for r in topological([optimized.layer]) if isinstance(r, ReadParquet)}


def test_assign_merge_and_rename_do_not_stop_the_projection(tmp_path):
    pdf = pd.DataFrame({c: np.arange(20.0) + i for i, c in enumerate("abcdefg")})
    pdf["k"] = np.arange(20) % 4
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "t.parquet",
                   row_group_size=5)
    small = pd.DataFrame({"k": [0, 1, 2], "name": ["x", "y", "z"], "unused": [1, 2, 3]})
    df = ld.read_parquet(str(tmp_path / "t.parquet"))
    joined = df.assign(h=df.a + df.b).merge(ld.from_pandas(small, npartitions=1), on="k")
    joined = joined.rename({"c": "cc"})
    query = joined[joined.cc > 3].groupby("name").agg(total=("h", "sum"), top=("cc", "max"))
    assert _reads(query) == {"t.parquet": {"a", "b", "c", "k"}}
    expected = pdf.assign(h=pdf.a + pdf.b).merge(small, on="k").rename(columns={"c": "cc"})
    expected = expected[expected.cc > 3].groupby("name").agg(total=("h", "sum"),
                                                              top=("cc", "max"))
    pd.testing.assert_frame_equal(query.compute(), expected)


def test_concat_does_not_stop_the_projection(tmp_path):
    first = pd.DataFrame({"k": [1, 2, 3], "a": [1.0, 2.0, 3.0], "b": list("xyz")})
    second = pd.DataFrame({"k": [3, 4], "a": [4.0, np.nan], "c": [1, 2]})
    pq.write_table(pa.Table.from_pandas(first, preserve_index=False), tmp_path / "1.parquet")
    pq.write_table(pa.Table.from_pandas(second, preserve_index=False), tmp_path / "2.parquet")
    both = ld.concat([ld.read_parquet(str(tmp_path / "1.parquet")),
                      ld.read_parquet(str(tmp_path / "2.parquet"))])
    query = both.groupby("k").agg(total=("a", "sum"))
    assert _reads(query) == {"1.parquet": {"k", "a"}, "2.parquet": {"k", "a"}}
    want = pd.concat([first, second]).groupby("k").agg(total=("a", "sum"))
    pd.testing.assert_frame_equal(query.compute(), want)


def test_a_result_asked_for_keeps_every_column(tmp_path):
    pdf = pd.DataFrame({"a": np.arange(6), "b": np.arange(6.0), "c": list("abcdef")})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "t.parquet")
    df = ld.read_parquet(str(tmp_path / "t.parquet"))
    query = df.assign(d=df.a * 2)
    assert _reads(query) == {"t.parquet": {"a", "b", "c"}}
    pd.testing.assert_frame_equal(query.compute(), pdf.assign(d=pdf.a * 2))


def _tpch():
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "benchmarks")
    modules = []
    for name in ("tpch_data", "tpch_queries"):
        spec = importlib.util.spec_from_file_location(name, os.path.join(here, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


USED = {  # query -> table -> the columns the query uses (the SQL's, by hand)
    1: {"lineitem": {"l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice",
                     "l_discount", "l_tax", "l_shipdate"}},
    3: {"customer": {"c_custkey", "c_mktsegment"},
        "orders": {"o_orderkey", "o_custkey", "o_orderdate", "o_shippriority"},
        "lineitem": {"l_orderkey", "l_extendedprice", "l_discount", "l_shipdate"}},
    10: {"customer": {"c_custkey", "c_name", "c_acctbal", "c_address", "c_phone", "c_comment",
                      "c_nationkey"},
         "orders": {"o_orderkey", "o_custkey", "o_orderdate"},
         "lineitem": {"l_orderkey", "l_extendedprice", "l_discount", "l_returnflag"},
         "nation": {"n_nationkey", "n_name"}},
    15: {"lineitem": {"l_suppkey", "l_extendedprice", "l_discount", "l_shipdate"},
         "supplier": {"s_suppkey", "s_name", "s_address", "s_phone"}},
}


@pytest.fixture(scope="module")
def tpch_folder(tmp_path_factory):
    tpch_data, _ = _tpch()
    if not tpch_data.tpchgen_available():
        pytest.skip("tpchgen-cli is not installed (pip install tpchgen-cli, in the test extra)")
    folder = str(tmp_path_factory.mktemp("tpch-projection"))
    tpch_data.generate(folder, 0.01, tables=("nation", "supplier", "customer", "orders",
                                              "lineitem"))
    return folder


@pytest.mark.parametrize("n", sorted(USED))
def test_tpch_queries_without_columns_read_only_what_they_use(tpch_folder, n):
    _, tpch_queries = _tpch()
    # the query's columns= ignored: the plan must find them
    query = tpch_queries.QUERIES[n](tpch_queries.reader(tpch_folder, ld, whole_tables=True), ld)
    assert _reads(query) == USED[n]
    with_columns = tpch_queries.QUERIES[n](tpch_queries.reader(tpch_folder, ld), ld)
    pd.testing.assert_frame_equal(tpch_queries.as_result(n, query.compute()),
                                  tpch_queries.as_result(n, with_columns.compute()))
