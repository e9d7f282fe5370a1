"""Dataframe layers on a LocalCluster: the scheduler plans them from their parameters."""

import numpy as np
import pandas as pd
import pytest

import lamina
from lamina.layers.registry import is_trusted
from lamina.layers.walk import topological
from lamina.testing.frames import from_pandas_bounds
from tests.distributed_support import connected


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(1)
    pdf = pd.DataFrame({"k": rng.integers(0, 20, 300), "x": rng.standard_normal(300),
                        "s": pd.array(rng.choice(["a", "b", None], 300), dtype="str")})
    return pdf, from_pandas_bounds(pdf, (0, 40, 40, 170, 300))


def test_every_dataframe_layer_of_a_plan_is_trusted(frames):
    _, df = frames
    plan = df.merge(df.groupby("k").agg(m=("x", "mean")).reset_index(), on="k")
    layers = topological([plan.layer])
    assert len(layers) > 5 and all(is_trusted(type(layer)) for layer in layers)


def test_groupby_merge_and_sort_on_a_cluster_match_pandas(cluster, frames):
    pdf, df = frames
    with connected(cluster):
        grouped = df.groupby("k").agg(total=("x", "sum"), n=("s", "count"), split_out=2)
        joined = df.merge(df[["k", "s"]], on="k", broadcast=False)
        ordered = df.sort_values("x")
        got_grouped, got_joined, got_ordered, total = lamina.compute(
            grouped, joined, ordered, df.x.sum())
    want = pdf.groupby("k").agg(total=("x", "sum"), n=("s", "count"))
    pd.testing.assert_frame_equal(got_grouped.sort_index(), want, rtol=1e-12)
    cols = ["k", "x", "s_x", "s_y"]
    pd.testing.assert_frame_equal(
        got_joined.sort_values(cols).reset_index(drop=True),
        pdf.merge(pdf[["k", "s"]], on="k").sort_values(cols).reset_index(drop=True))
    pd.testing.assert_frame_equal(got_ordered, pdf.sort_values("x", kind="stable"))
    np.testing.assert_allclose(total, pdf.x.sum(), rtol=1e-12)
