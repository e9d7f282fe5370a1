"""Persist an array compressed, in memory or as zarr v3, and read it back fused.

    g2 = persist_compressed(g, codec="2bit")          # a quarter of uint8's memory
    gz = persist_compressed(g, codec="blosc")         # Blosc zstd + bit shuffle
    gd = persist_compressed(g, store="geno.zarr")     # zarr v3, same codec, on disk
    g3 = open_zarr("geno.zarr")                       # any zarr array, lazily

The returned ``Array`` decodes a block whenever an ordinary operation reads
it; the SVD passes instead take the encoded block and decode it inside
their own kernel, a slab at a time (2-bit) or once per use (Blosc, zarr),
so no task ever holds a decoded copy for another task.
"""

from __future__ import annotations

import os
from typing import Any

from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.compute import compute_blocks
from lamina.layers.chunks import normalize_chunks
from lamina.layers.file_stamps import tree_stamp
from lamina.layers.linalg.codecs import BLOSC_CLEVEL, zarr_blosc_codec
from lamina.layers.linalg.encode import EncodeBlocks, WriteZarr
from lamina.layers.linalg.sources import EncodedBlocks, ZarrBlocks
from lamina.layers.sources import hold_blocks

CODECS = ("2bit", "blosc")


def persist_compressed(a: Any, codec: str = "2bit", store: str | os.PathLike | None = None,
                       clevel: int = BLOSC_CLEVEL, nthreads: int | None = None) -> Array:
    """Compute ``a`` once and keep its blocks compressed; an ``Array`` over them.

    ``codec="2bit"`` packs codes 0..3 four per byte (``ValueError`` for other
    values); ``"blosc"`` uses Blosc zstd with bit shuffle. With ``store`` the
    blocks go to a new zarr v3 array there (Blosc) instead of memory.
    """
    a = asarray(a)
    if codec not in CODECS:
        raise ValueError(f"codec {codec!r} is not known: use '2bit' or 'blosc'")
    if store is not None:
        if codec != "blosc":
            raise ValueError("a zarr store holds Blosc-compressed blocks: use codec='blosc'")
        write_zarr(a, store, clevel=clevel, nthreads=nthreads)
        return open_zarr(store)
    (blocks,) = compute_blocks(EncodeBlocks(a.layer, codec, int(clevel)), nthreads=nthreads,
                               optimize_graph=False)
    return Array(EncodedBlocks(hold_blocks(blocks), a.chunks, a.dtype, codec, a.name))


def write_zarr(a: Any, store: str | os.PathLike, clevel: int = BLOSC_CLEVEL,
               nthreads: int | None = None) -> None:
    """Write ``a`` to a new zarr v3 array at ``store``: chunked like ``a``, Blosc zstd, bit shuffle.

    Every block of ``a`` except the last along each axis must have the same
    size (zarr chunks are regular): rechunk first otherwise.
    """
    import zarr

    a = asarray(a)
    for axis, sizes in enumerate(a.chunks):
        if len(sizes) > 1 and (len(set(sizes[:-1])) > 1 or sizes[-1] > sizes[0]):
            raise ValueError(
                f"chunks {sizes} on axis {axis} are not regular: zarr needs equal chunks "
                "(the last may be smaller); rechunk the array first"
            )
    url = os.fspath(store)
    zarr.create_array(url, shape=a.shape, chunks=tuple(max(c[0], 1) for c in a.chunks),
                      dtype=a.dtype, compressors=zarr_blosc_codec(clevel), overwrite=True)
    compute_blocks(WriteZarr(a.layer, url), nthreads=nthreads, optimize_graph=False)


def open_zarr(store: str | os.PathLike, chunks: Any = None) -> Array:
    """A lazy ``Array`` over a zarr array; each block is read by the kernel that uses it.

    ``chunks`` defaults to the zarr chunks (blocks aligned with them read
    each stored chunk once).
    """
    import zarr

    url = os.fspath(store)
    arr = zarr.open_array(url, mode="r")
    chunks = normalize_chunks(chunks if chunks is not None else arr.chunks, arr.shape, arr.dtype)
    return Array(ZarrBlocks(url, chunks, arr.dtype, tree_stamp(url)))
