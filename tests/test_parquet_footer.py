"""Footers cut down to a read task's row groups read what the whole footer reads."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina.dataframe as ld
import lamina.layers.frame.parquet as parquet_layer
import lamina.layers.frame.parquet_meta as parquet_meta
from lamina.layers.frame.parquet_footer import cut_footer, footer_layout

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(path, n, row_group_size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    x[rng.random(n) < 0.1] = np.nan
    x[:min(n, 3)] = [np.inf, -0.0, -np.inf][:min(n, 3)]
    frame = pd.DataFrame({"k": rng.integers(-50, 50, n), "x": x,
                          "s": pd.array(rng.choice(["a", "bb", None], n), dtype="str")})
    frame.to_parquet(path, row_group_size=row_group_size)
    return frame


@SETTINGS
@given(n=st.integers(1, 400), size=st.integers(1, 40), data=st.data())
def test_a_cut_footer_reads_the_row_groups_the_whole_footer_reads(tmp_path, n, size, data):
    path = str(tmp_path / "f.parquet")
    write(path, n, size)
    whole = pq.ParquetFile(path)
    count = whole.metadata.num_row_groups
    groups = sorted(data.draw(st.sets(st.integers(0, count - 1), max_size=20)))
    layout, spans = footer_layout(path)
    assert len(spans) == count
    rows = sum(whole.metadata.row_group(g).num_rows for g in groups)
    cut = cut_footer(path, layout, spans[groups], rows)
    assert cut.num_row_groups == len(groups) and cut.num_rows == rows
    got = pq.ParquetFile(path, metadata=cut).read_row_groups(list(range(len(groups))))
    want = whole.read_row_groups(groups) if groups else whole.schema_arrow.empty_table()
    assert got.equals(want)


def test_read_tasks_do_not_parse_the_whole_footer(tmp_path, monkeypatch):
    path = str(tmp_path / "f.parquet")
    frame = write(path, 3_000, 20)                 # 150 row groups
    monkeypatch.setattr(parquet_meta, "PLAN_STATS_LIMIT", 0)   # tasks check statistics
    df = ld.read_parquet(path, filters=[("k", ">", 45)])
    assert df.npartitions == 150

    def whole_footer(path):
        raise AssertionError("a read task parsed the whole footer")

    monkeypatch.setattr(parquet_layer, "file_meta", whole_footer)
    monkeypatch.setattr(parquet_layer, "dataset_meta", whole_footer)
    got = df.compute()
    pd.testing.assert_frame_equal(got, frame[frame.k > 45])


def test_an_unreadable_footer_leaves_no_layout(tmp_path):
    path = tmp_path / "f.parquet"
    path.write_bytes(b"PAR1 not a footer" + (9).to_bytes(4, "little") + b"PAR1")
    layout, spans = footer_layout(str(path))
    assert layout[0] == -1 and len(spans) == 0
    with pytest.raises(OSError):               # pyarrow refuses it too
        pq.read_metadata(str(path))
