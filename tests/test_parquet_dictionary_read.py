"""Reading small-dictionary string columns as Arrow dictionaries gives exactly the
frame a plain read gives: same strings, nulls, dtypes, index and filtered rows."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina.dataframe as ld
from lamina.layers.frame.parquet_meta import file_meta
from lamina.layers.frame.parquet_read import dictionary_columns

WORDS = ["AIR", "AIR REG", "MAIL", "", "TRUCK", "é", None]


def _write(tmp_path, pdf, row_group_size, name="t.parquet", **options):
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    path = folder / name
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), path,
                   row_group_size=row_group_size, **options)
    return str(folder), str(path)


def test_flags_are_read_as_dictionaries_and_unique_strings_are_not(tmp_path):
    rng = np.random.default_rng(1)
    pdf = pd.DataFrame({"flag": pd.array(rng.choice(["A", "N", "R"], 20_000), dtype="str"),
                        "comment": [f"unique text number {i}" for i in range(20_000)],
                        "x": rng.standard_normal(20_000)})
    _, path = _write(tmp_path, pdf, 20_000, dictionary_pagesize_limit=4096)
    meta = file_meta(path).metadata
    schema = meta.schema.to_arrow_schema()
    assert dictionary_columns(meta, schema, [0], ["flag", "comment", "x"]) == ["flag"]
    _, plain = _write(tmp_path, pdf, 20_000, name="plain.parquet", use_dictionary=False)
    meta = file_meta(plain).metadata
    assert dictionary_columns(meta, meta.schema.to_arrow_schema(), [0], ["flag"]) == []


@st.composite
def frames(draw):
    n = draw(st.integers(0, 60))
    words = st.sampled_from(WORDS)
    return pd.DataFrame({
        "s": pd.array(draw(st.lists(words, min_size=n, max_size=n)), dtype="str"),
        "t": pd.array(draw(st.lists(words, min_size=n, max_size=n)), dtype="str"),
        "x": np.array(draw(st.lists(st.sampled_from([0.0, -0.0, 1.5, np.nan, np.inf, -np.inf]),
                                    min_size=n, max_size=n)), dtype="float64"),
    })


FILTERS = [None, [("s", "==", "AIR")], [("s", "in", ["MAIL", "", "é"])],
           [("t", "!=", "TRUCK"), ("x", ">", 0)], [[("s", "<", "B")], [("t", ">=", "M")]]]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pdf=frames(), row_group_size=st.integers(1, 25), filters=st.sampled_from(FILTERS),
       columns=st.sampled_from([None, ["s"], ["x", "t"]]))
def test_dictionary_reads_equal_plain_reads(tmp_path_factory, pdf, row_group_size, filters,
                                            columns):
    folder, _ = _write(tmp_path_factory.mktemp("d"), pdf, row_group_size)
    got = ld.read_parquet(folder, columns=columns, filters=filters).compute()
    want = pq.read_table(folder, filters=filters, columns=columns).to_pandas(
        ignore_metadata=True)
    assert list(got.dtypes) == list(want.dtypes)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    if filters is None:
        assert got.index.tolist() == list(range(len(pdf)))


@pytest.mark.parametrize("filters", FILTERS)
def test_filtered_dictionary_reads_match_pandas(tmp_path, filters):
    rng = np.random.default_rng(2)
    pdf = pd.DataFrame({"s": pd.array(rng.choice(WORDS, 500), dtype="str"),
                        "t": pd.array(rng.choice(WORDS, 500), dtype="str"),
                        "x": rng.choice([0.0, 1.5, np.nan, -np.inf], 500)})
    folder, _ = _write(tmp_path, pdf, 64)
    got = ld.read_parquet(folder, filters=filters).compute()
    mask = pd.Series(True, index=pdf.index)
    if filters is not None:
        groups = filters if isinstance(filters[0], list) else [filters]
        mask = pd.Series(False, index=pdf.index)
        for group in groups:
            part = pd.Series(True, index=pdf.index)
            for column, op, value in group:
                col = pdf[column]
                term = {"==": col == value if not isinstance(value, list) else None,
                        "!=": col != value, "<": col < value, ">": col > value,
                        ">=": col >= value}.get(op) if op != "in" else col.isin(value)
                part &= term.fillna(False).astype(bool) & col.notna()
            mask |= part
    want = pdf[mask]
    pd.testing.assert_frame_equal(got, want)
