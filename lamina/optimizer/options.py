"""Optimizer settings: on/off, rules switched off by name, fusion and broadcast limits.

    import lamina.optimizer as lo
    lo.options().fuse_memory_limit            # 2 GiB by default
    with lo.set_options(disabled_rules={"blockwise_fusion"}):
        x.compute()                           # everything but fusion
    lo.set_options(enabled=False)             # from now on: no optimization

``LAMINA_OPTIMIZE=0`` in the environment starts with the optimizer off.
``set_options`` changes the settings at once and, used as a context
manager, restores the previous ones on exit.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields, replace
from typing import Any

CHEAP_LAYERS = frozenset({"Full", "Arange", "Linspace", "FromArray", "FromBlocks",
                          "BasicSlice", "Transpose"})


@dataclass(frozen=True)
class Options:
    """Settings the optimizer and its rules read (rules see them as ``ctx.options``).

    ``cheap_layers`` names layer types that are cheap to compute again, so
    fusion may copy them into several fused layers; ``fuse_memory_limit``
    (bytes) vetoes a fusion whose projected memory per task is larger;
    ``max_iterations`` bounds fixpoint batches; ``plugins`` loads rules
    from the ``lamina.rules`` entry-point group; a join side estimated at
    most ``broadcast_rows`` rows and ``broadcast_bytes`` bytes is sent whole
    to every partition of the other side (``join_strategy``).
    """

    enabled: bool = True
    disabled_rules: frozenset[str] = frozenset()
    fuse_memory_limit: int = 2 * 2**30
    cheap_layers: frozenset[str] = CHEAP_LAYERS
    max_iterations: int = 50
    plugins: bool = True
    broadcast_rows: int = 1_000_000
    broadcast_bytes: int = 256 * 2**20


_LOCK = threading.Lock()
_CURRENT = Options(enabled=os.environ.get("LAMINA_OPTIMIZE", "1").lower() not in
                   ("0", "false", "no", "off"))
_NAMES = {f.name for f in fields(Options)}


def options() -> Options:
    """The settings in force."""
    return _CURRENT


def updated(base: Options, **changes: Any) -> Options:
    """``base`` with some settings changed (names checked, sets made frozen)."""
    unknown = sorted(set(changes) - _NAMES)
    if unknown:
        raise TypeError(f"unknown optimizer options {unknown}: use some of {sorted(_NAMES)}")
    for name in ("disabled_rules", "cheap_layers"):
        if name in changes:
            value = changes[name]
            changes[name] = frozenset([value] if isinstance(value, str) else value)
    return replace(base, **changes)


class set_options:
    """Change optimizer settings; as a context manager, only inside the block."""

    def __init__(self, **changes: Any) -> None:
        global _CURRENT
        with _LOCK:
            self._previous = _CURRENT
            _CURRENT = updated(_CURRENT, **changes)

    def __enter__(self) -> Options:
        return _CURRENT

    def __exit__(self, *exc: Any) -> None:
        global _CURRENT
        with _LOCK:
            _CURRENT = self._previous
