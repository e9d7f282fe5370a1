"""Deterministic tokens for layer operands.

A token is a short hex digest that is equal for equal operands, in any
process, so that structurally equal layers get the same name and shared
subexpressions collapse into one node::

    >>> tokenize(1, (2, 3), "sum") == tokenize(1, (2, 3), "sum")
    True

NumPy arrays are hashed by content; functions by their qualified name and
code; anything else by a type-specific rule below, or by ``pickle`` as a last
resort.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np


def tokenize(*args: Any) -> str:
    """Return a deterministic hex token for ``args``."""
    h = hashlib.blake2b(digest_size=16)
    for a in args:
        _feed(h, a)
    return h.hexdigest()


def _feed(h: "hashlib._Hash", obj: Any) -> None:
    token = getattr(obj, "_token", None)
    if isinstance(token, str):
        h.update(b"L" + token.encode())
        return
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(type(obj).__name__.encode() + b":" + repr(obj).encode() + b";")
        return
    if isinstance(obj, (tuple, list)):
        h.update(b"(" if isinstance(obj, tuple) else b"[")
        for item in obj:
            _feed(h, item)
        h.update(b")")
        return
    if isinstance(obj, dict):
        h.update(b"{")
        for key in sorted(obj, key=repr):
            _feed(h, key)
            _feed(h, obj[key])
        h.update(b"}")
        return
    if isinstance(obj, slice):
        h.update(b"slice")
        _feed(h, (obj.start, obj.stop, obj.step))
        return
    if isinstance(obj, np.dtype):
        h.update(b"dtype:" + obj.str.encode() + repr(obj.descr).encode())
        return
    if isinstance(obj, np.generic):
        h.update(b"np:" + obj.dtype.str.encode() + obj.tobytes())
        return
    if isinstance(obj, np.ndarray):
        _feed_ndarray(h, obj)
        return
    if hasattr(obj, "__cuda_array_interface__"):
        _feed_ndarray(h, obj.get())
        return
    if callable(obj):
        _feed_callable(h, obj)
        return
    try:
        h.update(b"P" + pickle.dumps(obj, protocol=5))
    except Exception:
        h.update(b"id" + str(id(obj)).encode())


def _feed_ndarray(h: "hashlib._Hash", arr: np.ndarray) -> None:
    h.update(b"nd" + arr.dtype.str.encode() + repr(arr.shape).encode())
    if arr.dtype.hasobject:
        h.update(pickle.dumps(arr.tolist()))
        return
    data = np.ascontiguousarray(arr)
    h.update(memoryview(data.reshape(-1).view(np.uint8)))


def _feed_callable(h: "hashlib._Hash", func: Any) -> None:
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if isinstance(func, np.ufunc):
        h.update(b"ufunc:" + func.__name__.encode())
        return
    code = getattr(func, "__code__", None)
    if name is not None and code is None:
        h.update(b"fn:" + module.encode() + b"." + name.encode())
        return
    if code is not None and "<lambda>" not in (name or "") and "<locals>" not in (name or ""):
        h.update(b"fn:" + module.encode() + b"." + name.encode())
        return
    try:
        h.update(b"fp" + pickle.dumps(func, protocol=5))
        return
    except Exception:
        pass
    if code is not None:
        h.update(b"code" + code.co_code + repr(code.co_consts).encode())
        closure = getattr(func, "__closure__", None) or ()
        for cell in closure:
            try:
                _feed(h, cell.cell_contents)
            except ValueError:
                h.update(b"empty-cell")
        return
    h.update(b"id" + str(id(func)).encode())
