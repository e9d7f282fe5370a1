"""Brute-force block references shared by the layer dependency tests."""

import numpy as np


def block_ids(chunks: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """An array of the chunks' shape holding each element's flat block id."""
    ids = np.zeros([sum(c) for c in chunks], dtype=np.int64)
    for axis, sizes in enumerate(chunks):
        along = np.repeat(np.arange(len(sizes)), sizes)
        shape = [1] * len(chunks)
        shape[axis] = len(along)
        ids = ids * len(sizes) + along.reshape(shape)
    return ids
