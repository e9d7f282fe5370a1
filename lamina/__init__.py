"""lamina: chunked arrays far larger than memory, on a compiled scheduler.

    import lamina
    import lamina.array as la
    x = la.ones((10_000, 10_000), chunks=1000)
    lamina.compute(x.sum(), x.mean())
"""

from lamina.array.core import Array
from lamina.compute import compute, persist

__all__ = ["Array", "compute", "persist"]
__version__ = "0.1.0"
