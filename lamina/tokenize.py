"""Deterministic tokens for layer operands.

A token is a short hex digest that is equal for equal operands, in any
process, so that structurally equal layers get the same name and shared
subexpressions collapse into one node::

    >>> tokenize(1, (2, 3), "sum") == tokenize(1, (2, 3), "sum")
    True

Two operands get the same token only if they compute the same thing, since
equal tokens merge two layers into one. So functions are hashed by what they
are, not by their name: a notebook that redefines ``f`` gets a new token::

    >>> def f(b): return b + 1
    >>> t1 = tokenize(f)
    >>> def f(b): return b * 2
    >>> tokenize(f) == t1
    False

* NumPy arrays and scalars: by dtype, shape and content.
* Python functions (``def`` and ``lambda``): by their code object (bytecode,
  constants with nested code objects, names, argument counts, flags), their
  defaults and keyword defaults, the contents of their closure cells, their
  module and qualified name, and, for functions that cannot be found again by
  that name (``__main__``, local, lambda, shadowed by a redefinition), the
  module globals their code refers to, as cloudpickle would send them.
* ``functools.partial``: its function, arguments and keywords; bound
  methods: the instance and the function.
* Builtins, ufuncs, classes and other callables found again by module and
  qualified name: by that name (they cannot be redefined under it).
* Anything else: ``pickle`` (or ``cloudpickle`` when pickle fails or refers
  to ``__main__``, whose contents pickle does not capture).
* An object neither can pickle gets a random token, kept for the object's
  life when it can be weakly referenced: it never merges with another
  object, at the price of not being deterministic across processes (such an
  object cannot travel to another process anyway).

Function tokens are not cached per function: ``__defaults__``, ``__code__``
and closure cells can be reassigned and closure contents mutated, so a
cached token could go stale and merge two different computations. Code
objects are immutable, so their part of the token is cached; hashing the
rest costs microseconds for ordinary functions.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import sys
import types
import uuid
import weakref
from typing import Any

import numpy as np

_Hash = Any  # hashlib's hash object (no public name)

_SCALARS = (bool, int, float, complex, str, bytes)


def tokenize(*args: Any) -> str:
    """Return a deterministic hex token for ``args``."""
    h = hashlib.blake2b(digest_size=16)
    active: dict[int, int] = {}
    for a in args:
        _feed(h, a, active)
    return h.hexdigest()


def _feed(h: _Hash, obj: Any, active: dict[int, int]) -> None:
    """Feed ``obj`` to ``h``; ``active`` maps ids being fed to their depth (cycle guard)."""
    token = getattr(obj, "_token", None)
    if isinstance(token, str):
        h.update(b"L" + token.encode())
        return
    if obj is None or isinstance(obj, _SCALARS):
        h.update(type(obj).__name__.encode() + b":" + repr(obj).encode() + b";")
        return
    if isinstance(obj, (tuple, list, dict, set, frozenset)) or callable(obj):
        key = id(obj)
        if key in active:
            h.update(b"cycle" + str(active[key]).encode())
            return
        active[key] = len(active)
        try:
            _feed_composite(h, obj, active)
        finally:
            del active[key]
        return
    if isinstance(obj, slice):
        h.update(b"slice")
        _feed(h, (obj.start, obj.stop, obj.step), active)
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
    _feed_pickled(h, obj)


def _feed_composite(h: _Hash, obj: Any, active: dict[int, int]) -> None:
    if isinstance(obj, (tuple, list)):
        if len(obj) > 8 and obj[0] is None and all(v is None for v in obj):  # divisions
            h.update(b"(none*" if isinstance(obj, tuple) else b"[none*")
            h.update(str(len(obj)).encode() + b")")
            return
        h.update(b"(" if isinstance(obj, tuple) else b"[")
        for item in obj:
            _feed(h, item, active)
        h.update(b")")
    elif isinstance(obj, dict):
        h.update(b"{")
        for key in sorted(obj, key=repr):
            _feed(h, key, active)
            _feed(h, obj[key], active)
        h.update(b"}")
    elif isinstance(obj, (set, frozenset)):
        h.update(b"set" if isinstance(obj, set) else b"frozenset")
        for item_token in sorted(tokenize(item) for item in obj):
            h.update(item_token.encode())
    else:
        _feed_callable(h, obj, active)


def _feed_ndarray(h: _Hash, arr: np.ndarray) -> None:
    h.update(b"nd" + arr.dtype.str.encode() + repr(arr.shape).encode())
    if arr.dtype.hasobject:
        h.update(pickle.dumps(arr.tolist()))
        return
    data = np.ascontiguousarray(arr)
    h.update(memoryview(data.reshape(-1).view(np.uint8)))


# callables -------------------------------------------------------------------

def _feed_callable(h: _Hash, func: Any, active: dict[int, int]) -> None:
    if isinstance(func, types.FunctionType):
        _feed_function(h, func, active)
    elif isinstance(func, functools.partial):
        h.update(b"partial")
        _feed(h, func.func, active)
        _feed(h, func.args, active)
        _feed(h, func.keywords, active)
    elif isinstance(func, types.MethodType):
        h.update(b"method")
        _feed(h, func.__func__, active)
        _feed(h, func.__self__, active)
    elif isinstance(func, np.ufunc):
        if getattr(np, func.__name__, None) is func:
            h.update(b"ufunc:" + func.__name__.encode())
        else:
            _feed_pickled(h, func)
    elif isinstance(func, types.BuiltinFunctionType) and not _is_module_or_none(func.__self__):
        h.update(b"builtin-method:" + func.__qualname__.encode())
        _feed(h, func.__self__, active)
    elif _by_reference(func):
        h.update(b"ref:" + func.__module__.encode() + b"." + func.__qualname__.encode())
    else:
        _feed_pickled(h, func)


def _is_module_or_none(value: Any) -> bool:
    return value is None or isinstance(value, types.ModuleType)


def _by_reference(obj: Any) -> bool:
    """Whether ``obj`` is found again by its module and qualified name (and not in ``__main__``)."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) \
            or module_name == "__main__" or "<" in qualname:
        return False
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return False
    return found is obj


