"""Dataframe operations against pandas on random frames in random partitions."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina
from lamina.testing.frames import partitioned_frames

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
NUMERIC = ["i", "f", "n", "k"]


def same(got, want):
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    elif pd.isna(want) or pd.isna(got):
        assert pd.isna(got) and pd.isna(want) and (got is pd.NA) == (want is pd.NA), (got, want)
    elif isinstance(want, float) or isinstance(got, float):
        np.testing.assert_allclose(got, want, rtol=1e-9, equal_nan=True)
    else:
        assert got == want or (pd.isna(got) and pd.isna(want)), (got, want)


@SETTINGS
@given(partitioned_frames())
def test_roundtrip_keeps_rows_index_and_dtypes(case):
    pdf, df = case
    same(df.compute(), pdf)


@SETTINGS
@given(partitioned_frames(), st.sampled_from(["add", "sub", "mul", "truediv", "gt", "le", "eq"]))
def test_arithmetic_and_comparisons_match_pandas(case, op):
    pdf, df = case
    same(getattr(df.f, f"__{op}__")(df.i).compute(), getattr(pdf.f, f"__{op}__")(pdf.i))
    same(getattr(df.n, f"__{op}__")(3).compute(), getattr(pdf.n, f"__{op}__")(3))


@SETTINGS
@given(partitioned_frames())
def test_filter_isin_where_and_assign_match_pandas(case):
    pdf, df = case
    same(df[df.f > 0].compute(), pdf[pdf.f > 0])
    same(df[df.s.isin(["a", "ab"])].compute(), pdf[pdf.s.isin(["a", "ab"])])
    same(df.f.where(df.k > 1).compute(), pdf.f.where(pdf.k > 1))
    same(df.assign(g=df.i * 2, h=1).compute(), pdf.assign(g=pdf.i * 2, h=1))
    same(df[["s", "i"]].compute(), pdf[["s", "i"]])


@SETTINGS
@given(partitioned_frames())
def test_string_and_datetime_accessors_match_pandas(case):
    pdf, df = case
    same(df.s.str.upper().compute(), pdf.s.str.upper())
    same(df.s.str.len().compute(), pdf.s.str.len())
    same(df.t.dt.year.compute(), pdf.t.dt.year)


@SETTINGS
@given(partitioned_frames(), st.sampled_from(NUMERIC),
       st.sampled_from(["sum", "count", "min", "max", "mean", "var", "std", "nunique"]))
def test_series_reductions_match_pandas(case, column, how):
    pdf, df = case
    same(getattr(df[column], how)().compute(), getattr(pdf[column], how)())


@SETTINGS
@given(partitioned_frames())
def test_frame_reductions_and_size_match_pandas(case):
    pdf, df = case
    numeric = ["i", "f", "k"]
    same(df[numeric].sum().compute(), pdf[numeric].sum())
    same(df[numeric].count().compute(), pdf[numeric].count())
    pd.testing.assert_series_equal(df[numeric].var().compute(), pdf[numeric].var(),
                                   rtol=1e-7)
    same(df.size.compute(), pdf.size)
    same(len(df), len(pdf))
    same(df.nunique().compute(), pdf.nunique())


@SETTINGS
@given(partitioned_frames(), st.sampled_from([1, 3]))
def test_groupby_named_aggregations_match_pandas(case, split_out):
    pdf, df = case
    named = dict(total=("i", "sum"), n=("f", "count"), low=("n", "min"), avg=("f", "mean"),
                 spread=("i", "std"), rows=("i", "size"))
    got = df.groupby("k").agg(split_out=split_out, **named).compute().sort_index()
    want = pdf.groupby("k").agg(**named)
    pd.testing.assert_frame_equal(got, want, rtol=1e-7)


@SETTINGS
@given(partitioned_frames())
def test_groupby_by_strings_and_two_keys_match_pandas(case):
    pdf, df = case
    same(df.groupby("s").i.sum().compute(), pdf.groupby("s").i.sum())
    same(df.groupby(["k", "s"]).agg({"i": "max"}).compute(),
         pdf.groupby(["k", "s"]).agg({"i": "max"}))


@SETTINGS
@given(partitioned_frames())
def test_value_counts_and_drop_duplicates_match_pandas(case):
    pdf, df = case
    same(df.s.value_counts().compute().sort_index(), pdf.s.value_counts().sort_index())
    same(df[["k", "s"]].drop_duplicates().compute(), pdf[["k", "s"]].drop_duplicates())


@SETTINGS
@given(partitioned_frames(), st.integers(1, 7))
def test_head_tail_repartition_and_concat_match_pandas(case, npartitions):
    pdf, df = case
    same(df.head(3, npartitions=-1), pdf.head(3))
    same(df.repartition(npartitions).compute(), pdf)
    assert df.repartition(npartitions).npartitions == npartitions
    same(lamina.dataframe.concat([df, df[df.k > 1]]).compute(),
         pd.concat([pdf, pdf[pdf.k > 1]]))


@SETTINGS
@given(partitioned_frames(), partitioned_frames(), st.sampled_from(["inner", "left", "outer"]),
       st.booleans())
def test_merge_matches_pandas(left, right, how, broadcast):
    (pl, dl), (pr, dr) = left, right
    got = dl[["k", "i"]].merge(dr[["k", "s"]], on="k", how=how, broadcast=broadcast).compute()
    want = pl[["k", "i"]].merge(pr[["k", "s"]], on="k", how=how)
    order = ["k", "i", "s"]
    same(got.sort_values(order).reset_index(drop=True),
         want.sort_values(order).reset_index(drop=True))


@SETTINGS
@given(partitioned_frames(), st.sampled_from(["f", "i", "s", "t"]), st.booleans())
def test_sort_values_matches_a_stable_pandas_sort(case, column, ascending):
    pdf, df = case
    same(df.sort_values(column, ascending=ascending).compute(),
         pdf.sort_values(column, ascending=ascending, kind="stable", na_position="last"))


@SETTINGS
@given(partitioned_frames(min_rows=1))
def test_set_index_sorts_and_knows_its_divisions(case):
    pdf, df = case
    out = df.set_index("i")
    want = pdf.sort_values("i", kind="stable").set_index("i")
    same(out.compute(), want)
    if out.known_divisions:
        assert out.divisions[0] == want.index.min() and out.divisions[-1] == want.index.max()


def test_scalars_broadcast_into_frame_arithmetic():
    pdf = pd.DataFrame({"x": np.arange(10.0)})
    df = lamina.dataframe.from_pandas(pdf, npartitions=3)
    same((df.x - df.x.mean()).compute(), pdf.x - pdf.x.mean())


def test_compute_shares_work_between_frames_and_arrays():
    import lamina.array as la

    pdf = pd.DataFrame({"x": np.arange(12.0), "y": np.ones(12)})
    df = lamina.dataframe.from_pandas(pdf, npartitions=3)
    array = df.to_array()
    assert array.chunks == ((4, 4, 4), (2,))
    total, column_sums, frame = lamina.compute(df.x.sum(), array.sum(axis=0), df)
    assert total == 66.0
    np.testing.assert_array_equal(column_sums, [66.0, 12.0])
    same(frame, pdf)
    back = lamina.dataframe.from_array(la.from_array(pdf.to_numpy(), chunks=(5, 2)),
                                       columns=["x", "y"])
    assert back.divisions == (0, 5, 10, 11)
    same(back.compute(), pdf)


def test_merge_broadcasts_a_side_that_metadata_says_is_small_and_shuffles_otherwise():
    pdf = pd.DataFrame({"k": np.arange(40) % 7, "x": np.arange(40.0)})
    left = lamina.dataframe.from_pandas(pdf, npartitions=4)
    right = lamina.dataframe.from_pandas(pdf[["k"]].drop_duplicates(), npartitions=2)
    joined = left.merge(right, on="k")
    (chosen,) = lamina.optimize(joined, disabled_rules={"partitionwise_fusion"})
    assert "merge: broadcast right" in chosen.layer.label()
    (chosen,) = lamina.optimize(joined, broadcast_rows=3,
                                disabled_rules={"partitionwise_fusion"})
    assert "merge: hash" in chosen.layer.label()
    with lamina.optimizer.set_options(broadcast_rows=3):
        got = joined.compute()
    same(got.sort_values(["k", "x"]).reset_index(drop=True),
         pdf.merge(pdf[["k"]].drop_duplicates(), on="k").sort_values(["k", "x"])
         .reset_index(drop=True))
