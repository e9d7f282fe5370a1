"""Parquet, CSV and pandas I/O of lamina.dataframe, and the errors bad input gets."""

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lamina.dataframe as ld

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture
def table(tmp_path):
    """A parquet folder of two files with 4 row groups of 25 rows each."""
    rng = np.random.default_rng(0)
    pdf = pd.DataFrame({"a": np.arange(200), "b": rng.standard_normal(200),
                        "s": pd.array(rng.choice(["x", "y", None], 200), dtype="str")})
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(2):
        pq.write_table(pa.Table.from_pandas(pdf.iloc[i * 100:(i + 1) * 100],
                                            preserve_index=False),
                       folder / f"part{i}.parquet", row_group_size=25)
    return pdf, str(folder)


def test_read_parquet_has_one_partition_per_row_group(table):
    pdf, path = table
    df = ld.read_parquet(path)
    assert df.npartitions == 8
    assert df.layer.rows == (25,) * 8
    pd.testing.assert_frame_equal(df.compute().reset_index(drop=True), pdf)


def test_read_parquet_columns_and_filters_skip_row_groups(table):
    pdf, path = table
    df = ld.read_parquet(path, columns=["b"], filters=[("a", ">=", 160)])
    assert df.npartitions == 2  # row groups [150, 175) and [175, 200): statistics skip six
    want = pdf.loc[pdf.a >= 160, ["b"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(df.compute().reset_index(drop=True), want)


def test_read_parquet_or_filters_match_pandas(table):
    pdf, path = table
    filters = [[("a", "<", 10)], [("s", "==", "x"), ("b", ">", 0)]]
    got = ld.read_parquet(path, filters=filters).compute().reset_index(drop=True)
    want = pdf[(pdf.a < 10) | ((pdf.s == "x") & (pdf.b > 0))].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_to_parquet_round_trips_and_replaces_atomically(table, tmp_path):
    pdf, path = table
    out = str(tmp_path / "out")
    df = ld.from_pandas(pdf, npartitions=3)
    assert df.to_parquet(out) == 200
    assert sorted(os.listdir(out)) == [f"part.{i:06d}.parquet" for i in range(3)]
    pd.testing.assert_frame_equal(ld.read_parquet(out).compute().reset_index(drop=True), pdf)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        df.to_parquet(out)


def _explode(part):
    if len(part) and part.a.iloc[0] >= 100:
        raise RuntimeError("disk full")
    return part


def test_a_failed_to_parquet_leaves_no_dataset_and_no_temporary_folder(table, tmp_path):
    pdf, _ = table
    df = ld.from_pandas(pdf, npartitions=4).map_partitions(_explode, meta=pdf.iloc[:0])
    with pytest.raises(RuntimeError, match="disk full"):
        df.to_parquet(str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_read_csv_reads_one_partition_per_file(tmp_path):
    pdf = pd.DataFrame({"x": np.arange(10), "y": list("abcdefghij")})
    for i in range(2):
        pdf.iloc[i * 5:(i + 1) * 5].to_csv(tmp_path / f"f{i}.csv", index=False)
    df = ld.read_csv(str(tmp_path / "*.csv"))
    assert df.npartitions == 2
    pd.testing.assert_frame_equal(df.compute().reset_index(drop=True), pdf)


def test_from_pandas_with_a_sorted_index_knows_divisions_and_never_splits_a_value():
    pdf = pd.DataFrame({"x": range(9)}, index=[1, 1, 1, 2, 2, 3, 3, 3, 4])
    df = ld.from_pandas(pdf, npartitions=3)
    assert df.known_divisions
    parts = [df.get_partition(i).compute() for i in range(df.npartitions)]
    assert all(not set(a.index) & set(b.index) for a in parts for b in parts if a is not b)
    pd.testing.assert_frame_equal(df.compute(), pdf)


def test_errors_name_the_problem(table, tmp_path):
    pdf, path = table
    df = ld.from_pandas(pdf, npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        df["nope"]
    with pytest.raises(KeyError, match="nope"):
        df.groupby("nope")
    with pytest.raises(KeyError, match="nope"):
        ld.read_parquet(path, columns=["nope"])
    with pytest.raises(FileNotFoundError, match="missing"):
        ld.read_parquet(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not aligned"):
        df.a + ld.from_pandas(pdf, npartitions=3).a
    with pytest.raises(ValueError, match="merge"):
        df.merge(ld.from_pandas(pdf.assign(a=pdf.a.astype(str)), npartitions=2), on="a")
    with pytest.raises(ValueError, match="not supported"):
        df.groupby("s").agg(x=("a", "median"))
    with pytest.raises(TypeError, match="from_pandas"):
        df.a + pdf.a
