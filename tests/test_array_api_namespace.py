"""``lamina.array`` as an Array API namespace: dtypes, promotion, keywords and methods."""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.testing.strategies import special_arrays

DTYPES = [la.bool, la.int8, la.int16, la.int32, la.int64, la.uint8, la.uint16, la.uint32,
          la.uint64, la.float32, la.float64, la.complex64, la.complex128]

# the standard's promotion table, written out for the pairs it defines
_SIGNED = ["int8", "int16", "int32", "int64"]
_UNSIGNED = ["uint8", "uint16", "uint32", "uint64"]


def _standard_promotion(a: str, b: str) -> str | None:
    """The standard's result for two dtype names, None where it is undefined."""
    if a == b:
        return a
    if "bool" in (a, b):
        return None
    kinds = {n: ("i" if n in _SIGNED else "u" if n in _UNSIGNED else
                 "f" if n.startswith("float") else "c") for n in (a, b)}
    bits = {n: int("".join(c for c in n if c.isdigit())) for n in (a, b)}
    ka, kb = kinds[a], kinds[b]
    if {ka, kb} <= {"i", "u"}:
        if ka == kb:
            return a if bits[a] > bits[b] else b
        signed, unsigned = (a, b) if ka == "i" else (b, a)
        if bits[signed] > bits[unsigned]:
            return signed
        need = 2 * bits[unsigned]
        return f"int{need}" if need <= 64 else None
    if {ka, kb} <= {"f", "c"}:
        real_bits = max(bits[a] // (2 if kinds[a] == "c" else 1),
                        bits[b] // (2 if kinds[b] == "c" else 1))
        return f"complex{2 * real_bits}" if "c" in (ka, kb) else f"float{real_bits}"
    return None


def test_namespace_identity_version_and_constants():
    x = la.ones(3, chunks=2)
    assert x.__array_namespace__() is la
    assert la.__array_api_version__ == "2023.12"
    assert (la.e, la.pi, la.inf) == (math.e, math.pi, math.inf)
    assert math.isnan(la.nan) and la.newaxis is None
    assert x[la.newaxis].shape == (1, 3)


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, repeat=2)))
def test_result_type_follows_the_standard_table(a, b):
    expected = _standard_promotion(str(a), str(b))
    if expected is None:
        return
    assert la.result_type(a, b) == np.dtype(expected)
    x = la.ones(2, dtype=a, chunks=1)
    y = la.ones(2, dtype=b, chunks=1)
    if a != la.bool and b != la.bool:
        assert (x + y).dtype == np.dtype(expected) == (x + y).compute().dtype


def test_python_scalars_take_the_array_dtype():
    x = la.ones(3, dtype=la.int8, chunks=2)
    assert (x + 1).dtype == la.int8 and (2 * x).dtype == la.int8
    f = la.ones(3, dtype=la.float32, chunks=2)
    assert (f + 1.5).dtype == la.float32 and la.result_type(f, 1.5) == la.float32
    assert (f * 1j).dtype == la.complex64


def test_data_type_functions():
    assert la.can_cast(la.int8, la.int16) and not la.can_cast(la.int16, la.int8)
    assert not la.can_cast(la.float64, la.float32)
    assert la.finfo(la.float32).eps == np.finfo(np.float32).eps
    assert la.finfo(la.ones(2, dtype=la.float64)).bits == 64
    assert la.iinfo(la.uint8).max == 255
    assert la.isdtype(la.float32, "real floating") and not la.isdtype(la.int8, "real floating")
    assert la.isdtype(la.uint16, ("bool", "integral"))
    with pytest.raises(TypeError, match="expects a dtype"):
        la.isdtype("float32", "numeric")


def test_inspection_info():
    info = la.__array_namespace_info__()
    assert info.default_device() == "cpu" and info.devices() == ["cpu"]
    assert info.default_dtypes()["real floating"] == la.float64
    assert set(info.dtypes()) == {str(d) for d in DTYPES}
    assert set(info.dtypes(kind="unsigned integer")) == {"uint8", "uint16", "uint32", "uint64"}
    with pytest.raises(ValueError, match="device"):
        la.zeros(2, device="gpu:1")


