"""partitionwise_fusion: partition-wise regions run as one task per partition, same results."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import strategies as st

import lamina
import lamina.dataframe as ld
from lamina.layers.frame.fused import FusedFrame
from lamina.layers.walk import topological
from lamina.optimizer import set_options
from lamina.optimizer.rules.frame_fusion import RULES
from lamina.scheduler.lowering import lower
from lamina.testing.frame_check import FrameQuery, check_frame_rule
from lamina.testing.frames import partitioned_frames

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@st.composite
def partitionwise_queries(draw):
    """A random chain of filters, assignments and projections, then maybe a reduction."""
    pdf, df = draw(partitioned_frames())
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from(["filter", "assign", "project", "arith"]))
        if step == "filter":
            value = draw(st.integers(-1000, 1000))
            df, pdf = df[df.i > value], pdf[pdf.i > value]
        elif step == "assign":
            df, pdf = df.assign(g=df.f * 2 + df.k), pdf.assign(g=pdf.f * 2 + pdf.k)
        elif step == "project":
            df, pdf = df[["i", "f", "k"]], pdf[["i", "f", "k"]]
        else:
            df, pdf = df.assign(i=df.i + 1), pdf.assign(i=pdf.i + 1)
    end = draw(st.sampled_from(["frame", "sum", "groupby", "shuffle"]))
    if end == "sum":
        return FrameQuery(df.i.sum(), pdf.i.sum())
    if end == "groupby":
        return FrameQuery(df.groupby("k").agg(total=("i", "sum")),
                          pdf.groupby("k").agg(total=("i", "sum")))
    if end == "shuffle":  # hash partitions come back in no set order: compare a total
        got = df.groupby("k").agg(total=("i", "sum"), split_out=2)
        return FrameQuery(got.total.sum(), pdf.groupby("k").agg(total=("i", "sum")).total.sum())
    return FrameQuery(df, pdf)




def test_partitionwise_fusion_keeps_results_equal_on_random_plans():
    report = check_frame_rule(RULES, partitionwise_queries(), max_examples=15)
    assert report.by_rule.get("partitionwise_fusion", 0) > 0


def test_a_filter_and_a_groupby_chunk_over_a_read_are_one_task_per_partition(tmp_path):
    pdf = pd.DataFrame({"k": np.arange(40) % 3, "x": np.arange(40.0)})
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), tmp_path / "f.parquet",
                   row_group_size=10)
    df = ld.read_parquet(str(tmp_path))
    query = df[df.x % 2 == 0].assign(y=df.x * 2).groupby("k").agg(s=("y", "sum"))
    (plan,) = lamina.optimize(query)
    layers = topological([plan.layer])
    assert [type(x).__name__ for x in layers] == ["FusedFrame", "Regroup"]
    assert lower([plan.layer]).n_tasks == 4 + 1
    want = pdf[pdf.x % 2 == 0].assign(y=pdf.x * 2).groupby("k").agg(s=("y", "sum"))
    pd.testing.assert_frame_equal(query.compute(), want)


def test_a_layer_read_from_outside_the_region_is_not_fused_into_it():
    pdf = pd.DataFrame({"k": np.arange(40) % 3, "x": np.arange(40.0)})
    df = ld.from_pandas(pdf, npartitions=4)
    shifted = df.x + 1
    both = lamina.optimize(shifted.sum(), (shifted * 2).sum())
    fused = [x for x in topological([b.layer for b in both]) if isinstance(x, FusedFrame)]
    assert all("add" not in f.label() for f in fused)  # x + 1 is computed once, shared


def test_the_memory_veto_keeps_a_region_unfused():
    pdf = pd.DataFrame({"k": np.arange(40) % 3, "x": np.arange(40.0)})
    df = ld.from_pandas(pdf, npartitions=4)
    query = df[df.x > 3].x.sum()
    with set_options(fuse_memory_limit=16):
        plan = lamina.explain(query)
    assert "projected memory per task" in str(plan)
    assert not any(isinstance(x, FusedFrame) for x in topological(list(plan.plan.layers)))
    assert query.compute() == pdf[pdf.x > 3].x.sum()
