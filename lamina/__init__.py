"""lamina: chunked arrays far larger than memory, on a compiled scheduler.

    import lamina
    import lamina.array as la
    x = la.ones((10_000, 10_000), chunks=1000)
    lamina.compute(x.sum(), x.mean())

Importing ``lamina`` loads only ``lamina.compute`` (which itself loads the
collections, the runner and the optimizer when first called). ``Array``,
``explain``, ``optimize``, ``visualize``, ``Client`` and ``LocalCluster``
are loaded on first use, so the scheduler and worker processes, which
import ``lamina`` too, never load the collections or the optimizer.
"""

from importlib import import_module
from typing import Any

from lamina.compute import compute, compute_blocks, persist

__all__ = ["Array", "Client", "LocalCluster", "compute", "compute_blocks", "explain", "optimize",
           "persist", "visualize"]
__version__ = "0.1.0"

_LAZY = {"Array": "lamina.array.core", "Client": "lamina.client",
         "LocalCluster": "lamina.client", "explain": "lamina.optimizer",
         "optimize": "lamina.optimizer", "visualize": "lamina.optimizer"}


def __getattr__(name: str) -> Any:
    """Load the collections, the optimizer and the client on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
