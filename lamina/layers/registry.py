"""The trusted-layer registry: the layer types a scheduler plans from params.

A scheduler never runs user code, yet it must know, for every output block
of every layer, which input blocks it reads. For the types registered here
it rebuilds the layer from its plain parameters (shapes, chunks, axes,
slices, split sizes; functions stay opaque blobs) and calls the layer's own
``block_deps``. Any other type arrives *lowered*: the client computed its
block dependencies and sent them as integer arrays, which the ``Lowered``
stand-in serves (slower to send, still correct).

A type is registered where it is defined, so the registry names no module::

    @trusted(version=1)
    class Rechunk(Layer): ...

    trusted_class("Rechunk")              # the class
    is_trusted(Rechunk)                   # True
    signature()["Rechunk"]                # (1, ("x", "new_chunks"))
    register(MyLayer, version=1)          # trust a third-party type defined elsewhere

Every module of ``lamina.layers`` is imported the first time the registry
is asked, so a scheduler that imports only ``lamina.layers`` knows every
built-in type. Bump ``version`` when a layer's parameters change meaning.
Peers exchange ``signature()`` when they connect, and a client sends a type
as params only when the scheduler's entry equals its own.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from lamina.layers.base import CSR, Kernel, Layer

L = TypeVar("L", bound=type)

_entries: dict[str, tuple[type, int]] = {}
_loading = threading.RLock()
_builtins_loaded = False

Signature = dict[str, tuple[int, tuple[str, ...]]]


def trusted(version: int = 1) -> Callable[[L], L]:
    """Class decorator: trust this layer type from its definition on.

    Its ``block_deps`` must need only its plain parameters.
    """
    def mark(cls: L) -> L:
        _enter(cls, version)
        return cls

    return mark


def register(cls: type, version: int = 1) -> None:
    """Trust a layer type defined elsewhere: its ``block_deps`` must need only plain
    parameters."""
    _load_builtins()
    _enter(cls, version)


def trusted_class(name: str) -> type:
    """The layer class registered as ``name``; KeyError names the fix."""
    entry = _registry().get(name)
    if entry is None:
        raise KeyError(f"layer type {name!r} is not in the trusted registry: send it lowered "
                       "or register it on the scheduler with lamina.layers.registry.register")
    return entry[0]


def is_trusted(cls: type) -> bool:
    """True when ``cls`` itself (not a namesake) is registered."""
    entry = _registry().get(cls.__name__)
    return entry is not None and entry[0] is cls


def signature() -> Signature:
    """``{name: (version, parameter names)}`` of every registered type."""
    return {name: (version, tuple(cls._parameters))
            for name, (cls, version) in _registry().items()}


def trust_of(remote: Signature) -> Callable[[Layer], bool]:
    """Predicate for the encoder: send a layer as params iff the peer's
    registry entry for its type equals ours."""
    local = signature()
    agreed = {name for name, entry in local.items()
              if tuple(_plain(remote.get(name, ()))) == tuple(_plain(entry))}

    def trusted(layer: Layer) -> bool:
        return type(layer).__name__ in agreed and is_trusted(type(layer))

    return trusted


def _plain(entry: Any) -> Any:
    if isinstance(entry, (tuple, list)):
        return tuple(_plain(e) for e in entry)
    return entry


def _enter(cls: type, version: int) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"only Layer subclasses can be trusted, got {cls!r}")
    known = _entries.get(cls.__name__)
    if known is not None and known[0].__module__ != cls.__module__:
        raise ValueError(f"layer type name {cls.__name__!r} is already registered by "
                         f"{known[0].__module__}: rename the class, since peers know "
                         "layer types by name")
    _entries[cls.__name__] = (cls, int(version))


def _registry() -> dict[str, tuple[type, int]]:
    _load_builtins()
    return _entries


def _load_builtins() -> None:
    """Import every module of ``lamina.layers``: defining a type registers it."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    import lamina.layers

    with _loading:
        if _builtins_loaded:
            return
        for info in pkgutil.walk_packages(lamina.layers.__path__, "lamina.layers."):
            importlib.import_module(info.name)
        _builtins_loaded = True


class Lowered(Layer):
    """Scheduler-side stand-in for a layer of an untrusted type.

    ``deps`` holds, per dependency, the CSR over *all* output blocks that
    the client computed; ``block_deps`` picks the requested rows.
    """

    _parameters = ("type_label", "deps")

    @classmethod
    def stand_in(cls, label: str, deps: Sequence[tuple[np.ndarray, np.ndarray]],
                 dependencies: Sequence[Layer], token: str, chunks: Any, dtype: Any) -> "Lowered":
        from lamina.layers.codec import rebuild

        if len(deps) != len(dependencies):
            raise ValueError(f"lowered layer {label} has {len(deps)} dependency tables "
                             f"for {len(dependencies)} dependencies")
        layer = rebuild(cls, (label, tuple(deps)), token, chunks, dtype)
        layer.__dict__["dependencies"] = tuple(dependencies)
        return layer

    def label(self) -> str:
        return f"Lowered[{self.type_label}]"

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        rows = np.asarray(out_blocks, dtype=np.int64)
        return [take_rows(np.asarray(p, dtype=np.int64), np.asarray(i, dtype=np.int64), rows)
                for p, i in self.deps]

    def kernel(self) -> Kernel:
        raise RuntimeError(f"{self.label()} is a scheduler stand-in: workers run the real layer")


def take_rows(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> CSR:
    """The sub-CSR of ``rows`` (in that order), vectorized."""
    start = indptr[rows]
    count = indptr[rows + 1] - start
    out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(count, out=out_ptr[1:])
    pos = np.repeat(start - out_ptr[:-1], count) + np.arange(out_ptr[-1], dtype=np.int64)
    return out_ptr, indices[pos]
