"""``Held``: an array whose blocks already sit in a cluster's workers' memory.

``client.persist(x)`` returns ``Array(Held(cluster, run, output, chunks,
dtype))``. The scheduler that made it knows where each block lives, so a
later computation on the same cluster reads those blocks in place::

    y = client.persist(x)          # blocks computed once, kept on workers
    client.compute(y.sum())        # reuses them, nothing is recomputed

Outside that cluster the blocks are out of reach, and the kernel says so.
"""

from __future__ import annotations

import numpy as np

from lamina.layers.base import Chunks, Kernel
from lamina.layers.registry import trusted
from lamina.layers.sources import SourceLayer


@trusted(version=1)
class Held(SourceLayer):
    """Output ``output`` of run ``run`` on cluster ``cluster``, kept in memory."""

    _parameters = ("cluster", "run", "output", "in_chunks", "out_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def label(self) -> str:
        return f"Held[run {self.run}]"

    def kernel(self) -> Kernel:
        cluster = self.cluster

        def run(block: int, inputs: list) -> None:
            raise RuntimeError(
                f"this array's blocks are held by the workers of cluster {cluster}: compute "
                "it with the Client that persisted it (inside `with client:`), or compute "
                "before closing that client")

        return run
