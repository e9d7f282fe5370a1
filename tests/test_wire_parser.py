"""The compiled msgpack parser reads what msgpack writes, and nothing else.

``lamina.comm._unpack`` replaces ``msgpack.unpackb`` in the decoder: every
value msgpack encodes (all widths of integers, floats, strings, binaries,
arrays and maps) decodes to what ``msgpack.unpackb`` gives; a payload cut
anywhere, or with bytes after it, is a ``WireError``; and nesting is refused
at a fixed ceiling even when the limits allow more, so no stack overflows.
"""

from __future__ import annotations

import math

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.comm._unpack import DEPTH_CEILING

from lamina.comm.wire import MAGIC, WIRE_VERSION, WireError, WireLimits, dumps, loads

PREFIX = MAGIC + bytes([WIRE_VERSION])
BIG = WireLimits(max_depth=10**6, max_items=2**40)

leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True), st.floats(width=32), st.text(max_size=40),
    st.binary(max_size=40),
)
keys = st.one_of(st.text(max_size=5), st.integers(-(2**63), 2**64 - 1), st.binary(max_size=4))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=20), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


def decode(payload: bytes, limits: WireLimits = BIG):
    """``payload`` as the value of a message with an empty node table."""
    return loads([PREFIX + b"\x92\x90" + payload], limits=limits)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=150, deadline=None)
@given(values)
def test_every_msgpack_value_decodes_as_msgpack_decodes_it(value):
    payload = msgpack.packb(value, use_bin_type=True)
    want = msgpack.unpackb(payload, raw=False, use_list=False, strict_map_key=False)
    assert same(decode(payload), want)


@settings(max_examples=100, deadline=None)
@given(st.floats(width=32))
def test_single_precision_floats_decode_exactly(x):
    payload = msgpack.packb(x, use_single_float=True)
    assert payload[0] == 0xCA
    assert same(decode(payload), msgpack.unpackb(payload))


@pytest.mark.parametrize("n", [0, 15, 16, 2**16 - 1, 2**16])
def test_array_and_map_headers_of_every_width_decode(n):
    assert decode(msgpack.packb(list(range(n)))) == tuple(range(n))
    assert decode(msgpack.packb({i: i for i in range(n)})) == {i: i for i in range(n)}
    text = "é" * n
    assert decode(msgpack.packb(text)) == text
    assert decode(msgpack.packb(b"x" * n, use_bin_type=True)) == b"x" * n


@settings(max_examples=40, deadline=None)
@given(values)
def test_a_payload_cut_anywhere_or_with_bytes_after_it_is_a_wire_error(value):
    payload = msgpack.packb(value, use_bin_type=True)
    for cut in range(len(payload)):
        with pytest.raises(WireError):
            decode(payload[:cut])
    with pytest.raises(WireError):
        decode(payload + b"\x00")


@pytest.mark.parametrize("payload", [
    b"\xc1",                              # never used
    b"\xdd\xff\xff\xff\xff",             # an array of 2**32 - 1 elements, none there
    b"\xdf\x7f\xff\xff\xff" + b"\x00" * 8,  # a map of 2**31 - 1 pairs
    b"\xdb\xff\xff\xff\xff",             # a string of 4 GiB
    b"\xc6\x7f\xff\xff\xff",             # a binary of 2 GiB
    b"\xc9\xff\xff\xff\xff\x02",         # an extension type of 4 GiB
    b"\xa2\xff\xfe",                      # a string that is not UTF-8
])
def test_announced_sizes_beyond_the_bytes_are_refused_before_allocating(payload):
    with pytest.raises(WireError, match="malformed message"):
        decode(payload)


def test_map_keys_may_be_tuples_but_not_lists():
    assert decode(b"\x81\x90\x00") == {(): 0}
    key = msgpack.packb([msgpack.ExtType(4, b"\x00"), 1])  # a list
    with pytest.raises(WireError):
        decode(b"\x81" + key + b"\x00")


def test_nesting_stops_at_the_ceiling_whatever_the_limits_allow():
    deep = b"\x91" * 100_000 + b"\x00"
    with pytest.raises(WireError, match=f"deeper than {DEPTH_CEILING} levels"):
        decode(deep)
    ext_chain = b"\x00"
    for _ in range(3 * DEPTH_CEILING):  # a slice of a slice of ...
        ext_chain = msgpack.packb(msgpack.ExtType(6, b"\x91" + ext_chain))
    with pytest.raises(WireError, match="max_depth"):
        decode(ext_chain)


def test_arrays_in_any_layout_and_dtype_come_back_without_a_copy():
    for a in [np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(6).reshape(2, 3)),
              np.zeros((0, 5), dtype="u1"), np.array(3.5, dtype=">f4"),
              np.array(["ab", "c"]), np.arange(4).astype("M8[ns]")]:
        frames = dumps({"a": a})
        got = loads(frames)["a"]
        assert got.dtype == a.dtype and got.shape == a.shape
        np.testing.assert_array_equal(got, a)
        if a.size and a.ndim:
            assert not got.flags.owndata
