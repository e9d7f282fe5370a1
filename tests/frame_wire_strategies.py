"""Plans holding each dataframe layer type, for the wire round-trip tests."""

import functools
import os
import tempfile

import numpy as np
import pandas as pd
from hypothesis import strategies as st

import lamina.array as la
import lamina.dataframe as ld
import lamina.optimizer
from lamina.layers.frame.parquet import WriteParquet
from lamina.layers.frame.regroup import SplitPartitions
from lamina.layers.frame.sources import FromPartitions, HeldFrame
from lamina.testing.frames import partitioned_frames

FOLDER = tempfile.mkdtemp(prefix="lamina-wire-frames-")
frames = partitioned_frames(max_rows=12).map(lambda case: case[1])


def _parquet(df):
    path = os.path.join(FOLDER, f"{len(os.listdir(FOLDER))}.parquet")
    df.compute().reset_index(drop=True).to_parquet(path, row_group_size=4)
    return ld.read_parquet(path, filters=[("k", ">", 0)]).layer


def _csv(df):
    path = os.path.join(FOLDER, f"{len(os.listdir(FOLDER))}.csv")
    df[["i", "k"]].compute().to_csv(path, index=False)
    return ld.read_csv(path).layer


FRAME_STRATEGIES = {
    "FromPandas": frames.map(lambda df: df.layer),
    "MapPartitions": frames.map(lambda df: (df[df.k > 1].i + 1).layer),
    "Regroup": frames.map(lambda df: df.f.sum().layer),
    "ConcatFrames": frames.map(lambda df: ld.concat([df, df[["i"]]]).layer),
    "SplitPartitions": frames.map(lambda df: SplitPartitions(df.layer, 2)),
    "ShuffleSplit": frames.map(lambda df: df.groupby("k").agg(s=("i", "sum"),
                                                                split_out=2).layer),
    "ShuffleGather": frames.map(lambda df: df.merge(df[["k", "s"]], on="k",
                                                    broadcast=False).layer),
    "FromPartitions": st.just(FromPartitions((pd.DataFrame({"a": [1, 2]}),),
                                             pd.DataFrame({"a": [1]}).iloc[:0], (None, None))),
    "HeldFrame": frames.map(lambda df: HeldFrame.of("cluster-1", 7, 0, df.layer)),
    "ArrayToFrame": st.integers(1, 5).map(lambda c: ld.from_array(
        la.from_array(np.arange(12.0).reshape(6, 2), chunks=(c, 1)), columns=["a", "b"]).layer),
    "FrameToArray": st.just(None).map(lambda _: ld.from_pandas(
        pd.DataFrame({"a": np.arange(5.0)}), npartitions=2).to_array().layer),
    "ReadParquet": frames.map(_parquet),
    "ReadCSV": frames.map(_csv),
    "FusedFrame": frames.map(lambda df: lamina.optimizer.optimize_layers(
        [df[df.k > 1].i.sum().layer])[0].dependencies[0]),
    "WriteParquet": frames.map(lambda df: WriteParquet(
        df.layer, tempfile.mkdtemp(dir=FOLDER), False)),
}


def same_pandas(a, b, same_value) -> bool | None:
    """Equality of pandas operands and partials (None: not one of those)."""
    if isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        kinds = (lambda x: str(x.dtypes) if isinstance(x, pd.DataFrame) else str(x.dtype))
        return type(a) is type(b) and a.equals(b) and kinds(a) == kinds(b)
    if isinstance(a, functools.partial):
        return (same_value(a.func, b.func) and same_value(a.args, b.args)
                and same_value(a.keywords, b.keywords))
    return None
