"""The expression codec: how layers travel as rows of a message's node table.

It plugs into the value codec (``lamina.comm.wire``) as its extension, so
the value codec needs to know nothing of layers::

    frames = dumps({"roots": (layer,)}, extension=LayerCodec(trusted))
    loads(frames, extension=LayerCodec())                    # worker: real layers
    loads(frames, load_blobs=False, extension=LayerCodec())  # scheduler: no unpickling

One row per distinct layer (by token; shared subtrees once), children
before parents: ``[type, params, children, token, chunks, dtype]``, a layer
inside ``params`` being a reference to its row. A type the peer trusts
(``lamina.layers.registry``) is rebuilt from its params; any other type
travels *lowered* (type ``LOWERED``): its class as a blob and its block
dependencies as integer arrays, so a scheduler plans it without running
its code (``Lowered`` stands in for it there).

This module imports nothing of ``lamina.comm``: it sees the encoder and
decoder only through the few members named in ``RowWriter``/``RowReader``.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Protocol, Sequence

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.registry import Lowered, is_trusted, trusted_class

LOWERED = "~lowered"


class RowWriter(Protocol):
    """What ``LayerCodec`` uses of the value codec's encoder."""

    rows: dict[Hashable, int]

    def walk(self, obj: Any) -> Any: ...

    def add_row(self, key: Hashable, fields: list[Any]) -> int: ...


class RowReader(Protocol):
    """What ``LayerCodec`` uses of the value codec's decoder."""

    rows: list[Any]
    load_blobs: bool


def _locally_trusted(layer: Layer) -> bool:
    return is_trusted(type(layer))


class LayerCodec:
    """The value codec's extension for layers.

    ``trusted(layer)`` says whether a layer travels as params (default: its
    type is in the local trusted registry) or lowered; a client passes
    ``registry.trust_of(scheduler's signature)``. Use one per message: it
    remembers which layers it has sent as params.
    """

    def __init__(self, trusted: Callable[[Layer], bool] | None = None) -> None:
        self.trusted = trusted or _locally_trusted
        self.closed: dict[str, bool] = {}

    def claims(self, obj: Any) -> bool:
        return isinstance(obj, Layer)

    # encoding ------------------------------------------------------------------
    def encode(self, layer: Layer, out: RowWriter) -> int:
        """Rows for ``layer`` and whatever under it is not sent yet; its row."""
        index = out.rows.get(layer.name)
        if index is not None:
            return index
        for child in _children_first(layer, out.rows):
            self.encode_row(child, out)
        return out.rows[layer.name]

    def as_params(self, layer: Layer) -> bool:
        """Trusted, and so is every layer under its non-dependency operands
        (a fused group's members), since its ``block_deps`` walks them."""
        if not self.trusted(layer):
            return False
        deps = {d.name for d in layer.dependencies}
        return all(self.closed[m.name] for m in _layer_operands(layer) if m.name not in deps)

    def encode_row(self, layer: Layer, out: RowWriter) -> None:
        children = [out.rows[d.name] for d in layer.dependencies]
        chunks, dtype = out.walk(layer.chunks), out.walk(layer.dtype)
        params_ok = self.as_params(layer)
        self.closed[layer.name] = params_ok and all(
            self.closed[m.name] for m in _layer_operands(layer))
        if params_ok:
            type_name = type(layer).__name__
            params: Any = [out.walk(op) for op in layer.operands]
        else:
            tables = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))
            type_name = LOWERED
            params = {
                "cls": out.walk(type(layer)),
                "label": layer.label(),
                "operands": [out.walk(op) for op in layer.operands],
                "deps": [(out.walk(np.asarray(p)), out.walk(np.asarray(i))) for p, i in tables],
            }
        out.add_row(layer.name, [type_name, params, children, layer.name, chunks, dtype])

    # decoding ------------------------------------------------------------------
    def decode(self, fields: tuple, into: RowReader) -> Layer:
        """The layer of one row: rebuilt, or a ``Lowered`` stand-in where
        the receiver does not unpickle (a scheduler)."""
        type_name, params, children, token, chunks, dtype = fields
        if type_name == LOWERED:
            if not into.load_blobs:
                deps = [into.rows[i] for i in children]
                return Lowered.stand_in(params["label"], params["deps"], deps, token,
                                        chunks, dtype)
            cls, operands = params["cls"], params["operands"]
        else:
            cls, operands = trusted_class(type_name), params
        return rebuild(cls, operands, token, chunks, dtype)


def rebuild(cls: type, operands: Sequence[Any], token: str, chunks: Any, dtype: Any) -> Layer:
    """A layer from its operands with its token and metadata as sent (no recomputation)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"{cls!r} is not a Layer class")
    operands = tuple(operands)
    if len(operands) != len(cls._parameters):
        raise ValueError(f"{cls.__name__} takes {len(cls._parameters)} operands, "
                         f"the message gives {len(operands)}: peers run different versions")
    layer = cls.__new__(cls)
    object.__setattr__(layer, "operands", operands)
    layer.__dict__["_chunks_dtype"] = (tuple(tuple(c) for c in chunks), np.dtype(dtype))
    object.__setattr__(layer, "_token", token)
    return layer


def _children_first(root: Layer, done: dict[Hashable, int]) -> list[Layer]:
    """Layers under ``root`` (itself last) not yet encoded, children first."""
    order: list[Layer] = []
    seen: set[Hashable] = set(done)
    stack: list[tuple[Layer, list[Layer] | None]] = [(root, None)]
    while stack:
        layer, pending = stack.pop()
        if pending is None:
            if layer.name in seen:
                continue
            pending = [d for d in _layer_operands(layer) if d.name not in seen]
            pending.reverse()
        if pending:
            child = pending.pop()
            stack.append((layer, pending))
            if child.name not in seen:
                stack.append((child, None))
            continue
        if layer.name not in seen:
            seen.add(layer.name)
            order.append(layer)
    return order


def _layer_operands(layer: Layer) -> list[Layer]:
    """Every layer a layer refers to: its dependencies, then layers in operands."""
    found = list(layer.dependencies)
    stack = list(layer.operands)
    while stack:
        value = stack.pop()
        if isinstance(value, Layer):
            found.append(value)
        elif type(value) in (tuple, list, set, frozenset):
            stack.extend(value)
        elif type(value) is dict:
            stack.extend(value.keys())
            stack.extend(value.values())
    return found
