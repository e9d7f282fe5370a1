"""Spilled arrays are compressed with LZ4 where that saves space, and still
come back bit for bit, writable, in any dtype and layout."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lamina.worker.store import COMPRESS_MIN_BYTES, BlockStore

BIG = COMPRESS_MIN_BYTES // 8 * 4


def spilled(value):
    """``value`` stored, pushed to disk, and its spill file; then read back."""
    store = BlockStore(memory_limit=1)
    store[0] = value
    store[1] = 0
    (name,) = store.spill_files()
    path = os.path.join(store.info()["spill_directory"], name)
    size = os.path.getsize(path)
    return store[0], path, size


@pytest.mark.parametrize("value", [
    np.zeros((BIG // 100, 100)),
    np.arange(BIG, dtype=np.int64).reshape(-1, 8)[:, ::2],        # non-contiguous view
    np.asfortranarray(np.tile(np.arange(64, dtype=">f4"), (BIG // 64, 1))),
    np.array([np.nan, -0.0, np.inf, 1.5] * BIG),
    np.zeros(BIG, dtype=[("a", "i4"), ("b", "f2")]),
    np.datetime64("2024-01-02") + np.zeros(BIG, dtype="m8[D]"),
    np.random.default_rng(0).integers(0, 3, size=BIG * 4, dtype=np.uint8),  # 2-bit-like codes
])
def test_compressible_arrays_spill_smaller_and_come_back_bit_for_bit(value):
    back, path, size = spilled(value)
    assert path.endswith(".lz4") and size < 0.8 * value.nbytes
    assert back.dtype == value.dtype and back.shape == value.shape
    assert back.tobytes() == np.ascontiguousarray(value).tobytes()
    assert back.flags.writeable


def test_random_floats_are_written_raw():
    value = np.random.default_rng(0).random(BIG)
    back, path, size = spilled(value)
    assert path.endswith(".npy") and size >= value.nbytes
    assert back.tobytes() == value.tobytes()


def test_small_arrays_are_written_raw():
    back, path, _ = spilled(np.zeros(16))
    assert path.endswith(".npy") and back.tolist() == [0.0] * 16
