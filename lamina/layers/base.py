"""The ``Layer`` base: an immutable node of the expression tree.

A layer describes every block of one array operation without creating a
Python object per block. Subclasses declare their operands by name::

    class Negate(Layer):
        _parameters = ("x",)

        def _meta(self):
            return self.x.chunks, self.x.dtype

        def block_deps(self, out_blocks):
            return [one_to_one(out_blocks)]

        def kernel(self):
            return lambda block, inputs: -inputs[0]

Operands are stored in a tuple; each name becomes a read-only attribute. The
token is computed once from the type and operands, so equal operands give
equal (and equally hashed) layers, and a shared subexpression is one node.

The two halves of the contract:

* ``block_deps(out_blocks)`` — for an int64 array of flat output block ids,
  return one ``(indptr, flat_ids)`` CSR pair per entry of ``dependencies``:
  row ``i`` lists the blocks of that dependency that output block
  ``out_blocks[i]`` reads, in the order the kernel expects them. Vectorized:
  this runs in the lowering for millions of blocks.
* ``kernel()`` — return ``f(block, inputs) -> value``, where ``block`` is the
  flat block id and ``inputs`` the concatenated input values in dependency
  order. It runs only on workers or in the local runner, once per task.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from lamina.tokenize import tokenize

Chunks = tuple[tuple[int, ...], ...]
Kernel = Callable[[int, list], Any]
CSR = tuple[np.ndarray, np.ndarray]


class Layer:
    """Immutable expression node; see the module docstring for the contract."""

    _parameters: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__match_args__" not in cls.__dict__:  # ``case BasicSlice(x, index)`` in rules
            cls.__match_args__ = tuple(cls._parameters)
        for index, name in enumerate(cls._parameters):
            if name not in cls.__dict__:
                setattr(cls, name, property(lambda self, i=index: self.operands[i]))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = type(self)._parameters
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} operands, got {len(args)}")
        values = list(args)
        for name in names[len(args):]:
            if name in kwargs:
                values.append(kwargs.pop(name))
            elif name in type(self)._defaults:
                values.append(type(self)._defaults[name])
            else:
                raise TypeError(f"{type(self).__name__} is missing operand {name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unknown operands {sorted(kwargs)}")
        self.operands = tuple(values)
        self._token = type(self).__name__.lower() + "-" + tokenize(type(self).__name__, self.operands)

    # identity -----------------------------------------------------------
    @property
    def name(self) -> str:
        """Deterministic unique name: type and token."""
        return self._token

    def __hash__(self) -> int:
        return hash(self._token)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layer) and other._token == self._token

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("operands", "_token") and "_token" in self.__dict__:
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        params = ", ".join(
            f"{n}={_short(v)}" for n, v in zip(type(self)._parameters, self.operands)
        )
        return f"{type(self).__name__}({params})"

    def substitute(self, **changes: Any) -> "Layer":
        """Return a copy with some operands replaced (the node is immutable)."""
        values = dict(zip(type(self)._parameters, self.operands))
        values.update(changes)
        return type(self)(**values)

    # structure ----------------------------------------------------------
    @cached_property
    def dependencies(self) -> tuple["Layer", ...]:
        """The layers whose blocks this layer reads, in ``block_deps`` order."""
        return tuple(op for op in self.operands if isinstance(op, Layer))

    def _meta(self) -> tuple[Chunks, np.dtype]:
        raise NotImplementedError

    @cached_property
    def _chunks_dtype(self) -> tuple[Chunks, np.dtype]:
        chunks, dtype = self._meta()
        return tuple(tuple(map(int, cs)) for cs in chunks), np.dtype(dtype)

    @property
    def chunks(self) -> Chunks:
        """Block sizes along each axis, as in NumPy-style chunked arrays."""
        return self._chunks_dtype[0]

    @property
    def dtype(self) -> np.dtype:
        return self._chunks_dtype[1]

    @cached_property
    def shape(self) -> tuple[int, ...]:
        return tuple(sum(c) for c in self.chunks)

    @cached_property
    def numblocks(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.chunks)

    @cached_property
    def nblocks(self) -> int:
        return int(np.prod(self.numblocks, dtype=np.int64))

    @property
    def ndim(self) -> int:
        return len(self.chunks)

    @property
    def array_module(self) -> Any:
        """NumPy, or CuPy when the sources hold CuPy arrays."""
        for dep in self.dependencies:
            return dep.array_module
        return np

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        raise NotImplementedError

    def kernel(self) -> Kernel:
        raise NotImplementedError

    def dependency_block_maps(self, block_map: tuple) -> list[tuple] | None:
        """For output blocks read at ``block_map``, the block map each dependency is read at.

        A layer whose output block reads one block of each dependency, chosen
        axis by axis, says which (see ``lamina.layers.blockmaps``) and can
        then join a fused group. ``None``, the default for a layer with
        inputs, says it cannot; a source reads nothing (``[]``).
        """
        return None if self.dependencies else []

    def block_index(self, flat: int) -> tuple[int, ...]:
        """Unravel a flat block id into a block index tuple (C order)."""
        out = []
        for n in reversed(self.numblocks):
            flat, r = divmod(flat, n)
            out.append(r)
        return tuple(reversed(out))

    def label(self) -> str:
        """Short human name used in errors and plans."""
        return type(self).__name__


def _short(value: Any) -> str:
    if isinstance(value, Layer):
        return value.name[:24]
    if isinstance(value, np.ndarray):
        return f"ndarray<{value.shape}, {value.dtype}>"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def one_to_one(out_blocks: np.ndarray) -> CSR:
    """CSR where output block ``b`` reads block ``b`` of its input."""
    n = len(out_blocks)
    return np.arange(n + 1, dtype=np.int64), np.asarray(out_blocks, dtype=np.int64)


def sequence_of_layers(values: Sequence[Any]) -> tuple[Layer, ...]:
    return tuple(v for v in values if isinstance(v, Layer))


def layer_of(value: Any) -> "Layer | None":
    """The layer behind ``value``: a layer itself, or a collection's ``layer``; else None.

    A lamina collection is any object whose ``layer`` attribute is a Layer
    and whose type rebuilds it from one (``type(c)(layer)``). The optimizer
    and the compute path know collections only by this, so they never
    import the collections themselves.
    """
    if isinstance(value, Layer):
        return value
    layer = getattr(value, "layer", None)
    return layer if isinstance(layer, Layer) else None