def test_creation_keywords_and_default_dtypes():
    assert la.zeros((2, 3)).dtype == la.float64 and la.ones(2, dtype=None).dtype == la.float64
    assert la.full(2, True).dtype == la.bool and la.full(2, 3).dtype == la.int64
    assert la.full(2, 1j).dtype == la.complex128
    assert la.arange(0, 7.3, 3).dtype == la.float64
    assert la.asarray([1, 2], dtype=la.int8).dtype == la.int8
    assert la.asarray(2.5).dtype == la.float64 and la.asarray(True).dtype == la.bool
    np.testing.assert_array_equal(la.asarray([la.asarray(1.0), 2.0]).compute(), [1.0, 2.0])
    assert la.empty_like(la.ones(3, dtype=la.int16, chunks=2), device="cpu").dtype == la.int16


def test_asarray_copy_semantics():
    x = la.asarray(np.arange(4.0))
    shared, copied = la.asarray(x, copy=False), la.asarray(x, copy=True)
    x[0] = 9.0
    assert float(shared[0]) == 9.0 and float(copied[0]) == 0.0
    with pytest.raises(ValueError, match="copy=False"):
        la.asarray(x, dtype=la.float32, copy=False)
    data = np.arange(3)
    y = la.asarray(data, copy=True)
    data[0] = 7
    assert int(y[0]) == 0


def test_astype_copy_and_dtype():
    x = la.ones(3, dtype=la.float32, chunks=2)
    assert la.astype(x, la.float32, copy=False) is x
    assert la.astype(x, la.float32) is not x
    assert la.astype(x, la.int8).compute().dtype == np.int8


def test_array_attributes_and_scalar_conversion():
    x = la.from_array(np.arange(24.0).reshape(2, 3, 4), chunks=(1, 2, 3))
    np.testing.assert_array_equal(x.mT.compute(), np.swapaxes(np.arange(24.0).reshape(2, 3, 4),
                                                               -1, -2))
    assert x.device == "cpu" and x.to_device("cpu") is x
    assert float(la.sum(x)) == 276.0 and int(la.asarray(3)) == 3
    assert complex(la.asarray(1 + 2j)) == 1 + 2j and bool(la.asarray(False)) is False
    assert [10, 20, 30][la.asarray(1)] == 20
    with pytest.raises(TypeError, match="integer"):
        [1, 2][la.asarray(1.0)]


def test_in_place_operators_give_new_arrays():
    x = la.ones(3, dtype=la.int32, chunks=2)
    alias = x
    x += 1
    assert x is not alias
    np.testing.assert_array_equal(x.compute(), [2, 2, 2])
    np.testing.assert_array_equal(alias.compute(), [1, 1, 1])


FLOAT_FUNCS = ["acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "exp",
               "expm1", "floor", "isfinite", "isinf", "isnan", "log", "log1p", "log2", "log10",
               "negative", "positive", "sign", "signbit", "sin", "sinh", "square", "sqrt",
               "tan", "tanh", "trunc", "abs", "logical_not", "real", "imag", "conj"]
BINARY_FUNCS = {"add": np.add, "atan2": np.arctan2, "copysign": np.copysign,
                "divide": np.divide, "equal": np.equal, "floor_divide": np.floor_divide,
                "greater": np.greater, "hypot": np.hypot, "logaddexp": np.logaddexp,
                "maximum": np.maximum, "minimum": np.minimum, "nextafter": np.nextafter,
                "pow": np.power, "remainder": np.remainder, "subtract": np.subtract,
                "logical_and": np.logical_and, "not_equal": np.not_equal}
