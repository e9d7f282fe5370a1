"""Random blocks whose values depend only on a seed and the block index.

Block ``index`` of a ``RandomBlocks`` layer draws from its own bit
generator, seeded by ``SeedSequence(entropy, spawn_key=spawn_key + index)``,
so a block's values never depend on which thread computes it, in what
order, or on which worker::

    layer = RandomBlocks(42, (0,), "random", (), ((2, 2), (3,)), np.float64)
    layer.kernel()(1, [])        # the 2x3 block at index (1, 0)

``spawn_key`` tells apart successive draws from one ``lamina.random``
generator (each call takes the next key); ``kwargs`` are the scalar
arguments of the NumPy ``Generator`` method named by ``method``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Chunks, Kernel
from lamina.layers.registry import trusted
from lamina.layers.sources import SourceLayer


@trusted(version=1)
class RandomBlocks(SourceLayer):
    """Blocks drawn with ``np.random.Generator.<method>(size=block_shape, **kwargs)``."""

    _parameters = ("entropy", "spawn_key", "method", "kwargs", "in_chunks", "out_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def label(self) -> str:
        return f"RandomBlocks[{self.method}]"

    def kernel(self) -> Kernel:
        entropy, spawn_key, method = self.entropy, tuple(self.spawn_key), self.method
        kwargs = dict(self.kwargs)
        chunks = self.chunks
        index = self.block_index

        def run(block: int, inputs: list) -> Any:
            idx = index(block)
            seed = np.random.SeedSequence(entropy, spawn_key=spawn_key + idx)
            generator = np.random.Generator(np.random.PCG64(seed))
            shape = tuple(c[i] for c, i in zip(chunks, idx))
            return np.asarray(getattr(generator, method)(size=shape, **kwargs))

        return run
