"""Decoding is bounded: arbitrary bytes decode or raise ``WireError``, nothing else.

A message comes from outside; its nesting, its element counts (run-length
encoded tuples counted expanded) and its arrays' declared sizes are checked
against ``WireLimits`` before anything is built from them.
"""

from __future__ import annotations

import subprocess
import sys

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.comm.format import (
    EXT_BLOB,
    EXT_NDARRAY,
    EXT_PACKED,
    EXT_RANGE,
    EXT_RLE,
    EXT_SCALAR,
    EXT_SLICE,
)
from lamina.comm.wire import MAGIC, WIRE_VERSION, WireError, WireLimits, dumps, loads

PREFIX = MAGIC + bytes([WIRE_VERSION])


def header(value, nodes=()) -> bytes:
    return PREFIX + msgpack.packb([list(nodes), value], use_bin_type=True)


def nested_extensions(levels: int, code: int = EXT_SLICE) -> msgpack.ExtType:
    """``levels`` extension types each holding the next (a slice of a slice of ...)."""
    value: object = 1
    for _ in range(levels):
        value = msgpack.ExtType(code, msgpack.packb([value], use_bin_type=True))
    return value


# property: bytes in, a value or WireError out ---------------------------------------
def plain_msgpack():
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70).filter(
        lambda i: -2**63 <= i < 2**64), st.floats(allow_nan=False), st.text(max_size=8),
        st.binary(max_size=8))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.text(max_size=4), st.integers(0, 9)), inner, max_size=3),
            st.builds(lambda code, v: msgpack.ExtType(code, msgpack.packb(v, use_bin_type=True)),
                      st.integers(0, 16), inner),
            st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=12))),
        max_leaves=20)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.lists(st.binary(max_size=64), max_size=3), st.booleans())
def test_arbitrary_bytes_decode_or_raise_wire_error(raw, buffers, prefixed):
    frames = [PREFIX + raw if prefixed else raw, *buffers]
    try:
        loads(frames, load_blobs=False)
    except WireError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_msgpack(), st.lists(st.binary(max_size=64), max_size=3))
def test_arbitrary_msgpack_with_extension_types_decodes_or_raises_wire_error(value, buffers):
    frames = [PREFIX + msgpack.packb([[], value], use_bin_type=True), *buffers]
    try:
        loads(frames, load_blobs=False)
    except WireError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(0, 400))
def test_valid_messages_with_garbage_spliced_in_decode_or_raise_wire_error(garbage, where):
    good = bytes(dumps({"op": "compute", "tasks": (1, 2, 3) * 4, "s": slice(1, 9, 2),
                        "a": np.arange(3), "r": range(5)})[0])
    where = min(where, len(good))
    try:
        loads([good[:where] + garbage + good[where:]], load_blobs=False)
    except WireError:
        pass