_REFERENCE = {"acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin, "asinh": np.arcsinh,
              "atan": np.arctan, "atanh": np.arctanh, "abs": np.abs, "conj": np.conj}


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_elementwise_functions_match_numpy_with_special_values(data):
    values, x = data.draw(special_arrays(max_ndim=2))
    name = data.draw(st.sampled_from(FLOAT_FUNCS + list(BINARY_FUNCS)))
    chunks = x.chunks
    with np.errstate(all="ignore"):
        if name in BINARY_FUNCS:
            other = np.flip(values).copy()
            got = getattr(la, name)(x, la.from_array(other, chunks=chunks)).compute()
            expected = BINARY_FUNCS[name](values, other)
        else:
            got = getattr(la, name)(x).compute()
            expected = _REFERENCE.get(name, getattr(np, name, None))(values)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_integer_rounding_and_conj_keep_dtype():
    x = la.asarray(np.array([1, -2, 3], dtype=np.int16))
    for name in ("ceil", "floor", "trunc"):
        assert getattr(la, name)(x).dtype == la.int16
    b = la.asarray(np.array([True, False]))
    assert la.conj(b).dtype == la.bool and b.conj().dtype == la.bool
    assert la.real(la.asarray(np.ones(2, dtype=np.float32))).dtype == la.float32


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_std_var_correction_match_numpy(data):
    values, x = data.draw(special_arrays(max_ndim=2, min_ndim=1))
    correction = data.draw(st.sampled_from([0, 1, 0.5, 2.0]))
    axis = data.draw(st.sampled_from([None, 0, -1]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns for ddof >= n
        for name in ("std", "var"):
            got = getattr(la, name)(x, axis=axis, correction=correction).compute()
            expected = getattr(np, name)(values, axis=axis, ddof=correction)
            np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


def test_manipulation_names():
    data = np.arange(24.0).reshape(2, 3, 4)
    x = la.from_array(data, chunks=(1, 2, 3))
    np.testing.assert_array_equal(la.permute_dims(x, (2, 0, 1)).compute(),
                                  np.transpose(data, (2, 0, 1)))
    np.testing.assert_array_equal(la.concat([x, x], axis=None).compute(),
                                  np.concatenate([data, data], axis=None))
    parts = la.unstack(x, axis=1)
    assert len(parts) == 3
    for i, part in enumerate(parts):
        np.testing.assert_array_equal(part.compute(), data[:, i])
    np.testing.assert_array_equal(la.squeeze(x[:, :1], axis=1).compute(), data[:, 0])
    np.testing.assert_array_equal(la.expand_dims(x).compute(), data[None])
    v = la.vecdot(x, x, axis=1).compute()
    np.testing.assert_allclose(v, np.sum(data * data, axis=1))
    c = np.array([1 + 2j, -1j])
    np.testing.assert_allclose(la.vecdot(la.asarray(c), la.asarray(c)).compute(),
                               np.vdot(c, c))


def test_dlpack_round_trip():
    data = np.arange(6.0).reshape(2, 3)
    x = la.from_array(data, chunks=1) * 2
    assert x.__dlpack_device__() == (1, 0)
    np.testing.assert_array_equal(np.from_dlpack(x), data * 2)
    y = la.from_dlpack(np.arange(4.0))
    np.testing.assert_array_equal((y + 1).compute(), np.arange(4.0) + 1)
    assert la.from_dlpack(x) is x


def test_complex_expm1_and_tanh_special_cases_follow_the_standard():
    inf, nan = np.inf, np.nan
    z = np.array([complex(inf, 0), complex(-inf, inf), complex(-inf, nan), complex(nan, 0),
                  complex(-0.0, 0), 0.5 + 0.25j], dtype=np.complex128)
    got = la.expm1(la.from_array(z, chunks=4)).compute()
    expected = [complex(inf, 0), -1 + 0j, -1 + 0j, complex(nan, 0), 0j, np.expm1(0.5 + 0.25j)]
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert not np.signbit(got[4].real)  # +0, where NumPy's expm1 gives -0
    t = la.tanh(la.from_array(np.array([complex(inf, 2.0), complex(inf, -2.0)]), chunks=1))
    t = t.compute()
    np.testing.assert_array_equal(t, [1 + 0j, 1 - 0j])
    np.testing.assert_array_equal(np.signbit(t.imag), [False, True])
