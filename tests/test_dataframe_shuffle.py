"""Shuffles on the embedded runner: pieces on local disk, memory bounded, persist, split_out.

Every result is compared with pandas on the same data; the shard
directory of each run is watched to prove that pieces went to disk and
that nothing is left there afterwards, whether the run succeeds or fails.
"""

import _thread
import os
import pickle
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from distributed_support import Boom, explode_at_row_1000
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina
import lamina.dataframe as ld
import lamina.dataframe.groups as groups
from lamina.layers.frame.shards import (
    ColumnShards,
    ShardDirectory,
    Shards,
    gather_columns,
    write_split,
    writing_shards,
)
from lamina.scheduler import runner
from lamina.testing.frames import partitioned_frames
from lamina.worker.store import BlockStore

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def directories(monkeypatch):
    """Every shard directory the embedded runner makes, kept for inspection."""
    made = []

    class Watched(ShardDirectory):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(runner, "ShardDirectory", Watched)
    return made


def frames(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    pdf = pd.DataFrame({"k": rng.integers(0, 300, n), "x": rng.standard_normal(n),
                        "s": pd.array(rng.choice(["a", "b", None], n), dtype="str")})
    pdf.loc[::29, "x"] = np.nan
    return pdf, ld.from_pandas(pdf, npartitions=7)


def assert_all_removed(directories):
    assert directories and all(d.files() == [] and d._folder is None for d in directories)


SHUFFLES = {
    "merge": (lambda df: df.merge(df[["k", "s"]], on="k", broadcast=False),
              lambda pdf: pdf.merge(pdf[["k", "s"]], on="k"), True),
    "set_index": (lambda df: df.set_index("x"),
                  lambda pdf: pdf.set_index("x").sort_index(kind="stable", na_position="last"),
                  False),
    "sort_values": (lambda df: df.sort_values("x"),
                    lambda pdf: pdf.sort_values("x", kind="stable"), False),
    "groupby_split_out": (lambda df: df.groupby("k").agg(t=("x", "sum"), n=("s", "count"),
                                                          split_out=4),
                          lambda pdf: pdf.groupby("k").agg(t=("x", "sum"), n=("s", "count")),
                          True),
}


def in_order(frame):
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(SHUFFLES))
def test_shuffle_writes_pieces_to_disk_removes_them_and_matches_pandas(name, directories):
    pdf, df = frames()
    build, reference, unordered = SHUFFLES[name]
    got, want = build(df).compute(), reference(pdf)
    if name == "groupby_split_out":
        pd.testing.assert_frame_equal(got.sort_index(), want, rtol=1e-12)
    elif unordered:
        pd.testing.assert_frame_equal(in_order(got), in_order(want))
    else:
        pd.testing.assert_frame_equal(got, want)
    assert sum(d.bytes_written for d in directories) > 0
    assert_all_removed(directories)


