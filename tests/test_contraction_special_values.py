"""matmul, dot, tensordot and vdot keep NaN, infinities and signed zeros for
every chunking.

The reference is the definition NumPy's own product loops follow: each
output entry is ``0.0 + p_1 + p_2 + ...`` over the products ``p`` of the
contracted entries, in IEEE arithmetic. BLAS skips zero factors, so a block
product could drop the NaN of ``0 * inf``; the operands here are drawn from
0, -0.0, +-inf, NaN and small dyadic numbers, whose sums are exact in any
order, so results must match bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.contraction import dot, matmul, tensordot, vdot
from lamina.layers.exact_products import contract
from lamina.testing.strategies import chunks_for

SETTINGS = settings(max_examples=60, deadline=None)
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -2.5, 0.5]
DTYPES = [np.float64, np.float32, np.complex128]


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@st.composite
def special(draw, shape, dtype):
    """A NumPy array of special values and the same values in random chunks."""
    size = int(np.prod(shape))
    real = draw(st.lists(st.sampled_from(SPECIAL), min_size=size, max_size=size))
    a = np.array(real, dtype=np.float64)
    if np.dtype(dtype).kind == "c":
        imag = draw(st.lists(st.sampled_from(SPECIAL), min_size=size, max_size=size))
        a = a + 1j * np.array(imag)
        a.imag = imag  # 1j * inf would put NaN in the real part
    a = a.reshape(shape).astype(dtype)
    return a, la.from_array(a, chunks=draw(chunks_for(shape)))


def sum_of_products(a2, b2):
    """``(M, K) x (K, N)`` by the definition: ``0.0 + sum_k a[m, k] * b[k, n]`` in order."""
    out = np.zeros((a2.shape[0], b2.shape[1]), dtype=np.result_type(a2, b2))
    for k in range(a2.shape[1]):
        out = out + a2[:, k, None] * b2[None, k, :]
    return out


def reference_tensordot(a, b, axes_a, axes_b):
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = int(np.prod([a.shape[i] for i in axes_a]))
    a2 = a.transpose(free_a + list(axes_a)).reshape(-1, k)
    b2 = b.transpose(list(axes_b) + free_b).reshape(k, -1)
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return sum_of_products(a2, b2).reshape(shape)


def reference_matmul(a, b):
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    count = int(np.prod(batch))
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:]).reshape((count,) + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:]).reshape((count,) + b2.shape[-2:])
    out = np.stack([sum_of_products(x, y) for x, y in zip(a2, b2)])
    out = out.reshape(batch + out.shape[-2:])
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


def assert_same(got, want):
    """Equal bit for bit up to NaN payloads: NaN, infinities and signed zeros."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    parts = [(got.real, want.real), (got.imag, want.imag)] if want.dtype.kind == "c" else [
        (got, want)]
    for g, w in parts:
        np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(np.signbit(g) | np.isnan(g), np.signbit(w) | np.isnan(w),
                                      err_msg=f"signed zeros differ: {got} != {want}")


@st.composite
def matmul_case(draw):
    n, k, m = draw(st.integers(0, 4)), draw(st.integers(0, 5)), draw(st.integers(0, 4))
    batch = draw(st.lists(st.integers(1, 2), max_size=1))
    batch_b = [1 if draw(st.booleans()) else b for b in batch]
    a_shape = (k,) if draw(st.integers(0, 4)) == 0 else (*batch, n, k)
    b_shape = (k,) if draw(st.integers(0, 4)) == 0 else (*batch_b, k, m)
    dtype = draw(st.sampled_from(DTYPES))
    return draw(special(a_shape, dtype)), draw(special(b_shape, dtype))


@SETTINGS
@given(case=matmul_case(), split_every=st.sampled_from([None, 2]))
def test_matmul_keeps_special_values_for_any_chunking(case, split_every):
    (a, x), (b, y) = case
    assert_same(matmul(x, y, split_every=split_every).compute(), reference_matmul(a, b))


