"""The trusted-layer registry: the layer types a scheduler plans from params.

A scheduler never runs user code, yet it must know, for every output block
of every layer, which input blocks it reads. For the types listed here it
rebuilds the layer from its plain parameters (shapes, chunks, axes, slices,
split sizes; functions stay opaque blobs) and calls the layer's own
``block_deps``. Any other type arrives *lowered*: the client computed its
block dependencies and sent them as integer arrays, which the ``Lowered``
stand-in serves (slower to send, still correct)::

    trusted_class("Blockwise")            # the class, imported on first use
    is_trusted(Blockwise)                 # True
    signature()["Rechunk"]                # (1, ("x", "new_chunks"))
    register(MyLayer, version=1)          # trust a third-party layer type

Each entry is versioned: bump ``version`` when a layer's parameters change
meaning. Peers exchange ``signature()`` when they connect, and a client
sends a type as params only when the scheduler's entry equals its own.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Sequence

import numpy as np

from lamina.layers.base import CSR, Kernel, Layer

TRUSTED: dict[str, tuple[str, int]] = {
    "Blockwise": ("lamina.layers.blockwise", 1),
    "Rechunk": ("lamina.layers.rechunk", 1),
    "FromArray": ("lamina.layers.sources", 1),
    "Full": ("lamina.layers.sources", 1),
    "Arange": ("lamina.layers.sources", 1),
    "Linspace": ("lamina.layers.sources", 1),
    "FromBlocks": ("lamina.layers.sources", 1),
    "RandomBlocks": ("lamina.layers.random", 1),
    "BasicSlice": ("lamina.layers.slicing", 1),
    "TakeAxis": ("lamina.layers.slicing", 1),
    "Transpose": ("lamina.layers.transpose", 1),
    "Reshape": ("lamina.layers.reshape", 1),
    "Concatenate": ("lamina.layers.concatenate", 1),
    "Contraction": ("lamina.layers.contraction", 1),
    "ReduceChunk": ("lamina.layers.reductions", 1),
    "ReduceCombine": ("lamina.layers.reductions", 1),
    "ReduceAggregate": ("lamina.layers.reductions", 1),
    "FromZarr": ("lamina.layers.zarr_io", 1),
    "StoreZarr": ("lamina.layers.zarr_io", 1),
    "Held": ("lamina.layers.held", 1),
    "Fused": ("lamina.layers.fused", 1),
    "ZarrRegion": ("lamina.layers.regions", 1),
    "RandomRegion": ("lamina.layers.regions", 1),
    # linear algebra: pass layers, their small structural layers, TSQR, sources
    "RowPass": ("lamina.layers.linalg.pass_layers", 1),
    "BlockY": ("lamina.layers.linalg.pass_layers", 1),
    "BlockW": ("lamina.layers.linalg.pass_layers", 1),
    "BlockQtA": ("lamina.layers.linalg.pass_layers", 1),
    "Pick": ("lamina.layers.linalg.combine", 1),
    "TreeSum": ("lamina.layers.linalg.combine", 1),
    "Drain": ("lamina.layers.linalg.combine", 1),
    "BlockQR": ("lamina.layers.linalg.tsqr_layers", 1),
    "StackQR": ("lamina.layers.linalg.tsqr_layers", 1),
    "TopFactor": ("lamina.layers.linalg.tsqr_layers", 1),
    "ChildFactor": ("lamina.layers.linalg.tsqr_layers", 1),
    "ApplyFactor": ("lamina.layers.linalg.tsqr_layers", 1),
    "ColumnSigns": ("lamina.layers.linalg.tsqr_layers", 1),
    "FirstBlockQR": ("lamina.layers.linalg.tsqr_layers", 1),
    "ShortFatR": ("lamina.layers.linalg.tsqr_layers", 1),
    "GenotypeBlocks": ("lamina.layers.linalg.genotypes", 1),
    "Payloads": ("lamina.layers.linalg.sources", 1),
    "HoldPacked": ("lamina.layers.linalg.sources", 1),
    "EncodedBlocks": ("lamina.layers.linalg.sources", 1),
    "ZarrBlocks": ("lamina.layers.linalg.sources", 1),
    "EncodeBlocks": ("lamina.layers.linalg.encode", 1),
    "WriteZarr": ("lamina.layers.linalg.encode", 1),
}

Signature = dict[str, tuple[int, tuple[str, ...]]]


def trusted_class(name: str) -> type:
    """The layer class registered as ``name``; KeyError names the fix."""
    entry = TRUSTED.get(name)
    if entry is None:
        raise KeyError(f"layer type {name!r} is not in the trusted registry: send it lowered "
                       "or register it on the scheduler with lamina.layers.registry.register")
    cls = getattr(importlib.import_module(entry[0]), name)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"registry entry {name!r} is not a Layer class")
    return cls


def is_trusted(cls: type) -> bool:
    """True when ``cls`` itself (not a namesake) is registered."""
    entry = TRUSTED.get(cls.__name__)
    return entry is not None and entry[0] == cls.__module__


def register(cls: type, version: int = 1) -> None:
    """Trust a layer type: its ``block_deps`` must need only plain parameters."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register takes a Layer subclass, got {cls!r}")
    TRUSTED[cls.__name__] = (cls.__module__, int(version))


def signature() -> Signature:
    """``{name: (version, parameter names)}`` of every registered type.

    A type whose module is not installed in this process is left out, so
    it is not trusted by peers either.
    """
    out: Signature = {}
    for name, (_, version) in TRUSTED.items():
        try:
            cls = trusted_class(name)
        except ImportError:
            continue
        out[name] = (version, tuple(cls._parameters))
    return out


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


class Lowered(Layer):
    """Scheduler-side stand-in for a layer of an untrusted type.

    ``deps`` holds, per dependency, the CSR over *all* output blocks that
    the client computed; ``block_deps`` picks the requested rows.
    """

    _parameters = ("type_label", "deps")

    @classmethod
    def stand_in(cls, label: str, deps: Sequence[tuple[np.ndarray, np.ndarray]],
                 dependencies: Sequence[Layer], token: str, chunks: Any, dtype: Any) -> "Lowered":
        from lamina.comm.wire import WireError, rebuild

        if len(deps) != len(dependencies):
            raise WireError(f"lowered layer {label} has {len(deps)} dependency tables "
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
