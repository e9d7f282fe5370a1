"""Walking an expression: each layer once, inputs before their readers.

    order = topological([root])

The optimizer, the lowering and the compute path all walk the same way.
The walk is iterative, so plans of tens of thousands of layers do not hit
Python's recursion limit; layers are told apart by name (their token).
"""

from __future__ import annotations

from typing import Sequence

from lamina.layers.base import Layer


def topological(roots: Sequence[Layer]) -> list[Layer]:
    """Unique layers reachable from ``roots`` (by name), inputs before readers."""
    order: list[Layer] = []
    seen: set[str] = set()
    stack: list[tuple[Layer, tuple[Layer, ...], int]] = [
        (r, r.dependencies, 0) for r in reversed(roots)]
    while stack:
        layer, deps, pos = stack.pop()
        if pos == 0 and layer.name in seen:
            continue
        while pos < len(deps) and deps[pos].name in seen:
            pos += 1
        if pos < len(deps):
            stack.append((layer, deps, pos + 1))
            dep = deps[pos]
            stack.append((dep, dep.dependencies, 0))
        elif layer.name not in seen:
            seen.add(layer.name)
            order.append(layer)
    return order