@st.composite
def tensordot_case(draw):
    shape_a = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    n = draw(st.integers(0, len(shape_a)))
    axes_a = draw(st.permutations(range(len(shape_a))))[:n]
    free_b = draw(st.lists(st.integers(1, 3), max_size=2))
    order = draw(st.permutations(range(n + len(free_b))))
    shape_b = [0] * (n + len(free_b))
    axes_b = []
    for j, pos in enumerate(order):
        if j < n:
            shape_b[pos] = shape_a[axes_a[j]]
            axes_b.append(pos)
        else:
            shape_b[pos] = free_b[j - n]
    dtype = draw(st.sampled_from(DTYPES))
    return draw(special(shape_a, dtype)), draw(special(tuple(shape_b), dtype)), axes_a, axes_b


@SETTINGS
@given(case=tensordot_case())
def test_tensordot_keeps_special_values_for_any_chunking(case):
    (a, x), (b, y), axes_a, axes_b = case
    got = tensordot(x, y, axes=(list(axes_a), axes_b)).compute()
    assert_same(got, reference_tensordot(a, b, list(axes_a), axes_b))


@SETTINGS
@given(data=st.data(), k=st.integers(0, 6), n=st.integers(1, 4), m=st.integers(1, 4))
def test_dot_and_vdot_keep_special_values_for_any_chunking(data, k, n, m):
    dtype = data.draw(st.sampled_from(DTYPES))
    a, x = data.draw(special((n, k), dtype))
    b, y = data.draw(special((k, m), dtype))
    assert_same(dot(x, y).compute(), sum_of_products(a, b))
    v, vx = data.draw(special((k,), dtype))
    w, wy = data.draw(special((k,), dtype))
    assert_same(vdot(vx, wy).compute(), sum_of_products(np.conj(v)[None, :], w[:, None])[0, 0])


# The chunkings Hypothesis found where a block's BLAS product dropped a NaN
# (an (n, 1) x (1, m) block skips the zero factor of 0 * inf) while NumPy's
# product of the whole arrays has it.
ISSUE_A = np.array([[0.0], [-np.inf]])
ISSUE_B = np.array([[-0.0, 0.5, -np.inf]])
ROW = np.zeros((1, 4))
INF_IN_CORNER = np.zeros((4, 3))
INF_IN_CORNER[0, 2] = np.inf


@pytest.mark.parametrize("a, b, chunks_a, chunks_b", [
    (ISSUE_A, ISSUE_B, (1, 1), (1, 1)),
    (ISSUE_A, ISSUE_B, (2, 1), (1, 2)),
    (ROW, INF_IN_CORNER, (1, (1, 3)), ((1, 3), 3)),
    (ROW, INF_IN_CORNER, (1, 1), (1, 1)),
])
@pytest.mark.parametrize("product", [
    lambda x, y: x @ y, matmul, np.matmul, dot, np.dot,
    lambda x, y: np.tensordot(x, y, axes=1), lambda x, y: x.dot(y),
])
def test_products_equal_numpy_where_blocks_hold_zero_times_inf(a, b, chunks_a, chunks_b,
                                                               product):
    want = product(a, b)
    assert np.isnan(want).any()
    got = product(la.from_array(a, chunks=chunks_a), la.from_array(b, chunks=chunks_b))
    assert_same(got.compute(), want)


@pytest.mark.parametrize("product", [np.matmul, np.dot, lambda x, y: np.tensordot(x, y, 1)])
def test_sum_of_negative_zero_partials_is_positive_zero_as_in_numpy(product):
    a, b = np.array([[-1.0, -1.0, 2.0]]), np.array([[0.0], [0.0], [-0.0]])
    want = product(a, b)
    assert not np.signbit(want).any()
    for chunks in [1, 2, 3]:
        got = product(la.from_array(a, chunks=chunks), la.from_array(b, chunks=chunks))
        assert_same(got.compute(), want)


def test_finite_blocks_give_the_blas_product():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 20)), rng.standard_normal((20, 10))
    np.testing.assert_allclose(contract(np.matmul, x, y, -1, -2), x @ y, rtol=1e-12)


def test_mixed_integer_and_float_operands_keep_nan():
    a = np.array([[0, 1], [2, 0]], dtype=np.int64)
    b = np.array([[np.inf, 1.0], [0.0, np.nan]])
    got = (la.from_array(a, chunks=1) @ la.from_array(b, chunks=1)).compute()
    assert_same(got, sum_of_products(a, b))
