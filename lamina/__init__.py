"""lamina: chunked arrays far larger than memory, on a compiled scheduler.

    import lamina
    import lamina.array as la
    x = la.ones((10_000, 10_000), chunks=1000)
    lamina.compute(x.sum(), x.mean())
"""

from lamina.array.core import Array
from lamina.compute import compute, compute_blocks, persist
from lamina.optimizer import explain, optimize, visualize

__all__ = ["Array", "Client", "LocalCluster", "compute", "compute_blocks", "explain", "optimize",
           "persist", "visualize"]


def __getattr__(name: str):
    """Load the distributed client on first use, so ``import lamina`` stays light."""
    if name in ("Client", "LocalCluster"):
        from lamina import client

        return getattr(client, name)
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")
__version__ = "0.1.0"
