"""The fused 2-bit kernels equal dense products: random codes, every code mapping
(plain, genotype with missing calls, PLINK's bytes), odd sample counts (the last
byte partly used), small tiles, special values; and the pass products give the
same results through them as through unpacking and the BLAS."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.layers.linalg import fused, products
from lamina.layers.linalg.fused import (
    CODE_VALUES,
    GENOTYPE_VALUES,
    PLINK_VALUES,
    packed_gty,
    packed_gz,
)
from lamina.layers.linalg.packing import pack_2bit
from lamina.layers.linalg.payload import Packed2Bit
from lamina.layers.linalg.scaling import patterson_reference

MAPPINGS = {"codes": CODE_VALUES, "genotypes": GENOTYPE_VALUES, "plink": PLINK_VALUES}
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]


def dense(codes: np.ndarray, values: tuple) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)[codes]


def elementwise_gz(g: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``g @ z`` term by term, so that 0 * inf is NaN as IEEE says (no BLAS shortcuts)."""
    return (g[:, :, None] * z[None, :, :]).sum(axis=1)


def operand(rng: np.random.Generator, shape: tuple, special: bool) -> np.ndarray:
    x = rng.standard_normal(shape)
    if special and x.size:
        where = rng.random(shape) < 0.1
        x[where] = rng.choice(SPECIAL, size=int(where.sum()))
    return x


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 70), n=st.integers(1, 45),
       l=st.integers(1, 27), mapping=st.sampled_from(sorted(MAPPINGS)),
       dtype=st.sampled_from([np.float32, np.float64]), tile=st.sampled_from([None, 1, 2, 5]),
       chunk=st.sampled_from([None, 1, 7]), groups=st.sampled_from([None, 1, 2, 3, 40]),
       special=st.booleans())
def test_fused_products_equal_the_dense_ones(seed, m, n, l, mapping, dtype, tile, chunk,
                                             groups, special):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(m, n)).astype(np.uint8)
    g = dense(codes, MAPPINGS[mapping])
    z = operand(rng, (n, l), special).astype(dtype)
    y = operand(rng, (m, l), special).astype(dtype)
    packed = pack_2bit(codes)
    gz = packed_gz(packed, n, z, MAPPINGS[mapping], tile=tile, chunk=chunk)
    gty = packed_gty(packed, n, y, MAPPINGS[mapping], groups=groups)
    assert gz.shape == (m, l) and gz.dtype == dtype
    assert gty.shape == (n, l) and gty.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    scale_z = np.nan_to_num(np.abs(g) @ np.abs(np.nan_to_num(z, posinf=0, neginf=0)))
    scale_y = np.nan_to_num(np.abs(g).T @ np.abs(np.nan_to_num(y, posinf=0, neginf=0)))
    np.testing.assert_allclose(gz, elementwise_gz(g, z.astype(np.float64)), rtol=rtol,
                               atol=rtol * (scale_z.max(initial=0) + 1))
    np.testing.assert_allclose(gty, elementwise_gz(g.T, y.astype(np.float64)), rtol=rtol,
                               atol=rtol * (scale_y.max(initial=0) + 1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 300), n=st.integers(1, 90),
       l=st.integers(1, 21))
def test_float32_products_of_integers_are_exact(seed, m, n, l):
    """Integer operands under the 2**24 bound: float32 tables and buckets lose nothing."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(m, n)).astype(np.uint8)
    g = dense(codes, CODE_VALUES)
    z = rng.choice([-1.0, 1.0], size=(n, l))
    y = rng.integers(-50, 51, size=(m, l)).astype(np.float64)
    packed = pack_2bit(codes)
    np.testing.assert_array_equal(packed_gz(packed, n, z, dtype=np.float32), g @ z)
    np.testing.assert_array_equal(packed_gty(packed, n, y, dtype=np.float32), g.T @ y)


def test_bad_operands_are_named():
    packed = pack_2bit(np.zeros((3, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="bytes per row"):
        packed_gz(packed, 13, np.ones((13, 2)))
    with pytest.raises(ValueError, match="z must be 10 x l"):
        packed_gz(packed, 10, np.ones((9, 2)))
    with pytest.raises(ValueError, match="y must have 3 rows"):
        packed_gty(packed, 10, np.ones((4, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        packed_gz(packed, 10, np.ones((10, 2)), dtype=np.int64)
    with pytest.raises(TypeError, match="2-D uint8"):
        packed_gz(packed.astype(np.int16), 10, np.ones((10, 2)))


def genotype_block(seed: int, m: int, n: int, rate: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < rate] = -1
    g[0] = -1                                   # a row with no call
    return g


def as_payload(g: np.ndarray) -> Packed2Bit:
    codes = np.where(g < 0, 3, g).astype(np.uint8)
    return Packed2Bit(pack_2bit(codes), g.shape, np.dtype(np.int8), True)


def run_pass(payloads: list, zs: list, stats, fused_on: bool, monkeypatch) -> tuple:
    monkeypatch.setattr(fused, "MIN_ROWS", 0 if fused_on else 10**9)
    return products.row_pass(payloads, zs, stats, dtype=np.float64, scaler="patterson",
                             want_y=True, want_w=True, pack=False)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(2, 90), n=st.integers(1, 41),
       cut=st.integers(0, 41), rate=st.sampled_from([0.0, 0.05, 0.5]),
       l=st.integers(1, 12))
def test_pass_products_agree_with_the_blas_path_and_the_reference(seed, m, n, cut, rate, l):
    """``Y = Â Z`` and ``Âᵀ Y`` with missing calls imputed, one or two column blocks
    (uneven, odd widths), through the fused kernels and through the BLAS."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        g = genotype_block(seed, m, n, rate)
        cut = min(cut, n - 1) if n > 1 else 0
        bounds = [0, cut, n] if 0 < cut < n else [0, n]
        payloads = [as_payload(g[:, a:b]) for a, b in zip(bounds, bounds[1:])]
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, l))
        zs = [z[a:b] for a, b in zip(bounds, bounds[1:])]
        y1, w1, st1 = run_pass(payloads, zs, None, True, monkeypatch)
        y0, w0, st0 = run_pass(payloads, zs, None, False, monkeypatch)
        a = patterson_reference(g)
        np.testing.assert_allclose(y1, a @ z, atol=1e-9)
        np.testing.assert_allclose(w1, a.T @ (a @ z), atol=1e-8)
        np.testing.assert_allclose(y1, y0, atol=1e-10)
        np.testing.assert_allclose(w1, w0, atol=1e-9)
        np.testing.assert_allclose(st1, st0, atol=1e-12)
        y2, w2, _ = run_pass(payloads, zs, st1, True, monkeypatch)
        np.testing.assert_allclose(y2, a @ z, atol=1e-9)
        np.testing.assert_allclose(w2, a.T @ (a @ z), atol=1e-8)


