"""``compute`` and ``persist`` for one or many collections at once.

Collections computed together share their common layers (equal tokens are
one node), so ``lamina.compute(a + b, (a + b).sum())`` computes ``a + b``
once. The optimizer rewrites the layers first (``optimize_graph=False`` or
``LAMINA_OPTIMIZE=0`` skips it). Inside ``with lamina.Client(...)`` the work
goes to that cluster; otherwise the embedded runner does it.

``compute_blocks`` is the same computation without assembling: each input's
blocks come back as a list in flat (C) block order, which is what a
multi-pass algorithm wants from a pass whose blocks are small results::

    y_blocks, w_blocks = lamina.compute_blocks(y, w)   # y_blocks[i]: block i of y
"""

from __future__ import annotations

from typing import Any, Callable

from lamina.array.core import Array
from lamina.layers.base import Layer
from lamina.scheduler import runner
from lamina.scheduler.runner import assemble

Progress = Callable[[int, int], None]


def _active_client() -> Any:
    from lamina.client import active_client

    return active_client()


def _optimized(layers: list[Layer], optimize_graph: bool) -> list[Layer]:
    if not optimize_graph:
        return layers
    from lamina.optimizer import optimize_layers

    return optimize_layers(layers)


def compute(*collections: Any, nthreads: int | None = None, optimize_graph: bool = True,
            on_progress: Progress | None = None) -> tuple[Any, ...]:
    """Compute several collections together; return their values in order.

    Anything that is not a lamina collection is returned unchanged.
    ``on_progress(done, total)`` is called as tasks finish; ``nthreads``
    applies to the embedded runner only.
    """
    client = _active_client()
    if client is not None:
        return client.compute_collections(*collections, optimize=optimize_graph,
                                          on_progress=on_progress)
    arrays = [c for c in collections if isinstance(c, Array)]
    results = iter(_compute_arrays(arrays, nthreads, optimize_graph, on_progress))
    return tuple(next(results) if isinstance(c, Array) else c for c in collections)


def compute_blocks(*collections: Array | Layer, nthreads: int | None = None,
                   optimize_graph: bool = True,
                   on_progress: Progress | None = None) -> list[list[Any]]:
    """Compute the blocks of several arrays (or layers) together, without assembling them.

    Returns one list per input: its blocks in flat (C) block order, as the
    kernels made them (a tuple-valued layer gives its tuples). Inside
    ``with lamina.Client(...)`` the blocks are computed on that cluster and
    gathered here; otherwise the embedded runner computes them with
    ``nthreads`` threads. ``on_progress(done, total)`` is called as tasks
    finish, on a cluster too (there at most ten times a second, and once
    at the end).
    """
    layers = [_layer_of(c) for c in collections]
    if not layers:
        return []
    client = _active_client()
    if client is not None:
        return client.compute_blocks(*layers, optimize=optimize_graph, on_progress=on_progress)
    return runner.compute_blocks(_optimized(layers, optimize_graph), nthreads=nthreads,
                                 on_progress=on_progress)


def _layer_of(collection: Any) -> Layer:
    if isinstance(collection, Array):
        return collection.layer
    if isinstance(collection, Layer):
        return collection
    raise TypeError(f"compute_blocks takes lamina Arrays or Layers, got "
                    f"{type(collection).__name__}: wrap data with lamina.array.from_array first")


def _compute_arrays(arrays: list[Array], nthreads: int | None, optimize_graph: bool,
                    on_progress: Progress | None) -> list[Any]:
    if not arrays:
        return []
    layers = _optimized([a.layer for a in arrays], optimize_graph)
    blocks = runner.compute_blocks(layers, nthreads=nthreads, on_progress=on_progress)
    return [assemble(layer, layer_blocks) for layer, layer_blocks in zip(layers, blocks)]


def persist(*collections: Any, nthreads: int | None = None,
            optimize_graph: bool = True) -> tuple[Any, ...]:
    """Compute the blocks of several collections and keep them, still chunked."""
    from lamina.array.creation import from_blocks_like

    client = _active_client()
    if client is not None:
        return client.persist_collections(*collections, optimize=optimize_graph)
    arrays = [c for c in collections if isinstance(c, Array)]
    layers = _optimized([a.layer for a in arrays], optimize_graph)
    blocks = iter(runner.compute_blocks(layers, nthreads=nthreads) if arrays else [])
    return tuple(from_blocks_like(c, next(blocks)) if isinstance(c, Array) else c
                 for c in collections)