# nesting ---------------------------------------------------------------------------
def test_deeply_nested_extension_types_raise_wire_error_without_recursing():
    """A hundred thousand nested extension types: once it overflowed the C stack."""
    code = ("import msgpack\n"
            "from lamina.comm.wire import MAGIC, WIRE_VERSION, WireError, loads\n"
            "v = 1\n"
            "for _ in range(100_000):\n"
            "    v = msgpack.ExtType(6, msgpack.packb([v]))\n"
            "try:\n"
            "    loads([MAGIC + bytes([WIRE_VERSION]) + msgpack.packb([[], v])])\n"
            "except WireError as exc:\n"
            "    print('refused:', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused:" in out.stdout and "max_depth" in out.stdout


def test_nesting_within_the_limit_decodes():
    value = loads([header(nested_extensions(10))], limits=WireLimits(max_depth=25))
    for _ in range(10):
        assert type(value) is slice
        value = value.stop
    assert value == 1


@pytest.mark.parametrize("depth", [17, 40])
def test_containers_nested_beyond_max_depth_are_refused(depth):
    value: object = 0
    for _ in range(depth):
        value = [value]
    with pytest.raises(WireError, match="max_depth"):
        loads([header(value)], limits=WireLimits(max_depth=16))


def test_containers_and_extensions_count_together_toward_the_depth():
    value: object = nested_extensions(6)
    for _ in range(6):
        value = [value]
    with pytest.raises(WireError, match="max_depth"):
        loads([header(value)], limits=WireLimits(max_depth=10))


# counts and sizes ---------------------------------------------------------------------
def test_a_run_length_encoded_tuple_is_counted_expanded_before_it_is_built():
    rle = msgpack.ExtType(EXT_RLE, msgpack.packb([[7], [30_000_000]]))
    raw = header({"op": "hello", "x": rle})
    assert len(raw) < 80
    with pytest.raises(WireError, match="max_items"):
        loads([raw], limits=WireLimits(max_items=1_000_000))


def test_run_lengths_must_be_non_negative_and_as_many_as_values():
    for values, counts in [([1, 2], [3]), ([1], [-5]), ([1], ["x"])]:
        rle = msgpack.ExtType(EXT_RLE, msgpack.packb([values, counts]))
        with pytest.raises(WireError):
            loads([header(rle)])


def test_many_small_containers_count_toward_max_items():
    with pytest.raises(WireError, match="max_items"):
        loads([header([[1, 2]] * 600)], limits=WireLimits(max_items=1000))


def test_an_array_whose_declared_size_exceeds_its_buffer_is_refused():
    head = msgpack.ExtType(EXT_NDARRAY, msgpack.packb(["<f8", [2**40], 0, 1]))
    with pytest.raises(WireError, match="needs 8796093022208 bytes, its frame has 16"):
        loads([header(head), bytes(16)])


def test_an_array_of_python_objects_is_refused():
    head = msgpack.ExtType(EXT_NDARRAY, msgpack.packb(["|O", [1], 0, 1]))
    with pytest.raises(WireError, match="Python objects"):
        loads([header(head), bytes(8)], load_blobs=False)


def test_a_zero_width_dtype_cannot_declare_a_huge_array():
    head = msgpack.ExtType(EXT_NDARRAY, msgpack.packb(["|V0", [2**40], 0, 1]))
    with pytest.raises(WireError, match="needs 0 bytes"):
        loads([header(head), b""])


def test_frame_references_must_exist():
    for ext in [msgpack.ExtType(EXT_BLOB, msgpack.packb([b"x", [5]])),
                msgpack.ExtType(EXT_PACKED, msgpack.packb([1, 9])),
                msgpack.ExtType(EXT_PACKED, msgpack.packb([-3, 2]))]:
        with pytest.raises(WireError):
            loads([header(ext), b"ab"], load_blobs=False)


def test_a_scalar_needs_exactly_its_itemsize():
    ext = msgpack.ExtType(EXT_SCALAR, msgpack.packb(["<i8", b"abc"], use_bin_type=True))
    with pytest.raises(WireError, match="needs 8 bytes"):
        loads([header(ext)])


def test_header_and_frame_counts_are_limited():
    limits = WireLimits(max_header_bytes=100, max_frames=2)
    with pytest.raises(WireError, match="max_header_bytes"):
        loads([header("x" * 200)], limits=limits)
    with pytest.raises(WireError, match="max_frames"):
        loads([header(1), b"", b""], limits=limits)


def test_limits_must_be_positive_integers():
    with pytest.raises(ValueError, match="max_depth must be a positive integer"):
        WireLimits(max_depth=0)


def test_ordinary_messages_decode_within_the_default_limits():
    msg = {"op": "run", "chunks": ((5,) * 100_000, (3, 4)), "r": range(3),
           "a": np.arange(12.0).reshape(3, 4), "s": {1, 2}, "l": [slice(None, 3)],
           "big": msgpack.ExtType(EXT_RANGE, msgpack.packb([0, 10]))}
    got = loads(dumps(msg))
    assert got["chunks"] == msg["chunks"] and got["s"] == {1, 2}
    np.testing.assert_array_equal(got["a"], msg["a"])


def test_an_expression_deeper_than_max_depth_decodes_its_rows_are_not_nesting():
    """Layers refer to their children's rows: a long chain is a flat table."""
    import lamina.array as la
    from lamina.compute import layers_of
    from lamina.layers.codec import LayerCodec

    x = la.ones((20, 20), chunks=5)
    for i in range(150):
        x = (x + i) * 2
    roots = tuple(layers_of([x.sum()], "test"))
    got = loads(dumps({"roots": roots}, extension=LayerCodec()), load_blobs=False,
                extension=LayerCodec(), limits=WireLimits(max_depth=16))
    assert got["roots"][0].name == roots[0].name


def test_every_roles_hello_fits_the_greeting_limits_with_room_to_spare():
    from lamina.comm.core import PROTOCOL_VERSION
    from lamina.comm.limits import GREETING_LIMITS
    from lamina.layers.registry import signature

    hello = {"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
             "role": "worker", "address": "tcp://[2001:db8::1]:65535", "nthreads": 512,
             "id": "f" * 32, "registry": signature()}
    roomy = WireLimits(max_message_bytes=GREETING_LIMITS.max_message_bytes // 2,
                       max_frames=1, max_header_bytes=GREETING_LIMITS.max_header_bytes // 2,
                       max_depth=GREETING_LIMITS.max_depth // 2,
                       max_items=GREETING_LIMITS.max_items // 2)
    assert loads(dumps(hello), limits=roomy)["registry"] == hello["registry"]
