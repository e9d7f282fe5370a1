"""Special values (NaN, inf, -0.0) and dtypes come out as NumPy's, whatever the chunks."""

import itertools

import numpy as np
import pytest

import lamina.array as la

SPECIAL = [np.inf, np.nan, -0.0, 2.0]
COMPLEX_SPECIAL = [complex(np.inf, 0), complex(0, -np.inf), complex(np.nan, np.inf),
                   complex(-0.0, -0.0), 1e300 + 1e300j, 1 + 1j]


def assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    """Same dtype, shape and values, NaN where NaN and the sign of every zero."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    for part in (np.real, np.imag) if expected.dtype.kind == "c" else (np.asarray,):
        if expected.dtype.kind in "fc":
            np.testing.assert_array_equal(np.signbit(part(got)), np.signbit(part(expected)))


def test_outer_keeps_nan_and_negative_zero_in_any_chunks():
    for a, b in itertools.product(itertools.product(SPECIAL, repeat=2), repeat=2):
        a, b = np.array(a), np.array(b)
        with np.errstate(invalid="ignore"):
            expected = np.outer(a, b)
            for ca, cb in [(1, 1), (2, 1), (1, 2)]:
                got = np.outer(la.from_array(a, chunks=ca), la.from_array(b, chunks=cb))
                assert_same(got.compute(), expected)


def test_outer_of_bools_and_small_ints_keeps_numpy_dtype():
    a, b = np.arange(6).reshape(2, 3) > 2, np.arange(4, dtype=np.int8)
    got = np.outer(la.from_array(a, chunks=1), la.from_array(b, chunks=3)).compute()
    assert_same(got, np.outer(a, b))


@pytest.mark.parametrize("exponent", [-1, 2, 0.5, -1.0, 2.0, np.int64(2), np.float64(0.5), 3])
def test_power_operator_matches_numpy_operator_on_complex_infinities(exponent):
    data = np.array(COMPLEX_SPECIAL)
    x = la.from_array(data, chunks=1)
    with np.errstate(all="ignore"):
        assert_same((x ** exponent).compute(), data ** exponent)
        assert_same(np.power(x, exponent).compute(), np.power(data, exponent))


def test_complex_infinity_to_the_minus_one_is_negative_zero():
    x = la.from_array(np.array([complex(np.inf, 0)]), chunks=1)
    got = (x ** -1).compute()
    assert_same(got, np.array([complex(np.inf, 0)]) ** -1)  # -0-0j, not nan+nanj


@pytest.mark.parametrize("dtype", ["?", "i1", "u1", "i8", "f2", "f4", "c8"])
@pytest.mark.parametrize("exponent", [-1, 2, 0.5, 2.0])
def test_power_operator_dtype_follows_numpy_operator(dtype, exponent):
    data = np.array([1, 0, 3]).astype(dtype)
    x = la.from_array(data, chunks=2)
    with np.errstate(all="ignore"):
        try:
            expected = data ** exponent
        except (ValueError, OverflowError) as error:
            with pytest.raises(type(error)):
                x ** exponent
            return
        assert_same((x ** exponent).compute(), expected)


def test_bool_squared_is_int8_like_numpy():
    data = np.array([True, False])
    assert (la.from_array(data, chunks=1) ** 2).dtype == (data ** 2).dtype == np.int8


def test_conj_method_keeps_a_real_dtype_like_ndarray_conj():
    data = np.array([True, False])
    x = la.from_array(data, chunks=1)
    assert_same(x.conj().compute(), data.conj())
    assert_same(x.conjugate().compute(), data.conjugate())
    assert_same(np.conjugate(x).compute(), np.conjugate(data))  # the ufunc: int8


def test_empty_int_array_to_a_negative_power_is_empty_like_numpy():
    """NumPy's error for ``int ** -1`` depends on values: none are there, none is raised."""
    data = np.zeros(0, dtype=np.int8)
    assert_same((la.from_array(data, chunks=1) ** -1).compute(), data ** -1)
    with pytest.raises(ValueError, match="negative integer powers"):
        la.from_array(np.ones(2, dtype=np.int8), chunks=1) ** -1
