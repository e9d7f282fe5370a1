"""The wire format: values and layer expressions survive encoding exactly.

Plain values keep their types; NumPy arrays come back from their own frame
without a copy; user objects are opaque blobs that a scheduler-side decode
never unpickles; every layer type round-trips (worker side: same layer,
same values; scheduler side: same block dependencies from params alone);
and ``((x + 1) * 2).sum()`` costs about a kilobyte whatever its chunk count.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_wire_layers import check_round_trip, same_value

import lamina.array as la
from lamina.array.core import Array
from lamina.comm.core import framed_nbytes
from lamina.comm.wire import Blob, LargeGraphWarning, Packed, WireError, dumps, loads, nodes_of
from lamina.layers.base import Layer
from lamina.layers.codec import LOWERED, LayerCodec
from lamina.layers.held import Held
from lamina.layers.registry import Lowered, is_trusted, signature, trust_of
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower

SETTINGS = settings(max_examples=25, deadline=None)


# plain values ------------------------------------------------------------------
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(allow_nan=False),
    st.text(max_size=8), st.binary(max_size=8), st.complex_numbers(allow_nan=False),
    st.just(Ellipsis), st.builds(slice, st.none() | st.integers(-5, 5),
                                 st.none() | st.integers(-5, 5), st.none() | st.integers(1, 3)),
    st.sampled_from([np.dtype("f8"), np.dtype(">i2"), np.dtype("U3"), np.dtype("M8[ns]"),
                     np.dtype([("a", "<f4"), ("b", "<i8", (2,))])]),
    st.builds(np.float32, st.floats(-1e3, 1e3, width=32)), st.builds(np.int64, st.integers(-9, 9)),
    st.lists(st.integers(0, 3), min_size=0, max_size=40).map(tuple),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=4) | st.integers(-3, 3), inner, max_size=4),
        st.frozensets(st.integers(-3, 3), max_size=4), st.sets(st.text(max_size=3), max_size=3),
    ),
    max_leaves=12,
)


@SETTINGS
@given(values)
def test_plain_values_round_trip_with_their_types(value):
    assert same_value(loads(dumps(value)), value)


@SETTINGS
@given(st.integers(1, 2**20).map(lambda n: (7,) * n + (3,)))
def test_regular_chunk_tuples_cost_a_few_bytes(chunks):
    frames = dumps(chunks)
    assert framed_nbytes(frames) < 64
    assert loads(frames) == chunks


array_cases = st.tuples(
    st.sampled_from(["f8", "<i4", ">u2", "c16", "bool", "U2", "M8[s]", "V3"]),
    st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple),
    st.sampled_from(["C", "F", "strided"]),
)


@SETTINGS
@given(array_cases)
def test_arrays_round_trip_exactly_in_any_layout(case):
    dtype, shape, layout = case
    raw = (np.arange(int(np.prod(shape)) * np.dtype(dtype).itemsize) % 251).astype(np.uint8)
    a = raw.view(dtype).reshape(shape)
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim:
        a = a[::2]
    back = loads(dumps({"x": a}))["x"]
    assert back.dtype == a.dtype and back.shape == a.shape
    assert back.tobytes() == a.tobytes()


def test_array_is_sent_out_of_band_and_decoded_without_copy():
    a = np.arange(100_000, dtype=np.float64)
    frames = dumps({"x": a})
    assert len(frames[0]) < 100, "the header holds no array bytes"
    assert np.shares_memory(np.frombuffer(frames[1], dtype=np.float64), a), "no copy on encode"
    back = loads(frames)["x"]
    assert np.shares_memory(back, np.frombuffer(frames[1], dtype=np.float64)), "no copy on decode"


def test_objects_become_blobs_that_a_scheduler_decode_never_loads():
    def user_function(x):
        return x + 1

    frames = dumps({"f": user_function, "obj": {1, 2}, "arr": np.ones(3)})
    opaque = loads(frames, load_blobs=False)
    assert isinstance(opaque["f"], Blob)
    loaded = loads(frames)
    assert loaded["f"](1) == 2


def test_a_blob_that_would_fail_to_unpickle_passes_through_untouched():
    poison = Blob(b"\x80\x05not a pickle at all" + bytes(range(256)))
    with pytest.raises(Exception):
        poison.load()
    frames = dumps({"payload": poison})
    opaque = loads(frames, load_blobs=False)
    assert opaque["payload"] == poison
    again = dumps(opaque)
    assert [bytes(f) for f in again] == [bytes(f) for f in frames]
    packed = loads(dumps({"inner": Packed(frames)}), load_blobs=False)["inner"]
    assert [bytes(f) for f in packed.frames] == [bytes(f) for f in frames]


def test_packed_messages_travel_as_their_own_frames():
    inner = dumps({"a": np.arange(10)})
    outer = dumps({"op": "run", "graph": Packed(inner)})
    back = loads(outer)["graph"]
    assert isinstance(back, Packed)
    assert (loads(back.frames)["a"] == np.arange(10)).all()


def test_other_wire_versions_are_refused_with_a_fix():
    frames = dumps({"a": 1})
    frames[0] = frames[0][:3] + bytes([99]) + frames[0][4:]
    with pytest.raises(WireError, match="same lamina version"):
        loads(frames)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64))
def test_malformed_headers_raise_wire_error(junk):
    try:
        loads([b"LMN\x01" + junk])
    except WireError:
        pass


def test_large_graph_message_warns_above_10_mb():
    big = la.from_array(np.ones(1_400_000), chunks=100_000)
    with pytest.warns(LargeGraphWarning, match="from_zarr"):
        dumps({"roots": (big.layer,)}, extension=LayerCodec())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dumps({"data": np.ones(1_400_000)})
        dumps({"roots": (la.ones(10**9, chunks=1000).layer,)}, extension=LayerCodec())


# expressions -------------------------------------------------------------------
def test_every_registered_type_is_trusted():
    from lamina.layers.registry import trusted_class

    for name in signature():
        assert is_trusted(trusted_class(name))


def test_shared_subtrees_are_sent_once():
    data = la.from_array(np.arange(200_000.0), chunks=10_000)
    a = data + 1
    b = (a * a + a) - data
    frames = dumps({"roots": (b.layer, a.layer)}, extension=LayerCodec())
    layers = topological([b.layer])
    assert len(nodes_of(frames, load_blobs=False, extension=LayerCodec())) == len(layers)
    assert len(frames) == 2, "the one array is one frame"


class Doubling(Layer):
    """A layer type no registry knows: it must travel lowered."""

    _parameters = ("x", "factor")

    def _meta(self):
        return self.x.chunks, self.x.dtype

    def block_deps(self, out_blocks):
        return [(np.arange(len(out_blocks) + 1, dtype=np.int64), np.asarray(out_blocks))]

    def kernel(self):
        factor = self.factor
        return lambda block, inputs: inputs[0] * factor


def test_untrusted_layer_travels_lowered_and_stays_correct():
    x = la.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
    y = Array(Doubling((x + 1).layer, 3)) * 2
    frames = dumps({"roots": (y.layer,)}, extension=LayerCodec())
    sched = loads(frames, load_blobs=False, extension=LayerCodec())["roots"][0]
    kinds = {type(l).__name__ for l in topological([sched])}
    assert "Lowered" in kinds and "Doubling" not in kinds
    worker = loads(frames, extension=LayerCodec())["roots"][0]
    np.testing.assert_array_equal(Array(worker).compute(), (np.arange(12.0).reshape(3, 4) + 1) * 6)
    check_round_trip(y.layer)


def test_peer_without_a_type_gets_it_lowered():
    x = la.ones((6, 6), chunks=2) + 1
    remote = dict(signature())
    del remote["Blockwise"]
    frames = dumps({"roots": (x.layer,)}, extension=LayerCodec(trust_of(remote)))
    header = bytes(frames[0])
    assert LOWERED.encode() in header
    sched = loads(frames, load_blobs=False, extension=LayerCodec())["roots"][0]
    assert isinstance(sched, Lowered)


def test_scheduler_side_layers_keep_function_operands_opaque():
    y = la.map_blocks(lambda b: b * 2, la.ones((8, 8), chunks=4), dtype="f8").sum()
    frames = dumps({"roots": (y.layer,)}, extension=LayerCodec())
    sched = loads(frames, load_blobs=False, extension=LayerCodec())["roots"][0]
    funcs = [op for l in topological([sched]) for op in l.operands if isinstance(op, Blob)]
    assert funcs, "the lambda is a blob on the scheduler"
    assert lower([sched]).n_tasks == lower([y.layer]).n_tasks


@pytest.mark.parametrize("side", [100, 316, 1000])
def test_bytes_on_the_wire_are_small_and_constant_in_chunks(side):
    x = la.ones((side * 10, side * 10), chunks=10)
    y = ((x + 1) * 2).sum()
    size = framed_nbytes(dumps({"roots": (y.layer,)}, extension=LayerCodec()))
    assert size <= 10_000
    reference = framed_nbytes(dumps({"roots": ((((la.ones((1000, 1000), chunks=10) + 1) * 2)
                                                 .sum()).layer,)}, extension=LayerCodec()))
    assert abs(size - reference) <= 200, "a few bytes per extra tree level, not per chunk"


def test_optimized_expression_stays_compact():
    optimizer = pytest.importorskip("lamina.optimizer")
    x = la.ones((10_000, 10_000), chunks=10)
    (layer,) = optimizer.optimize_layers([((x + 1) * 2).sum().layer])
    frames = dumps({"roots": (layer,)}, extension=LayerCodec())
    assert framed_nbytes(frames) <= 10_000
    assert LOWERED.encode() not in bytes(frames[0])


def test_held_blocks_layer_refuses_to_run_outside_its_cluster():
    held = Array(Held("cluster-x", 3, 0, ((2, 2),), np.dtype("f8")))
    with pytest.raises(RuntimeError, match="persisted"):
        held.compute()


def test_blob_is_never_pickled_itself():
    with pytest.raises(TypeError):
        pickle.dumps(Blob(b"x"))
