"""xarray's chunk manager for lamina: ``chunked_array_type="lamina"``.

    ds = xr.open_zarr("climate.zarr", chunked_array_type="lamina", chunks={})
    anomalies = ds.tas.groupby("time.month") - ds.tas.groupby("time.month").mean()
    anomalies.to_zarr("anomalies.zarr")          # lamina computes and writes

xarray finds ``LaminaChunkManager`` through the ``xarray.chunkmanagers``
entry point (pyproject.toml). Everything xarray does to the arrays
elementwise, by indexing or by NumPy reductions goes through lamina Arrays'
NumPy protocols; this class answers what xarray asks a chunked-array
library by name: chunking, computing, storing, ``apply_ufunc``'s
generalized ufuncs, and general reductions.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint

from lamina.array.core import Array

AUTO_CHUNK_BYTES = 128 * 2**20


class LaminaChunkManager(ChunkManagerEntrypoint):
    """What xarray needs of a chunked-array library, answered with lamina."""

    available = True

    def __init__(self) -> None:
        self.array_cls = Array

    def is_chunked_array(self, data: Any) -> bool:
        return isinstance(data, Array)

    def chunks(self, data: Array) -> tuple[tuple[int, ...], ...]:
        return data.chunks

    def normalize_chunks(self, chunks: Any, shape: tuple[int, ...] | None = None,
                         limit: int | None = None, dtype: Any = None,
                         previous_chunks: Any = None) -> tuple[tuple[int, ...], ...]:
        from lamina.layers.chunks import normalize_chunks

        if shape is None:
            if isinstance(chunks, tuple) and all(isinstance(c, tuple) for c in chunks):
                return chunks
            raise ValueError(f"chunks {chunks!r} need the array's shape to be normalized")
        if isinstance(chunks, tuple):  # xarray gives None or -1 for whole axes
            chunks = tuple(-1 if c is None else c for c in chunks)
        return normalize_chunks(chunks, shape, dtype if dtype is not None else np.float64)

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Array:
        import lamina.array as la

        if isinstance(data, Array):
            return data.rechunk(chunks)
        if isinstance(chunks, tuple) and any(s == 0 for s in data.shape):
            chunks = tuple(-1 for _ in data.shape)
        return la.from_array(_Indexable(data) if not hasattr(data, "nbytes") else data,
                             chunks=self.normalize_chunks(chunks, data.shape, None,
                                                          data.dtype))

    def rechunk(self, data: Array, chunks: Any, **kwargs: Any) -> Array:
        if isinstance(chunks, dict):
            chunks = tuple(chunks.get(i, data.chunks[i]) for i in range(data.ndim))
        return data.rechunk(self.normalize_chunks(chunks, data.shape, None, data.dtype))

    def compute(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        import lamina

        return lamina.compute(*data)

    def persist(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        import lamina

        return lamina.persist(*data)

    @property
    def array_api(self) -> Any:
        import lamina.array

        return lamina.array

    def get_auto_chunk_size(self) -> int:
        return AUTO_CHUNK_BYTES

    def reduction(self, arr: Array, func: Callable, combine_func: Callable | None = None,
                  aggregate_func: Callable | None = None, axis: Any = None, dtype: Any = None,
                  keepdims: bool = False) -> Array:
        """``func`` on every block (keeping the reduced axes), then ``aggregate_func``
        on the reduced axes gathered into one block."""
        import lamina.array as la

        axes = tuple(range(arr.ndim)) if axis is None else tuple(
            a % arr.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        dtype = np.dtype(dtype) if dtype is not None else arr.dtype
        per_block = la.map_blocks(_Keepdims(func, axes), arr, dtype=dtype,
                                  chunks=tuple((1,) * len(c) if i in axes else c
                                               for i, c in enumerate(arr.chunks)))
        whole = per_block.rechunk({a: -1 for a in axes})
        final = aggregate_func or func
        out_chunks = tuple((1,) if i in axes else c for i, c in enumerate(whole.chunks))
        reduced = la.map_blocks(_Keepdims(final, axes), whole, dtype=dtype, chunks=out_chunks)
        if keepdims:
            return reduced
        return reduced[tuple(0 if i in axes else slice(None) for i in range(arr.ndim))]

    def scan(self, func: Callable, binop: Callable, ident: float, arr: Array,
             axis: int | None = None, dtype: Any = None, **kwargs: Any) -> Array:
        """A cumulative reduction along ``axis`` (xarray's ``ffill``, ``bfill``,
        ``cumsum``): ``func`` scans each block, then each block is combined with
        ``binop`` with the last values carried from the blocks before it."""
        import lamina.array as la

        axis = 0 if axis is None else axis % arr.ndim
        dtype = np.dtype(dtype) if dtype is not None else arr.dtype
        scanned = la.map_blocks(_Along(func, axis), arr, dtype=dtype)
        starts = np.concatenate([[0], np.cumsum(arr.chunks[axis])]).tolist()
        parts: list[Array] = []
        for start, stop in zip(starts[:-1], starts[1:]):
            part = scanned[(slice(None),) * axis + (slice(start, stop),)]
            if parts:
                carry = parts[-1][(slice(None),) * axis + (slice(-1, None),)]
                part = la.map_blocks(_CarriedInto(binop), part, carry, dtype=dtype)
            parts.append(part)
        return la.concatenate(parts, axis=axis) if len(parts) > 1 else scanned

    def apply_gufunc(self, func: Callable, signature: str, *args: Any, axes: Any = None,
                     axis: Any = None, keepdims: bool = False, output_dtypes: Any = None,
                     output_sizes: dict[str, int] | None = None, vectorize: bool | None = None,
                     allow_rechunk: bool = False, meta: Any = None, **kwargs: Any) -> Any:
        """``func`` on aligned blocks whose core dimensions are whole (one block).

        Supported: one output, whose core dimensions are none (they are
        dropped) or those of the first input (kept in place).
        """
        from lamina.array.gufunc import apply_gufunc

        return apply_gufunc(func, signature, *args, output_dtypes=output_dtypes,
                            vectorize=vectorize, allow_rechunk=allow_rechunk, **kwargs)

    def map_blocks(self, func: Callable, *args: Any, dtype: Any = None, chunks: Any = None,
                   drop_axis: Any = None, new_axis: Any = None, **kwargs: Any) -> Array:
        import lamina.array as la

        kwargs.pop("meta", None)
        kwargs.pop("token", None)
        return la.map_blocks(func, *args, dtype=dtype, chunks=chunks, drop_axis=drop_axis,
                             new_axis=new_axis, **kwargs)

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        """Write each lamina array into its zarr target, block by block, together."""
        import lamina
        import lamina.array as la

        sources = sources if isinstance(sources, (list, tuple)) else [sources]
        targets = targets if isinstance(targets, (list, tuple)) else [targets]
        regions = kwargs.get("regions") or [None] * len(sources)
        flags = []
        for source, target, region in zip(sources, targets, regions):
            flags.append(la.to_zarr(source, _zarr_target(target, region, source.shape),
                                    compute=False))
        if kwargs.get("compute", True):
            lamina.compute(*flags)
            return None
        return flags


class _Indexable:
    """A lazily indexed backend array (xarray's) as a ``from_array`` source:
    each block reads only its region."""

    def __init__(self, array: Any) -> None:
        self.array, self.shape, self.dtype = array, tuple(array.shape), np.dtype(array.dtype)
        self.ndim = len(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __getitem__(self, index: Any) -> np.ndarray:
        return np.asarray(self.array[index])


class _Keepdims:
    """``func(block, axis=axes, keepdims=True)`` as a named callable (stable token)."""

    def __init__(self, func: Callable, axes: tuple[int, ...]) -> None:
        self.func, self.axes = func, axes

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return np.asarray(self.func(block, axis=self.axes, keepdims=True))


class _Along:
    """``func(block, axis=axis)`` as a named callable (stable token)."""

    def __init__(self, func: Callable, axis: int) -> None:
        self.func, self.axis = func, axis

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return np.asarray(self.func(block, axis=self.axis))


class _CarriedInto:
    """``binop(carry, block)`` called as ``(block, carry)``: ``map_blocks`` takes its
    block grid from the first argument, and the carry is one slice thick."""

    def __init__(self, binop: Callable) -> None:
        self.binop = binop

    def __call__(self, block: np.ndarray, carry: np.ndarray) -> np.ndarray:
        return np.asarray(self.binop(carry, block))


def _zarr_target(target: Any, region: Any, shape: Sequence[int]) -> Any:
    """The zarr array a source is written to; a region must be the whole array."""
    import zarr

    array = getattr(target, "_array", target)
    if not isinstance(array, zarr.Array):
        raise TypeError(f"lamina stores into zarr arrays; xarray gave {type(target).__name__}")
    whole = tuple(slice(0, n) for n in array.shape)
    if region is not None and tuple(_plain_slice(r, n) for r, n in zip(region, array.shape)) \
            != whole:
        raise NotImplementedError(f"writing into region {region} of a zarr array is not "
                                  "supported with lamina yet: write whole arrays")
    return array


def _plain_slice(s: slice, n: int) -> slice:
    start, stop, _ = s.indices(n)
    return slice(start, stop)