def make_parquet(tmp_path, n, groups=16, seed=1):
    rng = np.random.default_rng(seed)
    pdf = pd.DataFrame({"k": rng.integers(0, 10**6, n), "x": rng.standard_normal(n),
                        "y": rng.standard_normal(n)})
    path = str(tmp_path / "data.parquet")
    pdf.to_parquet(path, row_group_size=n // groups)
    return pdf, path


def digest(part):
    """Rows, a sum, and whether the partition is sorted by ``x``: enough to check a sort
    without gathering it."""
    return pd.DataFrame({"rows": [len(part)], "total": [float(part.y.sum())],
                         "low": [part.x.min()], "high": [part.x.max()],
                         "ordered": [bool(part.x.is_monotonic_increasing)]})


def computed_with_peak(query):
    """The query's value on two threads, and the most memory Python and NumPy held meanwhile."""
    tracemalloc.start()
    try:
        got = query.compute(nthreads=2)
        return got, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sort_of_more_data_than_it_holds_at_once_keeps_memory_below_the_data(tmp_path):
    pdf, path = make_parquet(tmp_path, 100_000)
    data_bytes = int(pdf.memory_usage(deep=True).sum())
    query = ld.read_parquet(path).sort_values("x").map_partitions(digest, meta=digest(pdf[:0]))
    got, peak = computed_with_peak(query)
    # held in memory, the pieces alone would be the whole data
    assert peak < 0.6 * data_bytes, (peak, data_bytes)
    assert got.rows.sum() == len(pdf) and got.ordered.all()
    assert (got.high.to_numpy()[:-1] <= got.low.to_numpy()[1:]).all()
    np.testing.assert_allclose(got.total.sum(), pdf.y.sum(), rtol=1e-9)


def test_merge_of_more_data_than_it_holds_at_once_keeps_memory_below_the_data(tmp_path):
    pdf, path = make_parquet(tmp_path, 100_000)
    df = ld.read_parquet(path)
    joined = df.merge(df[["k", "y"]].rename(columns={"y": "z"}), on="k", broadcast=False)
    query = joined.map_partitions(lambda p: pd.Series([len(p), float(p.z.sum())]),
                                  meta=pd.Series([], dtype="float64"))
    got, peak = computed_with_peak(query)
    want = pdf.merge(pdf[["k", "y"]].rename(columns={"y": "z"}), on="k")
    # held in memory, the pieces of both sides alone would be all they move (1.0)
    moved = int(pdf.memory_usage(deep=True).sum() + pdf[["k", "y"]].memory_usage().sum())
    assert peak < 0.7 * moved, (peak, moved)
    assert got.iloc[0::2].sum() == len(want)
    np.testing.assert_allclose(got.iloc[1::2].sum(), want.z.sum(), rtol=1e-9)


def test_a_task_failing_in_a_shuffle_raises_its_error_and_leaves_no_pieces(directories):
    _, df = frames()
    bad = df.map_partitions(explode_at_row_1000, meta=df._meta)
    with pytest.raises(Boom, match="row 1000"):
        bad.merge(df[["k", "s"]], on="k", broadcast=False).compute()
    assert_all_removed(directories)


def interrupt_once(part):
    """Ctrl-C for the main thread while this task still runs (it waits for the
    runner to stop taking tasks, which it does after the current ones)."""
    if 1000 in part.index:
        _thread.interrupt_main()
        time.sleep(1.0)
    return part


def test_an_interrupted_shuffle_leaves_no_pieces(directories):
    _, df = frames()
    shuffled = df.sort_values("x").map_partitions(interrupt_once, meta=df._meta)
    with pytest.raises(KeyboardInterrupt):
        shuffled.compute(nthreads=2)
    assert sum(d.files_written for d in directories) > 0
    assert_all_removed(directories)


def test_shards_read_one_piece_pickle_as_a_list_and_remove_their_file_when_released():
    directory = ShardDirectory()
    big = pd.DataFrame({"a": np.zeros(50_000), "b": pd.array(["x"] * 50_000, dtype="str")})
    small = pd.DataFrame({"a": [np.nan, -0.0, np.inf], "b": pd.array(["p", None, "q"],
                                                                   dtype="str")})
    both = pd.concat([big, small], ignore_index=True)
    with writing_shards(directory):
        handle = write_split(both, np.array([0, 50_000, 50_000, 50_003]))
    assert isinstance(handle, Shards) and len(handle) == 3
    assert handle.disk_bytes < big.memory_usage(deep=True).sum() / 4  # LZ4 on the zeros
    assert not isinstance(handle, ColumnShards)            # strings: pickled pieces
    pd.testing.assert_frame_equal(handle[0], both.iloc[:50_000])
    assert handle[1] is None
    pd.testing.assert_frame_equal(handle[2], both.iloc[50_000:])
    assert np.signbit(handle[2].a.iloc[1])
    copied = pickle.loads(pickle.dumps(handle))
    assert isinstance(copied, list) and copied[1] is None
    pd.testing.assert_frame_equal(copied[2], both.iloc[50_000:])
    path = handle.path
    assert os.path.exists(path)
    del handle
    assert not os.path.exists(path) and directory.files() == []
    directory.close()
    kept = write_split(small, np.array([0, 1, 3]))     # no directory named: in memory
    assert isinstance(kept, list)
    pd.testing.assert_frame_equal(kept[1], small.iloc[1:3])


@st.composite
def plain_splits(draw):
    """Frames of NumPy columns with special values, each cut at its own sorted bounds
    into the same number of pieces (empty ones too)."""
    nout = draw(st.integers(1, 4))
    floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0])
    frames, cuts = [], []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(0, 12))
        frame = pd.DataFrame({
            "f": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype="float64"),
            "i": np.array(draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n,
                                        max_size=n)), dtype="int64"),
            "b": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
            "t": np.array(draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n)),
                          dtype="datetime64[s]"),
        }, index=pd.Index(np.arange(n) * 3 - 5, name="row"))
        if n:
            frame.loc[frame.index[0], "t"] = pd.NaT
        inner = sorted(draw(st.lists(st.integers(0, n), min_size=nout - 1,
                                     max_size=nout - 1)))
        frames.append(frame)
        cuts.append(np.array([0, *inner, n]))
    return frames, cuts, nout


@SETTINGS
@given(plain_splits())
def test_plain_columns_are_written_once_and_gathered_as_arrays_like_pandas_concat(case):
    frames, cuts, nout = case
    directory = ShardDirectory()
    try:
        with writing_shards(directory):
            splits = [write_split(f, c) for f, c in zip(frames, cuts)]
        assert all(isinstance(s, ColumnShards) for s in splits)
        for j in range(nout):
            pieces = [f.iloc[c[j]:c[j + 1]] for f, c in zip(frames, cuts)]
            want = pd.concat(pieces)
            got = gather_columns(splits, j)
            pd.testing.assert_frame_equal(got, want)
            assert (np.signbit(got.f.to_numpy()) == np.signbit(want.f.to_numpy())).all()
            for k, piece in enumerate(pieces):
                if len(piece):
                    pd.testing.assert_frame_equal(splits[k][j], piece)
                else:
                    assert splits[k][j] is None
        del splits
        assert directory.files() == []
    finally:
        directory.close()


