"""Joins in the optimizer: filters move below a merge onto one side, and the join
strategy is a rule that explain shows; every result equals pandas'."""

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
from lamina.optimizer.rules.frame_joins import RULES as STRATEGY
from lamina.optimizer.rules.frame_predicates import RULES
from lamina.optimizer.rules.frames import RULES as PUSHDOWN
from lamina.testing.frame_check import FrameQuery, check_frame_rule
from lamina.testing.frames import FLOATS, from_pandas_bounds, partition_bounds

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
FOLDER = tempfile.mkdtemp(prefix="lamina-joins-")
KEYS = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 3.0]), st.just(np.nan))


@st.composite
def sides(draw, names):
    """A pandas frame with a float key (NaN included) and float columns ``names``."""
    n = draw(st.integers(0, 12))
    frame = pd.DataFrame({"k": draw(st.lists(KEYS, min_size=n, max_size=n))})
    for name in names:
        frame[name] = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype="float64")
    return frame


def _lazy(draw, frame):
    if draw(st.booleans()):
        return from_pandas_bounds(frame, draw(partition_bounds(len(frame), 3)))
    path = os.path.join(FOLDER, f"{len(os.listdir(FOLDER))}.parquet")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=draw(st.integers(1, 5)))
    return ld.read_parquet(path)


def _term(draw, lazy, frame):
    """A random comparison over one side's columns, both sides', or the key."""
    kind = draw(st.sampled_from(["left", "right", "both", "key", "either"]))
    if kind == "both":
        return lazy.a < lazy.b, frame.a < frame.b
    if kind == "key":
        value = draw(st.sampled_from([0.0, 1.0, 2.0]))
        return lazy.k >= value, frame.k >= value
    if kind == "either":  # an or over both sides: must stay above the join
        return (lazy.a > 0) | (lazy.b > 0), (frame.a > 0) | (frame.b > 0)
    column = "a" if kind == "left" else draw(st.sampled_from(["b", "x_y"]))
    value = draw(st.floats(-10, 10))
    op = draw(st.sampled_from(["__gt__", "__le__", "__eq__", "__ne__"]))
    return getattr(lazy[column], op)(value), getattr(frame[column], op)(value)


@st.composite
def filtered_joins(draw):
    """A filter of one to three conjuncts over a merge of any kind, sorted."""
    left, right = draw(sides(["a", "x"])), draw(sides(["b", "x"]))
    how = draw(st.sampled_from(["inner", "left", "right", "outer"]))
    lazy = _lazy(draw, left).merge(_lazy(draw, right), on="k", how=how)
    want = left.merge(right, on="k", how=how)
    lazy_mask, mask = _term(draw, lazy, want)
    for _ in range(draw(st.integers(0, 2))):
        more, more_want = _term(draw, lazy, want)
        lazy_mask, mask = lazy_mask & more, mask & more_want
    columns = list(want.columns)
    lazy = lazy[lazy_mask].sort_values(columns, npartitions=1).reset_index(drop=True)
    want = want[mask].sort_values(columns).reset_index(drop=True)
    return FrameQuery(lazy, want)


def test_filters_through_merges_keep_results_equal_for_every_join_kind():
    report = check_frame_rule([*RULES, *PUSHDOWN], filtered_joins(), max_examples=15)
    assert report.by_rule.get("filter_through_merge", 0) > 0


def _plan(collection, **options):
    (optimized,) = lamina.optimize(collection, disabled_rules={"partitionwise_fusion"},
                                   **options)
    return topological([optimized.layer])


def _write(path, frame, row_group_size=None):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=row_group_size)
    return ld.read_parquet(str(path))


@pytest.fixture
def orders_and_nations(tmp_path):
    orders = pd.DataFrame({"o": np.arange(2000), "n": np.arange(2000) % 25,
                           "price": np.arange(2000) * 1.5})
    nations = pd.DataFrame({"n": np.arange(25), "region": np.arange(25) % 5 * 1.0,
                            "name": [f"nation {i}" for i in range(25)]})
    return (orders, nations, _write(tmp_path / "orders.parquet", orders, 100),
            _write(tmp_path / "nations.parquet", nations))


def test_a_one_side_conjunct_moves_into_that_sides_read(orders_and_nations):
    orders, nations, lazy_orders, lazy_nations = orders_and_nations
    joined = lazy_orders.merge(lazy_nations, on="n", how="left")
    query = joined[(joined.price < 300) & (joined.region == 2) & (joined.o > joined.region)]
    reads = {os.path.basename(r.path): r for r in _plan(query) if isinstance(r, ReadParquet)}
    assert reads["orders.parquet"].filters == ((("price", "<", 300),),)
    assert reads["nations.parquet"].filters is None  # a left join's right side: not moved
    want = orders.merge(nations, on="n", how="left")
    want = want[(want.price < 300) & (want.region == 2) & (want.o > want.region)]
    got = query.compute()
    pd.testing.assert_frame_equal(got.sort_values("o").reset_index(drop=True),
                                  want.sort_values("o").reset_index(drop=True))