def test_large_blocks_take_the_fused_path():
    data = np.zeros((fused.MIN_ROWS, 3), dtype=np.uint8)
    assert fused.use_fused(data, fused.MIN_ROWS, 20, np.float64)
    assert not fused.use_fused(data, fused.MIN_ROWS - 1, 20, np.float64)
    assert not fused.use_fused(data, fused.MIN_ROWS, fused.MAX_WIDTH + 1, np.float64)


class Blocks:
    """A source whose blocks a pass kernel loads itself (as generated or zarr blocks are)."""

    def __init__(self, blocks: list) -> None:
        self.blocks = blocks

    def load_block(self, block: int) -> np.ndarray:
        return self.blocks[block]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 60), n1=st.integers(1, 23),
       n2=st.integers(1, 23), l=st.integers(1, 9), signs=st.booleans())
def test_loaded_blocks_are_multiplied_from_their_packed_copy(seed, m, n1, n2, l, signs):
    """A row of loaded uint8 blocks kept packed for ``Aᵀ Y`` gives the dense products
    whichever kernel reads it (signs: the float32-exact first pass)."""
    from lamina.layers.linalg.payload import BlockRef

    rng = np.random.default_rng(seed)
    g = rng.integers(0, 4, size=(m, n1 + n2)).astype(np.uint8)
    source = Blocks([g[:, :n1].copy(), g[:, n1:].copy()])
    z = rng.choice([-1.0, 1.0], size=(n1 + n2, l)) if signs \
        else rng.standard_normal((n1 + n2, l))
    expected_y = g.astype(np.float64) @ z
    with pytest.MonkeyPatch.context() as monkeypatch:
        for on in (True, False):
            monkeypatch.setattr(fused, "MIN_ROWS", 0 if on else 10**9)
            y, w, _ = products.row_pass([BlockRef(source, 0), BlockRef(source, 1)],
                                        [z[:n1], z[n1:]], None, dtype=np.float64,
                                        scaler=None, want_y=True, want_w=True, pack=True)
            np.testing.assert_allclose(y, expected_y, rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(w, g.T.astype(np.float64) @ expected_y, rtol=1e-12,
                                       atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(0, 13), n=st.integers(1, 90),
       l=st.integers(1, 7), rate=st.sampled_from([0.0, 0.02, 0.3, 1.0]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_missing_call_sums_read_from_the_bytes_equal_the_dense_ones(seed, m, n, l, rate,
                                                                     dtype):
    """``M z`` and ``Mᵀ (s ∘ y)`` by the byte scan (eight bytes at a time, then the
    tail) against the dense 0/1 matrix of missing calls."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, size=(m, n)).astype(np.uint8)
    codes[rng.random((m, n)) < rate] = 3
    missing = (codes == 3).astype(np.float64)
    packed = pack_2bit(codes)
    z = rng.standard_normal((n, l)).astype(dtype)
    y = rng.standard_normal((m, l)).astype(dtype)
    scale = rng.random(m).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    got = fused.packed_missing_gz(packed, n, z)
    assert got.shape == (m, l) and got.dtype == dtype
    np.testing.assert_allclose(got, missing @ z.astype(np.float64), rtol=rtol, atol=rtol * n)
    out = np.ones((n, l), dtype=dtype)
    fused.add_packed_missing_gty(out, packed, n, scale, y)
    want = 1 + missing.T @ (scale[:, None] * y).astype(np.float64)
    np.testing.assert_allclose(out, want, rtol=rtol, atol=rtol * (m + 1))
