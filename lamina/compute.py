"""``compute`` and ``persist`` for one or many collections at once.

Collections computed together share their common layers (equal tokens are
one node), so ``lamina.compute(a + b, (a + b).sum())`` computes ``a + b``
once. The optimizer rewrites the layers first (``optimize_graph=False`` or
``LAMINA_OPTIMIZE=0`` skips it). Inside ``with lamina.Client(...)`` the work
goes to that cluster; otherwise the embedded runner does it.
"""

from __future__ import annotations

from typing import Any, Callable

from lamina.array.core import Array
from lamina.layers.base import Layer
from lamina.scheduler.runner import assemble, compute_blocks


def _active_client() -> Any:
    from lamina.client import active_client

    return active_client()


def _optimized(layers: list[Layer], optimize_graph: bool) -> list[Layer]:
    if not optimize_graph:
        return layers
    from lamina.optimizer import optimize_layers

    return optimize_layers(layers)


def compute(*collections: Any, nthreads: int | None = None, optimize_graph: bool = True,
            on_progress: Callable[[int, int], None] | None = None) -> tuple[Any, ...]:
    """Compute several collections together; return their values in order.

    Anything that is not a lamina collection is returned unchanged.
    """
    client = _active_client()
    if client is not None:
        return client.compute_collections(*collections)
    arrays = [c for c in collections if isinstance(c, Array)]
    results = iter(_compute_arrays(arrays, nthreads, optimize_graph, on_progress))
    return tuple(next(results) if isinstance(c, Array) else c for c in collections)


def _compute_arrays(arrays: list[Array], nthreads: int | None, optimize_graph: bool,
                    on_progress: Callable[[int, int], None] | None) -> list[Any]:
    if not arrays:
        return []
    layers = _optimized([a.layer for a in arrays], optimize_graph)
    blocks = compute_blocks(layers, nthreads=nthreads, on_progress=on_progress)
    values = []
    for layer, layer_blocks in zip(layers, blocks):
        value = assemble(layer, layer_blocks)
        values.append(value[()] if layer.ndim == 0 else value)
    return values


def persist(*collections: Any, nthreads: int | None = None,
            optimize_graph: bool = True) -> tuple[Any, ...]:
    """Compute the blocks of several collections and keep them, still chunked."""
    from lamina.array.creation import from_blocks_like

    client = _active_client()
    if client is not None:
        return client.persist_collections(*collections)
    arrays = [c for c in collections if isinstance(c, Array)]
    layers = _optimized([a.layer for a in arrays], optimize_graph)
    blocks = iter(compute_blocks(layers, nthreads=nthreads) if arrays else [])
    return tuple(from_blocks_like(c, next(blocks)) if isinstance(c, Array) else c
                 for c in collections)
