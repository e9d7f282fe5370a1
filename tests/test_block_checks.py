"""A task that returns a block of the wrong kind is refused with a clear error,
in the embedded runner too: assembling would broadcast or cast it silently."""

from __future__ import annotations

import numpy as np
import pytest

import lamina.array as la
from lamina.array.core import Array
from lamina.client.futures import ResultError
from lamina.compute import compute_blocks
from lamina.layers.sources import SourceLayer


class _Returning(SourceLayer):
    """A (3,)-block source whose kernel returns ``kind`` instead of its block."""

    _parameters = ("in_chunks", "kind")

    def _meta(self):
        return self.in_chunks, np.dtype(np.float64)

    def kernel(self):
        kind, region = self.kind, self.block_region

        def run(block, inputs):
            n = region(block)[0].stop - region(block)[0].start
            return {"short": np.zeros(n - 1), "list": [0.0] * n, "int": np.zeros(n, dtype=int),
                    "scalar": 1.0, "good": np.arange(float(n))}[kind]

        return run


def wrong(kind: str) -> Array:
    return Array(_Returning(((3, 3),), kind))


@pytest.mark.parametrize("kind, problem", [
    ("short", r"an array of shape \(2,\), not \(3,\)"),
    ("list", "list .*not an array of float64"),
    ("int", "an array of dtype int64, not float64"),
    ("scalar", "float 1.0, not an array of float64"),
])
def test_a_block_of_the_wrong_kind_is_refused_when_assembled(kind, problem):
    with pytest.raises(ResultError, match=rf"block \(0,\) of .*came back as {problem}: a task"):
        wrong(kind).compute()


@pytest.mark.parametrize("kind", ["short", "list", "int", "scalar"])
def test_compute_blocks_of_an_array_refuses_a_block_of_the_wrong_kind(kind):
    with pytest.raises(ResultError, match="came back as"):
        compute_blocks(wrong(kind))


def test_compute_blocks_of_a_layer_hands_back_what_its_kernel_made():
    (blocks,) = compute_blocks(wrong("list").layer)
    assert blocks == [[0.0] * 3] * 2


def test_right_blocks_pass_the_check():
    np.testing.assert_array_equal(wrong("good").compute(), [0, 1, 2, 0, 1, 2])
    (blocks,) = compute_blocks(la.from_array(np.arange(6.0), chunks=4))
    assert [b.tolist() for b in blocks] == [[0, 1, 2, 3], [4, 5]]
