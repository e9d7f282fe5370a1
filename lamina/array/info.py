"""``__array_namespace_info__``: what the namespace supports, for libraries that ask.

    info = la.__array_namespace_info__()
    info.default_dtypes()["real floating"]   # float64
    info.capabilities()["boolean indexing"]  # True: x[mask] (its size is computed)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array import dtypes as d

DEVICE = "cpu"

_KINDS = {
    "bool": ("bool",),
    "signed integer": ("int8", "int16", "int32", "int64"),
    "unsigned integer": ("uint8", "uint16", "uint32", "uint64"),
    "integral": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
    "real floating": ("float32", "float64"),
    "complex floating": ("complex64", "complex128"),
    "numeric": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float32", "float64", "complex64", "complex128"),
}


def check_device(device: Any) -> None:
    """Raise for a device other than the one this namespace computes on."""
    if device is not None and device != DEVICE:
        raise ValueError(f"device {device!r} is not supported: lamina.array computes on "
                         f"{DEVICE!r} (give device=None or {DEVICE!r})")


class Info:
    """The inspection object of the standard (``__array_namespace_info__()``)."""

    def capabilities(self) -> dict[str, Any]:
        # both compute what decides the output's size (the mask, the unique values)
        return {"boolean indexing": True, "data-dependent shapes": True}

    def default_device(self) -> str:
        return DEVICE

    def devices(self) -> list[str]:
        return [DEVICE]

    def default_dtypes(self, *, device: Any = None) -> dict[str, np.dtype]:
        check_device(device)
        return {"real floating": d.float64, "complex floating": d.complex128,
                "integral": d.int64, "indexing": d.int64}

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, np.dtype]:
        check_device(device)
        if kind is None:
            names = [str(t) for t in d.STANDARD_DTYPES]
        else:
            names = []
            for k in (kind if isinstance(kind, tuple) else (kind,)):
                if isinstance(k, np.dtype):
                    names.append(str(k))
                elif k in _KINDS:
                    names.extend(_KINDS[k])
                else:
                    raise ValueError(f"unknown dtype kind {k!r}: give one of {sorted(_KINDS)}")
        return {name: getattr(d, name) for name in dict.fromkeys(names)}


def __array_namespace_info__() -> Info:
    """The namespace's inspection object."""
    return Info()