def _feed_function(h: _Hash, func: types.FunctionType, active: dict[int, int]) -> None:
    code = func.__code__
    code_token, global_names = _code_token(code)
    h.update(b"function:" + str(func.__module__).encode() + b"." + func.__qualname__.encode())
    h.update(code_token)
    _feed(h, func.__defaults__, active)
    _feed(h, func.__kwdefaults__, active)
    for cell in func.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:
            h.update(b"empty-cell")
            continue
        _feed(h, contents, active)
    if _by_reference(func):
        return
    namespace = func.__globals__
    for name in global_names:
        if name in namespace:
            h.update(b"global:" + name.encode())
            _feed_global(h, namespace[name], active)


def _feed_global(h: _Hash, value: Any, active: dict[int, int]) -> None:
    if isinstance(value, types.ModuleType):
        h.update(b"module:" + value.__name__.encode())
    else:
        _feed(h, value, active)


_code_tokens: "weakref.WeakKeyDictionary[types.CodeType, tuple[bytes, tuple[str, ...]]]" = \
    weakref.WeakKeyDictionary()


def _code_token(code: types.CodeType) -> tuple[bytes, tuple[str, ...]]:
    """Digest of a code object (cached: code is immutable) and the names it and its nested code use."""
    cached = _code_tokens.get(code)
    if cached is not None:
        return cached
    h = hashlib.blake2b(digest_size=16)
    names = list(code.co_names)
    h.update(b"code:" + code.co_name.encode())
    h.update(repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                   code.co_flags, code.co_names, code.co_varnames, code.co_freevars,
                   code.co_cellvars)).encode())
    h.update(code.co_code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            nested, nested_names = _code_token(const)
            h.update(b"nested" + nested)
            names.extend(nested_names)
        else:
            _feed(h, const, {})
    result = (h.digest(), tuple(dict.fromkeys(names)))
    _code_tokens[code] = result
    return result


# anything else ---------------------------------------------------------------

def _feed_pickled(h: _Hash, obj: Any) -> None:
    try:
        data = pickle.dumps(obj, protocol=5)
    except Exception:
        data = None
    if data is not None and b"__main__" not in data:
        h.update(b"P" + data)
        return
    try:
        import cloudpickle

        h.update(b"C" + cloudpickle.dumps(obj, protocol=5))
        return
    except Exception:
        pass
    h.update(b"U" + _unique_token(obj).encode())


_unique_tokens: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def _unique_token(obj: Any) -> str:
    """A random token for an object with no deterministic content, stable while it lives."""
    try:
        token = _unique_tokens.get(obj)
    except TypeError:
        return uuid.uuid4().hex
    if token is None:
        token = uuid.uuid4().hex
        try:
            _unique_tokens[obj] = token
        except TypeError:
            pass
    return token


_identity_names: dict[int, tuple[Any, str]] = {}


def identity_token(obj: Any) -> str:
    """A random name for ``obj`` itself, the same while it lives, never reused.

    For operands too large to hash (a big in-memory array, an open zarr
    array): ``id(obj)`` alone would be reused by a later object at the same
    address, merging two different computations. The name is dropped when
    the object dies (it must be weakly referenceable; an object that is not
    gets a fresh name on every call, which never merges anything).
    """
    key = id(obj)
    entry = _identity_names.get(key)
    if entry is not None and entry[0]() is obj:
        return entry[1]
    name = uuid.uuid4().hex
    try:
        ref = weakref.ref(obj, functools.partial(_forget_identity, key))
    except TypeError:
        return name
    _identity_names[key] = (ref, name)
    return name


def _forget_identity(key: int, ref: Any) -> None:
    entry = _identity_names.get(key)
    if entry is not None and entry[0] is ref:
        del _identity_names[key]
