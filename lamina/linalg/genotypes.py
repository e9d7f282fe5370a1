"""A genotype-like demo matrix: variants x samples, codes 0/1/2 as uint8.

    g = genotype_matrix((200_000, 20_000), chunks=(20_000, 5_000), seed=0)

How the values are drawn is described with its source layer,
``lamina.layers.linalg.genotypes.GenotypeBlocks``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.chunks import normalize_chunks
from lamina.layers.linalg.genotypes import GenotypeBlocks


def genotype_matrix(shape: tuple[int, int], chunks: Any = (20_000, 5_000), seed: int = 0,
                    n_populations: int = 4, fst: float = 0.1) -> Array:
    """The demo genotype matrix as a lazy uint8 ``Array`` (see ``GenotypeBlocks``)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2:
        raise ValueError(f"a genotype matrix is 2-D (variants x samples), got shape {shape}")
    if n_populations < 1:
        raise ValueError(f"n_populations must be at least 1, got {n_populations}")
    if not 0 < fst < 1:
        raise ValueError(f"fst must be between 0 and 1 (exclusive), got {fst}")
    return Array(GenotypeBlocks(shape, normalize_chunks(chunks, shape, np.uint8), int(seed),
                                int(n_populations), float(fst)))
