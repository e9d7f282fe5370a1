"""Plan helpers the engine uses: readers, and rebuilding a node.

    readers = dependents_map(order)              # name -> layers reading it
    new = with_dependencies(node, {old.name: replacement})

The walk in order is ``lamina.layers.walk.topological``.
"""

from __future__ import annotations

from typing import Any, Sequence

from lamina.layers.base import Layer


def dependents_map(order: Sequence[Layer]) -> dict[str, list[Layer]]:
    """For each layer name, the distinct layers that read it."""
    out: dict[str, list[Layer]] = {}
    for layer in order:
        deps = layer.dependencies
        if len(deps) == 1:
            out.setdefault(deps[0].name, []).append(layer)
            continue
        for name in dict.fromkeys(d.name for d in deps):
            out.setdefault(name, []).append(layer)
    return out


def with_dependencies(layer: Layer, mapping: dict[str, Layer]) -> Layer:
    """``layer`` with each dependency named in ``mapping`` replaced.

    A layer type may define ``with_dependencies(mapping)`` itself (when its
    operands hold layers that are not dependencies); otherwise operands
    are searched for layers, inside tuples and lists too.
    """
    custom = getattr(layer, "with_dependencies", None)
    if custom is not None:
        return custom(mapping)
    changed = False
    values = []
    for op in layer.operands:
        new = _replace(op, mapping)
        changed = changed or new is not op
        values.append(new)
    return type(layer)(*values) if changed else layer


def _replace(value: Any, mapping: dict[str, Layer]) -> Any:
    if isinstance(value, Layer):
        return mapping.get(value.name, value)
    if isinstance(value, (tuple, list)):
        items = None
        for i, v in enumerate(value):
            if v is None or isinstance(v, (int, float, str)):
                continue
            new = _replace(v, mapping)
            if new is not v:
                if items is None:
                    items = list(value)
                items[i] = new
        if items is not None:
            return type(value)(items)
    return value
