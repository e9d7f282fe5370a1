"""The device (CuPy) paths of the SVD passes, checked without a GPU.

* ``device.row_pass`` run through NumPy equals the host kernels
  (``products.row_pass``) on 2-bit, int8 and float blocks with missing
  calls, uneven blocks and monomorphic rows;
* a stand-in ``cupy`` module (NumPy arrays of a subclass whose module is
  ``cupy``, an ``ElementwiseKernel`` that decodes in NumPy) takes a whole
  ``pca`` through the dispatch: the row pass, Krylov's small dense steps and
  TSQR stay on "the device" and give the host's answer;
* on a machine with CuPy and a GPU, the real thing against NumPy.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.linalg import device, products
from lamina.layers.linalg.packing import pack_2bit, unpack_2bit
from lamina.layers.linalg.payload import Packed2Bit
from lamina.linalg import patterson_reference, pca_result, tsqr


def codes(seed: int, m: int, n: int, rate: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < rate] = -1
    if m > 1:
        g[0] = 1  # a monomorphic row
    return g


def as_packed(g: np.ndarray) -> Packed2Bit:
    return Packed2Bit(pack_2bit(np.where(g < 0, 3, g).astype(np.uint8)), g.shape,
                      np.dtype(np.int8), True)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 30), widths=st.lists(
    st.integers(1, 13), min_size=1, max_size=3), form=st.sampled_from(["packed", "int8"]),
    scaler=st.sampled_from(["patterson", "center"]), with_stats=st.booleans())
def test_device_row_pass_equals_host_kernels(seed, m, widths, form, scaler, with_stats):
    g = codes(seed, m, sum(widths), 0.15)
    cuts = np.cumsum([0, *widths])
    blocks = [g[:, a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    payloads = [as_packed(b) if form == "packed" else b for b in blocks]
    rng = np.random.default_rng(seed)
    zs = [rng.standard_normal((w, 4)) for w in widths]
    stats = None
    if with_stats:
        stats = products.row_pass(payloads, zs, None, dtype=np.float64, scaler=scaler,
                                  want_y=False, want_w=False, pack=False)[2]
    options = dict(dtype=np.float64, scaler=scaler, want_y=True, want_w=True, pack=False)
    y, w, st_ = device.row_pass(payloads, zs, stats, **options)
    y0, w0, st0 = products.row_pass(payloads, zs, stats, **options)
    np.testing.assert_allclose(y, y0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(w, w0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(st_, st0, rtol=1e-12)
    if scaler == "patterson":  # and both equal the densely imputed reference
        np.testing.assert_allclose(y, patterson_reference(g) @ np.concatenate(zs), atol=1e-9)


def test_device_row_pass_without_scaling_reads_floats():
    x = np.random.default_rng(0).standard_normal((9, 7))
    z = np.random.default_rng(1).standard_normal((7, 3))
    y, w, _ = device.row_pass([x[:, :3], x[:, 3:]], [z[:3], z[3:]], None, dtype=np.float64,
                              scaler=None, want_y=True, want_w=True)
    np.testing.assert_allclose(y, x @ z)
    np.testing.assert_allclose(w, x.T @ (x @ z))


def test_device_row_pass_rejects_codes_above_two():
    g = np.array([[0, 1, 3]], dtype=np.int8)
    with pytest.raises(ValueError, match="0, 1 or 2"):
        device.row_pass([g], [np.ones((3, 1))], None, dtype=np.float64, scaler="patterson",
                        want_y=True, want_w=True)


# a stand-in cupy -----------------------------------------------------------

class FakeDeviceArray(np.ndarray):
    """A NumPy array that ``array_module`` takes for a CuPy array."""


FakeDeviceArray.__module__ = "cupy._core.core"


def on_fake(x):
    return np.asarray(x).view(FakeDeviceArray)


class FakeElementwiseKernel:
    """Records its launch and decodes the 2-bit codes as the CUDA source does."""

    launches: list = []

    def __init__(self, in_params, out_params, operation, name):
        assert "raw uint8 packed" in in_params and "T out" in out_params
        assert "packed[r * nbytes + c / 4]" in operation
        self.name = name

    def __call__(self, packed, cols, nbytes, missing_value, out):
        assert isinstance(packed, FakeDeviceArray) and isinstance(out, FakeDeviceArray)
        assert packed.shape == (out.shape[0], nbytes) and out.shape[1] == cols
        values = unpack_2bit(np.asarray(packed), cols).astype(out.dtype)
        if missing_value != 3:
            values[values == 3] = missing_value
        out[...] = values
        self.launches.append(out.shape)


def fake_cupy() -> types.ModuleType:
    mod = types.ModuleType("cupy")
    for name in ("concatenate", "isnan", "where", "ascontiguousarray"):
        setattr(mod, name, lambda *a, _f=getattr(np, name), **k: on_fake(_f(*a, **k)))
    mod.linalg = types.SimpleNamespace(
        solve=lambda a, b: on_fake(np.linalg.solve(a, b)))
    mod.asarray = lambda x, dtype=None: on_fake(np.asarray(x, dtype=dtype))
    mod.empty = lambda shape, dtype=float: on_fake(np.empty(shape, dtype=dtype))
    mod.ElementwiseKernel = FakeElementwiseKernel
    return mod


@pytest.fixture
def cupy_stand_in(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy())
    device._decode_kernel.cache_clear()
    FakeElementwiseKernel.launches.clear()
    yield
    device._decode_kernel.cache_clear()


def test_pca_of_device_blocks_stays_on_the_device(cupy_stand_in, monkeypatch):
    g = codes(3, 120, 40, 0.05)
    host = pca_result(la.from_array(g, chunks=(50, 40)), 3, seed=0)

    def host_kernel(*args, **kwargs):
        raise AssertionError("device blocks reached the host kernels")

    monkeypatch.setattr(products, "row_pass", host_kernel)
    packed = as_packed(g)
    device_block = Packed2Bit(on_fake(packed.data), packed.shape, packed.dtype, True)
    assert device.on_device(device_block) and not device.on_device(packed)
    decoded = device.decode(sys.modules["cupy"], device_block, np.float64, "patterson")
    assert FakeElementwiseKernel.launches == [(120, 40)]
    np.testing.assert_array_equal(np.isnan(decoded), g < 0)
    np.testing.assert_array_equal(np.where(g < 0, 0, g), np.nan_to_num(decoded))
    x = la.from_array(on_fake(g), chunks=(50, 40))
    result = pca_result(x, 3, seed=0)
    assert isinstance(result.v, FakeDeviceArray)
    assert result.passes == host.passes
    np.testing.assert_allclose(result.s, host.s, rtol=1e-10)
    np.testing.assert_allclose(result.v, host.v, atol=1e-10)


def test_tsqr_of_device_blocks_stays_on_the_device(cupy_stand_in):
    a = np.random.default_rng(2).standard_normal((70, 5))
    q, r = tsqr(la.from_array(on_fake(a), chunks=(20, 5)), split_every=2)
    q, r = q.compute(), r.compute()
    assert isinstance(q, FakeDeviceArray) and isinstance(r, FakeDeviceArray)
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-12)


def test_real_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy without a usable GPU
        pytest.skip(f"no GPU for CuPy: {exc}")
    g = codes(5, 3000, 200, 0.02)
    host = pca_result(la.from_array(g, chunks=(1000, 200)), 5, seed=0)
    gpu = pca_result(la.from_array(cupy.asarray(g), chunks=(1000, 200)), 5, seed=0)
    np.testing.assert_allclose(cupy.asnumpy(gpu.s), host.s, rtol=1e-8)
    packed = as_packed(g)
    decoded = device.decode_2bit(cupy, Packed2Bit(cupy.asarray(packed.data), packed.shape,
                                                  packed.dtype, True), np.float32, -1)
    np.testing.assert_array_equal(cupy.asnumpy(decoded), g.astype(np.float32))
