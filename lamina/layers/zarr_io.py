"""Zarr v3 layers: read blocks from a zarr array, write blocks to one.

``FromZarr`` reads block ``i`` as ``zarr_array[region_of_block_i]``, so a
computation that needs some blocks reads only the zarr chunks under them.
``StoreZarr`` writes each block of its input into its region and returns a
one-element ``True`` flag per block::

    FromZarr("data.zarr", "genotypes", meta, ((1000,) * 10, (500,) * 4), np.int8)
    StoreZarr(layer, "out.zarr", None, meta)

Given a path or URL, a layer holds it as a plain string (cheap to tokenize,
the same in every process) and opens the array in the kernel, once per
process: the open arrays are cached by (url, component, metadata token,
storage options, mode). The metadata token (``metadata_token``) changes
when the array is recreated with another layout, so a cached handle is
never used for an array that has since changed shape, chunks or codecs.
A ``zarr.Array`` object not backed by a local directory is held as is and
named by identity.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.chunks import offsets
from lamina.layers.registry import trusted
from lamina.layers.sources import SourceLayer
from lamina.tokenize import identity_token, tokenize

_OPEN: dict[str, Any] = {}
_OPEN_LOCK = threading.Lock()
_OPEN_LIMIT = 128


class ZarrByIdentity:
    """Operand form of a ``zarr.Array`` object: named by ``identity_token``
    (the object's own name while it lives, never reused by a later one)."""

    __slots__ = ("value", "_token")

    def __init__(self, value: Any, token: str | None = None) -> None:
        self.value = value
        self._token = token or tokenize("zarr", identity_token(value), tuple(value.shape),
                                        str(value.dtype))

    def __reduce__(self) -> tuple:
        return (ZarrByIdentity, (self.value, self._token))


def metadata_token(array: Any) -> str:
    """Token of a zarr array's layout (shape, dtype, chunks, codecs), not its attributes."""
    meta = dict(array.metadata.to_dict())
    meta.pop("attributes", None)
    return tokenize(json.dumps(meta, sort_keys=True, default=str))


def open_array(source: Any, component: str | None, meta_token: str,
               storage_options: tuple, mode: str) -> Any:
    """The zarr array a layer names, opened once per process and cached."""
    if isinstance(source, ZarrByIdentity):
        return source.value
    key = tokenize(source, component, meta_token, storage_options, mode)
    array = _OPEN.get(key)
    if array is None:
        import zarr

        options = {"storage_options": dict(storage_options)} if storage_options else {}
        array = zarr.open_array(store=source, path=component or "", mode=mode, **options)
        with _OPEN_LOCK:
            if len(_OPEN) >= _OPEN_LIMIT:
                _OPEN.pop(next(iter(_OPEN)))
            _OPEN[key] = array
    return array


@trusted(version=1)
class FromZarr(SourceLayer):
    """Blocks read from a zarr array, each with one ``array[region]``."""

    _parameters = ("source", "component", "meta_token", "in_chunks", "out_dtype",
                   "storage_options")
    _defaults = {"storage_options": ()}

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def label(self) -> str:
        return "FromZarr"

    def kernel(self) -> Kernel:
        args = (self.source, self.component, self.meta_token, self.storage_options, "r")
        region = self.block_region
        dtype = self.dtype

        def run(block: int, inputs: list) -> Any:
            array = open_array(*args)
            return np.asarray(array[region(block)], dtype=dtype)

        return run


@trusted(version=1)
class StoreZarr(Layer):
    """Write each block of ``x`` into its region of a zarr array.

    Output block ``i`` is a ``True`` flag of shape ``(1,) * ndim``, so the
    output has one element per block of ``x``. Blocks of ``x`` must not
    share a zarr chunk (or shard): two tasks writing parts of one chunk
    would overwrite each other's data.
    """

    _parameters = ("x", "target", "component", "meta_token", "storage_options")
    _defaults = {"storage_options": ()}

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return tuple((1,) * n for n in self.x.numblocks), np.dtype(bool)

    def label(self) -> str:
        return "StoreZarr"

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        args = (self.target, self.component, self.meta_token, self.storage_options, "r+")
        starts = [offsets(c).tolist() for c in self.x.chunks]
        index = self.block_index
        flag_shape = (1,) * self.ndim

        def run(block: int, inputs: list) -> Any:
            idx = index(block)
            region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))
            array = open_array(*args)
            array[region] = _to_host(inputs[0])
            return np.ones(flag_shape, dtype=bool)

        return run


def _to_host(value: Any) -> Any:
    if not isinstance(value, np.ndarray) and hasattr(value, "get"):
        return value.get()
    return value
