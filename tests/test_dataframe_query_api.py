"""What the TPC-H queries need, against pandas on random frames in random partitions:
per-key sort directions, global reset_index, lazy isin (semi/anti joins),
groupby nunique/size/count with as_index=False, nlargest/nsmallest, multi-key
and left merges, sum(min_count=), and pandas' exceptions for bad input."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina.dataframe as ld
from lamina.testing.frames import partitioned_frames

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SORTABLE = ["i", "f", "n", "s", "t", "k"]


@SETTINGS
@given(partitioned_frames(), st.lists(st.sampled_from(SORTABLE), min_size=1, max_size=3,
                                      unique=True), st.data())
def test_sort_values_with_a_direction_per_key_matches_pandas(case, by, data):
    pdf, df = case
    ascending = data.draw(st.lists(st.booleans(), min_size=len(by), max_size=len(by)))
    want = pdf.sort_values(by, ascending=ascending, kind="stable", na_position="last")
    pd.testing.assert_frame_equal(df.sort_values(by, ascending=ascending).compute(), want)
    pd.testing.assert_frame_equal(
        df.sort_values(by, ascending=ascending, npartitions=1).compute(), want)


@SETTINGS
@given(partitioned_frames(), st.booleans())
def test_reset_index_numbers_rows_across_partitions(case, drop):
    pdf, df = case
    pd.testing.assert_frame_equal(df.reset_index(drop=drop).compute(),
                                  pdf.reset_index(drop=drop))
    pd.testing.assert_frame_equal(df[df.f > 0].reset_index(drop=drop).compute(),
                                  pdf[pdf.f > 0].reset_index(drop=drop))
    pd.testing.assert_series_equal(df.s.reset_index(drop=True).compute(),
                                   pdf.s.reset_index(drop=True))


@SETTINGS
@given(partitioned_frames(), partitioned_frames(), st.sampled_from(["i", "f", "s", "k", "t"]))
def test_isin_of_a_lazy_series_is_a_semi_and_anti_join(left, right, column):
    (pdf, df), (pother, other) = left, right
    pd.testing.assert_frame_equal(df[df[column].isin(other[column])].compute(),
                                  pdf[pdf[column].isin(pother[column])])
    pd.testing.assert_frame_equal(df[~df[column].isin(other[column])].compute(),
                                  pdf[~pdf[column].isin(pother[column])])


@SETTINGS
@given(partitioned_frames(), st.sampled_from(["i", "f", "n", "s"]), st.booleans())
def test_groupby_nunique_size_count_match_pandas(case, column, as_index):
    pdf, df = case
    named = dict(d=(column, "nunique"), z=(column, "size"), c=(column, "count"),
                 m=("f", "max"))
    pd.testing.assert_frame_equal(
        df.groupby("k", as_index=as_index).agg(**named).compute(),
        pdf.groupby("k", as_index=as_index).agg(**named))
    by = ["k", "s"] if column != "s" else ["k", "i"]
    got = df.groupby(by, as_index=as_index)[column].nunique().compute()
    want = pdf.groupby(by, as_index=as_index)[column].nunique()
    if as_index:
        pd.testing.assert_series_equal(got, want)
    else:
        pd.testing.assert_frame_equal(got, want)


@SETTINGS
@given(partitioned_frames(), st.integers(0, 12), st.sampled_from(["nlargest", "nsmallest"]),
       st.sampled_from([["f"], ["k", "i"], ["i"]]))
def test_nlargest_nsmallest_match_pandas(case, n, method, columns):
    pdf, df = case
    pd.testing.assert_frame_equal(getattr(df, method)(n, columns).compute(),
                                  getattr(pdf, method)(n, columns))
    pd.testing.assert_series_equal(getattr(df.i, method)(n).compute(),
                                   getattr(pdf.i, method)(n))


@SETTINGS
@given(partitioned_frames(), partitioned_frames(), st.sampled_from(["inner", "left"]))
def test_merge_on_two_keys_with_left_on_right_on_matches_pandas(left, right, how):
    (pdf, df), (pother, other) = left, right
    pother = pother[["k", "i", "f"]].rename(columns={"k": "k2", "i": "i2", "f": "g"})
    other = other[["k", "i", "f"]].rename(columns={"k": "k2", "i": "i2", "f": "g"})
    pother["i2"] = pother["i2"] % 3
    other = other.assign(i2=other.i2 % 3)
    pdf = pdf.assign(i=pdf.i % 3)
    df = df.assign(i=df.i % 3)
    kwargs = dict(how=how, left_on=["k", "i"], right_on=["k2", "i2"])
    want = pdf.merge(pother, **kwargs)
    for broadcast in (True, False):
        got = df.merge(other, broadcast=broadcast, **kwargs).compute()
        order = ["k", "i", "f", "g", "s"]
        pd.testing.assert_frame_equal(
            got.sort_values(order, kind="stable").reset_index(drop=True),
            want.sort_values(order, kind="stable").reset_index(drop=True))


@SETTINGS
@given(partitioned_frames(), st.sampled_from(["i", "f", "n"]), st.integers(0, 3))
def test_sum_with_min_count_matches_pandas(case, column, min_count):
    pdf, df = case
    got = df[column].sum(min_count=min_count).compute()
    want = pdf[column].sum(min_count=min_count)
    assert (pd.isna(got) and pd.isna(want)) or np.isclose(got, want, equal_nan=True), \
        (got, want)


def test_rename_round_and_unique_match_pandas():
    pdf = pd.DataFrame({"x": [1.234, 2.5, np.nan, 1.234, -0.0], "y": [3, 1, 3, 3, 2]})
    df = ld.from_pandas(pdf, npartitions=3)
    pd.testing.assert_series_equal(df.x.rename("z").compute(), pdf.x.rename("z"))
    pd.testing.assert_frame_equal(df.round(1).compute(), pdf.round(1))
    pd.testing.assert_series_equal(df.y.unique().compute(), pd.Series(pdf.y.unique(), name="y"))


def test_bad_input_raises_pandas_exception_types():
    pdf = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    df = ld.from_pandas(pdf, npartitions=2)
    with pytest.raises(ValueError, match="Length of ascending"):
        df.sort_values(["x", "y"], ascending=[True])
    with pytest.raises(ValueError, match="ascending must be"):
        df.sort_values("x", ascending="yes")
    with pytest.raises(KeyError):
        df.sort_values(["nope"])
    with pytest.raises(KeyError):
        df.nlargest(2, "nope")
    with pytest.raises(TypeError, match="list-like"):
        df.x.isin(3)
    with pytest.raises(TypeError, match="not a DataFrame"):
        df.x.isin(df)
    with pytest.raises(ValueError, match="not supported"):
        df.groupby("y").agg(z=("x", "median"))
    with pytest.raises(TypeError, match="as_index"):
        df.groupby("y", as_index="no")
    with pytest.raises(ValueError, match="split_out=1"):
        df.groupby("y").agg(z=("x", "nunique"), split_out=2)