def test_the_strategy_is_chosen_from_estimated_sizes_and_explained(orders_and_nations):
    orders, nations, lazy_orders, lazy_nations = orders_and_nations
    joined = lazy_orders.merge(lazy_nations, on="n")
    text = str(lamina.explain(joined))
    assert "merge: broadcast right (right ~25 rows est. from parquet metadata)" in text
    assert "merge: broadcast right (right one partition, ~25 rows est. from parquet " \
           "metadata)" in _explain(joined, broadcast_rows=10)
    itself = lazy_orders.merge(lazy_orders[["o", "price"]], on="o")
    assert "merge: hash (left ~2000 rows est. from parquet metadata, right ~2000 rows est. " \
           "from parquet metadata)" in _explain(itself, broadcast_rows=10)
    cheap = lazy_orders[lazy_orders.o < 150]  # 150 of 2000 rows; statistics say ~150.5
    flipped = lazy_orders.merge(cheap[["o"]], on="o")
    layers = _plan(flipped, broadcast_rows=500)
    (merge,) = [x for x in layers if "merge:" in x.label()]
    assert merge.label().startswith("MapPartitions[merge: broadcast right (right ~151 rows "
                                    "est. from parquet metadata and statistics)")
    left_join = lazy_nations.merge(lazy_orders, on="n", how="left")
    (merge,) = [x for x in _plan(left_join, broadcast_rows=30) if "merge:" in x.label()]
    assert "merge: hash" in merge.label()  # the small left side is kept: not broadcast
    want = orders.merge(orders[orders.o < 150][["o"]], on="o")
    pd.testing.assert_frame_equal(flipped.compute().sort_values("o").reset_index(drop=True),
                                  want.sort_values("o").reset_index(drop=True))


def _explain(collection, **options):
    with lamina.optimizer.set_options(**options):
        return str(lamina.explain(collection))


def test_an_index_join_of_equal_divisions_is_aligned():
    pdf = pd.DataFrame({"x": np.arange(30.0)}, index=np.arange(30))
    other = pd.DataFrame({"y": np.arange(30) * 2}, index=np.arange(30))
    left, right = ld.from_pandas(pdf, npartitions=3), ld.from_pandas(other, npartitions=3)
    joined = left.merge(right, left_index=True, right_index=True)
    assert "merge: aligned (both sides partitioned alike on the index)" in \
        _explain(joined, broadcast_rows=0)
    pd.testing.assert_frame_equal(joined.compute(), pdf.merge(other, left_index=True,
                                                              right_index=True))


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
@pytest.mark.parametrize("strategy", ["auto", "hash", "broadcast-left", "broadcast-right",
                                      "aligned"])
def test_every_strategy_gives_pandas_result(how, strategy):
    rng = np.random.default_rng(0)
    pdf = pd.DataFrame({"x": rng.normal(size=40), "k": rng.integers(0, 5, 40).astype(float)},
                       index=np.arange(40))
    other = pd.DataFrame({"y": rng.normal(size=40), "k": rng.integers(0, 5, 40).astype(float)},
                         index=np.arange(0, 80, 2))
    pdf.loc[3, "k"] = other.loc[6, "k"] = np.nan
    left, right = ld.from_pandas(pdf, npartitions=4), ld.from_pandas(other, npartitions=3)
    if strategy == "aligned":
        right = ld.from_pandas(other.set_axis(np.arange(40)), npartitions=4)
        other = other.set_axis(np.arange(40))
        kwargs = dict(left_index=True, right_index=True)
    else:
        kwargs = dict(on="k")
    kept = {"broadcast-left": "right", "broadcast-right": "left"}.get(strategy)
    if kept is not None and kept not in {"inner": ("left", "right"), "left": ("left",),
                                         "right": ("right",), "outer": ()}[how]:
        with pytest.raises(ValueError, match="cannot broadcast"):
            left.merge(right, how=how, strategy=strategy, **kwargs)
        return
    joined = left.merge(right, how=how, strategy=strategy, **kwargs)
    want = pdf.merge(other, how=how, **kwargs)
    columns = list(want.columns)
    pd.testing.assert_frame_equal(
        joined.compute().sort_values(columns).reset_index(drop=True),
        want.sort_values(columns).reset_index(drop=True))


def test_an_aligned_join_of_unaligned_frames_is_refused():
    left = ld.from_pandas(pd.DataFrame({"x": np.arange(6)}), npartitions=2)
    with pytest.raises(ValueError, match="strategy='aligned'"):
        left.merge(left.assign(x=left.x + 1).reset_index(drop=True), left_index=True,
                   right_index=True, strategy="aligned")


@st.composite
def random_merges(draw):
    left, right = draw(sides(["a"])), draw(sides(["b"]))
    how = draw(st.sampled_from(["inner", "left", "right", "outer"]))
    lazy = _lazy(draw, left).merge(_lazy(draw, right), on="k", how=how)
    want = left.merge(right, on="k", how=how)
    return FrameQuery(lazy.sort_values(["k", "a", "b"], npartitions=1).reset_index(drop=True),
                      want.sort_values(["k", "a", "b"]).reset_index(drop=True))


def test_join_strategy_keeps_results_equal_on_random_merges():
    # inner and left joins broadcast the right side, right joins the left, outer hash
    report = check_frame_rule(STRATEGY, random_merges(), max_examples=10)
    assert report.by_rule["join_strategy"] >= 10
