"""The ``Array`` collection: a thin, NumPy-like handle on a layer.

An ``Array`` holds one layer and nothing else. Every method builds a new
layer (the logic lives in ``lamina/layers``); ``compute`` lowers it to
integer tasks and runs them on the embedded runner::

    import lamina.array as la
    x = la.ones((1000, 1000), chunks=100)
    y = ((x + 1) * 2).sum()
    y.compute()            # 4000000.0
    np.sum(x)              # stays lazy: an Array
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from lamina.layers.base import Layer


class Array:
    """A chunked, lazily evaluated N-dimensional array."""

    __slots__ = ("layer",)
    __array_priority__ = 20

    def __init__(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"Array wraps a Layer, got {type(layer).__name__}")
        self.layer = layer

    # metadata -------------------------------------------------------------
    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        return self.layer.chunks

    @property
    def shape(self) -> tuple[int, ...]:
        return self.layer.shape

    @property
    def dtype(self) -> np.dtype:
        return self.layer.dtype

    @property
    def ndim(self) -> int:
        return self.layer.ndim

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def numblocks(self) -> tuple[int, ...]:
        return self.layer.numblocks

    @property
    def npartitions(self) -> int:
        return self.layer.nblocks

    @property
    def chunksize(self) -> tuple[int, ...]:
        return tuple(max(c) if c else 0 for c in self.chunks)

    @property
    def name(self) -> str:
        return self.layer.name

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self) -> str:
        from lamina.layers.walk import topological

        layers = topological([self.layer])
        tasks = sum(layer.nblocks for layer in layers)
        return (
            f"lamina.Array<shape={self.shape}, dtype={self.dtype}, "
            f"chunksize={self.chunksize}, layers={len(layers)}, tasks={tasks}>"
        )

    def __bool__(self) -> bool:
        return bool(self.compute())

    def __int__(self) -> int:
        return int(self.compute())

    def __float__(self) -> float:
        return float(self.compute())

    def __complex__(self) -> complex:
        return complex(self.compute())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer arrays can be used as an index, not {self.dtype}")
        return int(self.compute())

    # Array API -------------------------------------------------------------
    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        """The Array API namespace of this array: ``lamina.array``."""
        import lamina.array

        if api_version not in (None, "2021.12", "2022.12", "2023.12"):
            raise ValueError(f"unsupported Array API version {api_version!r}: lamina.array "
                             "implements 2023.12")
        return lamina.array

    @property
    def device(self) -> str:
        return "cpu"

    def to_device(self, device: Any, /, *, stream: Any = None) -> "Array":
        """This array on ``device``; only ``"cpu"`` exists, so it is returned as it is."""
        from lamina.array.info import check_device

        check_device(device)
        return self

    @property
    def mT(self) -> "Array":
        """The matrix transpose: the last two axes swapped."""
        if self.ndim < 2:
            raise ValueError(f"mT needs at least 2 dimensions, got {self.ndim}")
        return self.swapaxes(-1, -2)

    def __setitem__(self, index: Any, value: Any) -> None:
        """Rebind this array to a new layer with ``value`` at ``index`` (see ``setitem``)."""
        from lamina.array.setitem import setitem

        self.layer = setitem(self, index, value).layer

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        """Compute and export the result through DLPack (NumPy's exporter)."""
        kwargs = {"dl_device": dl_device, "copy": copy}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if stream is not None:
            kwargs["stream"] = stream
        return np.asarray(self).__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU, device 0

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # execution ------------------------------------------------------------
    def compute(self, **kwargs: Any) -> Any:
        """Compute and return the result as a NumPy (or CuPy) array."""
        from lamina.compute import compute

        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Array":
        """Compute the blocks and keep them in memory, still chunked."""
        from lamina.compute import persist

        return persist(self, **kwargs)[0]

    def to_dask(self, optimize_graph: bool = True) -> Any:
        """This array as a Dask array with the same chunks, computed from
        lamina's plan by Dask's schedulers (``lamina.interop.to_dask``)."""
        from lamina.interop.dask_array import to_dask

        return to_dask(self, optimize_graph)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self.compute()
        if not isinstance(value, np.ndarray):
            value = np.asarray(value.get() if hasattr(value, "get") else value)
        return value.astype(dtype, copy=False) if dtype is not None else value

    # NumPy protocols -----------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from lamina.array.elementwise import array_ufunc

        return array_ufunc(ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from lamina.array.functions import array_function

        return array_function(func, types, args, kwargs)

    # elementwise -----------------------------------------------------------
    def astype(self, dtype: Any, casting: str = "unsafe", copy: bool = True) -> "Array":
        from lamina.array.elementwise import astype

        return astype(self, dtype, casting=casting, copy=copy)

    def __abs__(self) -> "Array":
        return np.absolute(self)

    def __neg__(self) -> "Array":
        return np.negative(self)

    def __pos__(self) -> "Array":
        return np.positive(self)

    def __invert__(self) -> "Array":
        return np.invert(self)

    def __matmul__(self, other: Any) -> "Array":
        from lamina.array.contraction import matmul

        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Array":
        from lamina.array.contraction import matmul

        return matmul(other, self)

    @property
    def T(self) -> "Array":
        return self.transpose()

    @property
    def real(self) -> "Array":
        return np.real(self)

    @property
    def imag(self) -> "Array":
        return np.imag(self)

    def conj(self) -> "Array":
        """The complex conjugate; a real array is returned as it is, like ``ndarray.conj``."""
        return np.conjugate(self) if self.dtype.kind == "c" else self

    conjugate = conj

    def map_blocks(self, func: Any, *args: Any, **kwargs: Any) -> "Array":
        from lamina.array.map_blocks import map_blocks

        return map_blocks(func, self, *args, **kwargs)

    def rechunk(self, chunks: Any) -> "Array":
        from lamina.array.manipulation import rechunk

        return rechunk(self, chunks)

    # structure (implemented in lamina.array.manipulation / slicing) ---------
    def __getitem__(self, index: Any) -> "Array":
        from lamina.array.slicing import getitem

        return getitem(self, index)

    def transpose(self, *axes: Any) -> "Array":
        from lamina.array.manipulation import transpose

        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return transpose(self, axes or None)

    def swapaxes(self, a: int, b: int) -> "Array":
        from lamina.array.manipulation import swapaxes

        return swapaxes(self, a, b)

    def reshape(self, *shape: Any) -> "Array":
        from lamina.array.manipulation import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def ravel(self) -> "Array":
        return self.reshape(-1)

    def flatten(self, order: str = "C") -> "Array":
        """The values as one axis (an Array is immutable, so this is ``ravel``)."""
        from lamina.array.manipulation import ravel

        return ravel(self, order=order)

    # NumPy methods that forward to lamina.array functions --------------------
    def cumsum(self, axis=None, dtype=None) -> "Array":
        from lamina.array.scans import cumsum

        return cumsum(self, axis=axis, dtype=dtype)

    def cumprod(self, axis=None, dtype=None) -> "Array":
        from lamina.array.scans import cumprod

        return cumprod(self, axis=axis, dtype=dtype)

    def clip(self, min=None, max=None) -> "Array":
        from lamina.array.elementwise_functions import clip

        return clip(self, min, max)

    def round(self, decimals: int = 0) -> "Array":
        from lamina.array.elementwise_functions import round

        return round(self, decimals)

    def repeat(self, repeats: Any, axis: int | None = None) -> "Array":
        from lamina.array.combining import repeat

        return repeat(self, repeats, axis)

    def take(self, indices: Any, axis: int | None = None) -> "Array":
        from lamina.array.combining import take

        return take(self, indices, axis)

    def argsort(self, axis: int | None = -1, kind: str | None = None) -> "Array":
        from lamina.array.sorting import argsort

        return argsort(self, axis, kind)

    def nonzero(self) -> tuple["Array", ...]:
        from lamina.array.nonzero import nonzero

        return nonzero(self)

    def dot(self, other: Any) -> "Array":
        from lamina.array.contraction import dot

        return dot(self, other)

    # reductions (implemented in lamina.array.reductions) ------------------
    def _reduce(self, name: str, *args: Any, **kwargs: Any) -> "Array":
        from lamina.array import reductions

        return getattr(reductions, name)(self, *args, **kwargs)

    def sum(self, axis=None, dtype=None, keepdims=False, split_every=None,
            **initial_where: Any) -> "Array":
        return self._reduce("sum", axis=axis, dtype=dtype, keepdims=keepdims,
                            split_every=split_every, **initial_where)

    def prod(self, axis=None, dtype=None, keepdims=False, split_every=None,
             **initial_where: Any) -> "Array":
        return self._reduce("prod", axis=axis, dtype=dtype, keepdims=keepdims,
                            split_every=split_every, **initial_where)

    def mean(self, axis=None, dtype=None, keepdims=False, split_every=None,
             **where: Any) -> "Array":
        return self._reduce("mean", axis=axis, dtype=dtype, keepdims=keepdims,
                            split_every=split_every, **where)

    def var(self, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None,
            **where: Any) -> "Array":
        return self._reduce("var", axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof,
                            split_every=split_every, **where)

    def std(self, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None,
            **where: Any) -> "Array":
        return self._reduce("std", axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof,
                            split_every=split_every, **where)

    def min(self, axis=None, keepdims=False, split_every=None, **initial_where: Any) -> "Array":
        return self._reduce("min", axis=axis, keepdims=keepdims, split_every=split_every,
                            **initial_where)

    def max(self, axis=None, keepdims=False, split_every=None, **initial_where: Any) -> "Array":
        return self._reduce("max", axis=axis, keepdims=keepdims, split_every=split_every,
                            **initial_where)

    def any(self, axis=None, keepdims=False, split_every=None, **where: Any) -> "Array":
        return self._reduce("any", axis=axis, keepdims=keepdims, split_every=split_every,
                            **where)

    def all(self, axis=None, keepdims=False, split_every=None, **where: Any) -> "Array":
        return self._reduce("all", axis=axis, keepdims=keepdims, split_every=split_every,
                            **where)

    def argmin(self, axis=None, keepdims=False, split_every=None) -> "Array":
        return self._reduce("argmin", axis=axis, keepdims=keepdims, split_every=split_every)

    def argmax(self, axis=None, keepdims=False, split_every=None) -> "Array":
        return self._reduce("argmax", axis=axis, keepdims=keepdims, split_every=split_every)


def _binary(name: str, ufunc: np.ufunc, reflected: bool = False):
    if reflected:
        def method(self: Array, other: Any) -> Any:
            return ufunc(other, self)
    else:
        def method(self: Array, other: Any) -> Any:
            return ufunc(self, other)
    method.__name__ = name
    method.__doc__ = f"Elementwise ``{ufunc.__name__}``."
    return method


_OPERATORS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "lshift": np.left_shift, "rshift": np.right_shift, "divmod": np.divmod,
}
for _name, _ufunc in _OPERATORS.items():
    setattr(Array, f"__{_name}__", _binary(f"__{_name}__", _ufunc))
    setattr(Array, f"__r{_name}__", _binary(f"__r{_name}__", _ufunc, reflected=True))
for _name, _ufunc in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                      "gt": np.greater, "ge": np.greater_equal}.items():
    setattr(Array, f"__{_name}__", _binary(f"__{_name}__", _ufunc))
Array.__hash__ = lambda self: hash(self.layer)


def _power(self: Array, other: Any) -> Any:
    """``self ** other``, NumPy's operator (see ``lamina.array.elementwise.power_operator``)."""
    from lamina.array.elementwise import power_operator

    return power_operator(self, other)


Array.__pow__ = _power  # type: ignore[method-assign]  # type: ignore[method-assign]


def asanyarray_like(values: Sequence[Any]) -> list[Any]:
    """Helper for functions taking several arrays: keep Arrays, wrap the rest."""
    from lamina.array.creation import asarray

    return [v if isinstance(v, Array) else asarray(v) for v in values]
