"""Creation functions give NumPy 2's dtypes by default."""

import numpy as np
import pytest

import lamina.array as la

INT8 = np.array([1, 2], dtype=np.int8)
f32 = np.float32

CASES = {
    "arange float stop": (lambda m: m.arange(0, 7.3, 3), ),
    "arange ints": (lambda m: m.arange(0, 7, 3), ),
    "arange float32 arguments": (lambda m: m.arange(f32(0), f32(3), f32(1)), ),
    "arange int8 arguments": (lambda m: m.arange(np.int8(0), np.int8(3), np.int8(1)), ),
    "arange float step": (lambda m: m.arange(0, 3, 0.5), ),
    "arange uint64 arguments": (lambda m: m.arange(np.uint64(0), np.uint64(5), np.uint64(1)), ),
    "zeros dtype None": (lambda m: m.zeros(3, dtype=None), ),
    "ones dtype None": (lambda m: m.ones(3, dtype=None), ),
    "empty dtype None": (lambda m: m.empty(3, dtype=None), ),
    "full int": (lambda m: m.full(3, 1), ),
    "full bool": (lambda m: m.full(3, True), ),
    "full float32": (lambda m: m.full(3, f32(1.5)), ),
    "linspace": (lambda m: m.linspace(0, 10, 3), ),
    "linspace float32": (lambda m: m.linspace(f32(0), f32(1), 4), ),
    "linspace float32 values": (lambda m: m.linspace(f32(-3.3), f32(7.1), 33), ),
    "linspace int8 dtype": (lambda m: m.linspace(0, 3, 4, dtype=np.int8), ),
    "zeros_like int8": (lambda m: m.zeros_like(m.asarray(INT8)), ),
    "ones_like dtype None": (lambda m: m.ones_like(m.asarray(INT8), dtype=None), ),
    "full_like casts unsafely": (lambda m: m.full_like(m.asarray(INT8), 300.7), ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_dtype_and_values_match_numpy(name):
    (make,) = CASES[name]
    got, expected = make(la), make(np)
    assert got.dtype == expected.dtype, name
    if "empty" not in name:
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(got.compute(), expected)


def test_complex_linspace_raises_a_clear_error():
    with pytest.raises(TypeError, match="complex linspace is not supported"):
        la.linspace(0j, 1, 3)
