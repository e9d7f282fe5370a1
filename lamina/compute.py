"""``compute`` and ``persist`` for one or many collections at once.

Collections computed together share their common layers (equal tokens are
one node), so ``lamina.compute(a + b, (a + b).sum())`` computes ``a + b``
once. Without a cluster, the embedded runner does the work.
"""

from __future__ import annotations

from typing import Any, Callable

from lamina.array.core import Array
from lamina.scheduler.runner import assemble, compute_blocks


def compute(*collections: Any, nthreads: int | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> tuple[Any, ...]:
    """Compute several collections together; return their values in order.

    Anything that is not a lamina collection is returned unchanged.
    """
    arrays = [c for c in collections if isinstance(c, Array)]
    results = iter(_compute_arrays(arrays, nthreads, on_progress))
    out = []
    for c in collections:
        out.append(next(results) if isinstance(c, Array) else c)
    return tuple(out)


def _compute_arrays(arrays: list[Array], nthreads: int | None,
                    on_progress: Callable[[int, int], None] | None) -> list[Any]:
    if not arrays:
        return []
    layers = [a.layer for a in arrays]
    blocks = compute_blocks(layers, nthreads=nthreads, on_progress=on_progress)
    values = []
    for layer, layer_blocks in zip(layers, blocks):
        value = assemble(layer, layer_blocks)
        values.append(value[()] if layer.ndim == 0 else value)
    return values


def persist(*collections: Any, nthreads: int | None = None) -> tuple[Any, ...]:
    """Compute the blocks of several collections and keep them, still chunked."""
    from lamina.array.creation import from_blocks_like

    arrays = [c for c in collections if isinstance(c, Array)]
    blocks = iter(compute_blocks([a.layer for a in arrays], nthreads=nthreads) if arrays else [])
    return tuple(from_blocks_like(c, next(blocks)) if isinstance(c, Array) else c
                 for c in collections)
