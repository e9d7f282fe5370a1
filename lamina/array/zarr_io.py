"""Read and write zarr v3 arrays block by block.

    x = from_zarr("data.zarr", component="genotypes")        # blocks = zarr chunks
    x = from_zarr("data.zarr", chunks=(10_000, -1), component="genotypes")
    to_zarr(x * 2, "out.zarr", component="doubled")          # writes now, returns None
    flags = to_zarr(x, "out.zarr", compute=False)            # lazy: one flag per block
    flags.compute().all()

Reading is lazy and reads only the blocks a computation needs. Writing
creates the zarr array (chunks default to the array's block size) when
``to_zarr`` is called, and one task per block writes its region; blocks
that would share a zarr chunk (or shard) are first rechunked to whole
chunks, since two tasks writing parts of one chunk would lose data.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.chunks import normalize_chunks, offsets
from lamina.layers.zarr_io import FromZarr, StoreZarr, ZarrByIdentity, metadata_token

__all__ = ["from_zarr", "to_zarr"]


def from_zarr(url_or_array: Any, chunks: Any = None, component: str | None = None,
              storage_options: dict | None = None) -> Array:
    """A lazy Array over a zarr array (a path or URL, a ``zarr.Array`` or ``zarr.Group``).

    ``chunks`` defaults to the zarr array's shards, else its chunks; any
    other chunking reads each block's region, touching the zarr chunks under
    it. ``component`` is the array's path inside the store or group.
    """
    import zarr

    options = _options(storage_options)
    if isinstance(url_or_array, zarr.Group):
        if component is None:
            raise ValueError("from_zarr was given a zarr group: name the array with component=")
        url_or_array = url_or_array[component]
        if not isinstance(url_or_array, zarr.Array):
            raise ValueError(f"component {component!r} of the group is a group, not an array")
    if isinstance(url_or_array, zarr.Array):
        array = url_or_array
        source, component = _plain_source(array)
    else:
        source = _url(url_or_array)
        array = zarr.open_array(store=source, path=component or "", mode="r",
                                **({"storage_options": dict(options)} if options else {}))
    dtype = np.dtype(array.dtype)
    if dtype.hasobject:
        raise TypeError(f"zarr arrays of dtype {dtype} are not supported: give a numeric array")
    shape = tuple(int(s) for s in array.shape)
    if chunks is None:
        chunks = tuple(array.shards or array.chunks)
    layer = FromZarr(source, component, metadata_token(array),
                     normalize_chunks(chunks, shape, dtype), dtype, options)
    return Array(layer)


def to_zarr(x: Any, url: Any, component: str | None = None, overwrite: bool = False,
            compute: bool = True, storage_options: dict | None = None,
            **create_kwargs: Any) -> Array | None:
    """Write ``x`` to a zarr v3 array, block by block.

    ``url`` is a path or URL where a new array is created (``component``
    names it inside the store; ``overwrite=True`` replaces what is there),
    or an existing ``zarr.Array`` of the same shape to write into.
    ``create_kwargs`` go to ``zarr.create_array``: ``chunks`` (default: the
    block size of ``x``), ``shards``, ``compressors``, ``filters``,
    ``serializer``, ``fill_value``, ``attributes``, ``dimension_names``...

    With ``compute=True`` the blocks are written now and None is returned;
    with ``compute=False`` a lazy boolean Array with one ``True`` per written
    block is returned, and computing it writes the blocks.
    """
    import zarr

    from lamina.array.creation import asarray

    x = asarray(x)
    options = _options(storage_options)
    if isinstance(url, zarr.Array):
        if create_kwargs or overwrite or component is not None:
            raise ValueError(
                "to_zarr into an existing zarr.Array takes no component, overwrite or "
                "creation options: give a path or URL to create a new array"
            )
        array = url
        if tuple(array.shape) != x.shape:
            raise ValueError(
                f"zarr array of shape {tuple(array.shape)} cannot hold an array of shape "
                f"{x.shape}: create one of the same shape"
            )
        target: Any = ZarrByIdentity(array)
    else:
        target = _url(url)
        zarr_chunks = create_kwargs.pop("chunks", None)
        if zarr_chunks is None:
            zarr_chunks = tuple(max(size, 1) for size in x.chunksize)
        try:
            array = zarr.create_array(store=target, name=component, shape=x.shape,
                                      dtype=x.dtype, chunks=zarr_chunks, overwrite=overwrite,
                                      storage_options=dict(options) or None, **create_kwargs)
        except zarr.errors.ContainsArrayError as error:
            error.add_note("pass overwrite=True to replace it")
            raise
    x = align_to_grid(x, tuple(array.shards or array.chunks))
    flags = Array(StoreZarr(x.layer, target, component, metadata_token(array), options))
    if not compute:
        return flags
    flags.compute()
    return None


def align_to_grid(x: Array, grid: tuple[int, ...]) -> Array:
    """``x`` rechunked where its blocks would split a chunk of ``grid``.

    Along an axis whose inner block boundaries are all multiples of the
    grid's chunk size, the blocks are kept; elsewhere they become a regular
    multiple of it, close to the current block size.
    """
    new = []
    changed = False
    for sizes, unit in zip(x.chunks, grid):
        inner = offsets(sizes)[1:-1]
        if bool(np.all(inner % unit == 0)):
            new.append(sizes)
            continue
        changed = True
        new.append(max(int(round(max(sizes) / unit)), 1) * unit)
    if not changed:
        return x
    return x.rechunk(normalize_chunks(tuple(new), x.shape, x.dtype))


def _url(value: Any) -> str:
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise TypeError(
        f"expected a path, a URL or a zarr.Array, got {type(value).__name__}: open the store "
        "with zarr.open_array and pass the array"
    )


def _plain_source(array: Any) -> tuple[Any, str | None]:
    """A local directory's path and the array's path in it, else the array itself."""
    from zarr.storage import LocalStore

    if isinstance(array.store, LocalStore):
        return str(array.store.root), array.path or None
    return ZarrByIdentity(array), None


def _options(storage_options: dict | None) -> tuple:
    return tuple(sorted((storage_options or {}).items()))