def test_a_spilling_store_keeps_shard_handles_in_memory():
    directory = ShardDirectory()
    store = BlockStore(memory_limit=1000, spill_fraction=0.5)
    handle = directory.write([pd.DataFrame({"a": np.arange(10)})])
    store[1] = handle
    store[2] = np.zeros(400)
    store[3] = np.zeros(400)
    assert 1 not in store._disk and store[1] is handle and store.spills > 0
    store.close()
    directory.close()


def check_persisted(df, pdf):
    kept = df.persist()
    assert kept.layer.label() == "FromPartitions"
    assert kept.divisions == df.divisions and kept.npartitions == df.npartitions
    pd.testing.assert_frame_equal(kept._meta, df._meta)
    pd.testing.assert_frame_equal(kept.compute(), pdf)
    pd.testing.assert_frame_equal(kept.compute(optimize_graph=False), pdf)
    return kept


@SETTINGS
@given(partitioned_frames())
def test_persisted_frame_keeps_partitions_divisions_meta_and_values(case):
    pdf, df = case
    kept = check_persisted(df, pdf)
    pd.testing.assert_series_equal(kept.f.compute(), pdf.f)
    np.testing.assert_allclose(kept.i.sum().compute(), pdf.i.sum())


def test_persisted_set_index_keeps_its_known_divisions():
    pdf, df = frames()
    indexed = df.dropna().set_index("x")
    assert indexed.known_divisions
    check_persisted(indexed, pdf.dropna().set_index("x").sort_index(kind="stable"))
    scalar = lamina.persist(df.x.sum())[0]
    np.testing.assert_allclose(scalar.compute(), pdf.x.sum())


@settings(SETTINGS, max_examples=6)
@given(partitioned_frames(), st.booleans(), st.booleans())
def test_automatic_split_out_for_many_groups_matches_pandas(case, sort, dropna):
    pdf, df = case
    named = dict(total=("i", "sum"), avg=("f", "mean"), rows=("i", "size"))
    for by in ("k", ["k", "s"], "t"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(groups, "GROUPS_PER_PARTITION", 2)
            out = df.groupby(by, sort=sort, dropna=dropna).agg(**named)
        got = out.compute()
        want = pdf.groupby(by, sort=sort, dropna=dropna).agg(**named)
        if not sort:
            got, want = got.sort_index(), want.sort_index()
        pd.testing.assert_frame_equal(got, want, rtol=1e-7)


def test_split_out_is_chosen_from_the_groups_and_named_in_the_plan(monkeypatch):
    pdf, df = frames()
    monkeypatch.setattr(groups, "GROUPS_PER_PARTITION", 100)
    many = df.groupby("k").x.sum()            # 300 distinct keys: 3 range partitions
    few = df.groupby("s").x.sum()             # 3 groups: a tree reduction
    assert many.npartitions == 3 and few.npartitions == 1
    assert "groupby-shuffle split_out=3 by range ~300 groups" in str(lamina.explain(many))
    assert "groupby-tree ~3 groups" in str(lamina.explain(few))
    pd.testing.assert_series_equal(many.compute(), pdf.groupby("k").x.sum())
    hashed = df.groupby("k", sort=False).x.sum()
    assert "by hash" in hashed.layer.label()
    assert df.groupby("k").agg(t=("x", "sum"), split_out=1).npartitions == 1


def test_parquet_statistics_estimate_the_groups_of_an_integer_key(tmp_path, monkeypatch):
    pdf, path = make_parquet(tmp_path, 20_000, groups=4)
    monkeypatch.setattr(groups, "GROUPS_PER_PARTITION", 5000)
    df = ld.read_parquet(path)
    assert groups.estimated_groups(df, ["k"]) == len(pdf)   # range 10**6 > rows
    out = df.groupby("k").agg(t=("y", "sum"))
    assert out.npartitions == 4 and "by range" in out.layer.label()
    pd.testing.assert_frame_equal(out.compute(), pdf.groupby("k").agg(t=("y", "sum")),
                                  rtol=1e-12)


def test_parquet_key_range_is_that_of_the_row_groups_read(tmp_path):
    pdf, path = make_parquet(tmp_path, 4_000, groups=8)
    read = ld.read_parquet(path).layer
    assert groups._parquet_min_max(read, "k") == (pdf.k.min(), pdf.k.max())
    rows = pdf.iloc[1_500:2_500]               # row groups 3 and 4 (500 rows each)
    assert groups._parquet_min_max(read.with_partitions(np.array([3, 4])), "k") == \
        (rows.k.min(), rows.k.max())
    assert groups._parquet_min_max(read, "x") is None         # not an integer column


def test_split_out_must_be_a_positive_count():
    _, df = frames(100)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="split_out must be a positive"):
            df.groupby("k").agg(t=("x", "sum"), split_out=bad)
