"""lamina: chunked arrays far larger than memory, on a compiled scheduler.

    import lamina
    import lamina.array as la
    x = la.ones((10_000, 10_000), chunks=1000)
    lamina.compute(x.sum(), x.mean())

The names below load on first use, so a process that needs only part of
lamina (a scheduler imports ``lamina.layers``, never the collections or the
optimizer) loads only that part.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

_HOMES = {
    "Array": "lamina.array.core",
    "compute": "lamina.compute",
    "compute_blocks": "lamina.compute",
    "persist": "lamina.compute",
    "explain": "lamina.explain",
    "optimize": "lamina.optimizer",
    "visualize": "lamina.optimizer",
    "Client": "lamina.client",
    "LocalCluster": "lamina.client",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """Load a public name, or a subpackage, on first use."""
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


class _Package(types.ModuleType):
    """The ``lamina`` package: ``lamina.compute`` stays the function when the
    module of the same name is imported (the import system would set the
    module as the package's attribute)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
