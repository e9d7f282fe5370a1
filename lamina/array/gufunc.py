"""``apply_gufunc``: a generalized ufunc (``"(i),(i)->()"``) over aligned blocks.

    apply_gufunc(np.mean, "(t)->()", x, axis=-1, output_dtypes=float)  # x's last axis whole
    apply_gufunc(detrend, "(t)->(t)", x, output_dtypes=float)          # same shape out

The core dimensions are the last axes of each argument; each block the
function sees holds them whole (``allow_rechunk=True`` rechunks them to one
block, otherwise several blocks there are an error, as in Dask). The loop
dimensions broadcast NumPy's way. One output is supported, whose core
dimensions are none or the first argument's; that covers ``xarray.apply_ufunc``
with ``dask="parallelized"`` for reductions along and maps over core dimensions.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lamina.array.core import Array


def _parse(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    from numpy.lib._function_base_impl import _parse_gufunc_signature

    try:
        return _parse_gufunc_signature(signature.replace(" ", ""))
    except ValueError as exc:
        raise ValueError(f"not a gufunc signature: {signature!r} ({exc})") from None


def apply_gufunc(func: Callable, signature: str, *args: Any, output_dtypes: Any = None,
                 vectorize: bool | None = False, allow_rechunk: bool = False,
                 **kwargs: Any) -> Array:
    """Apply ``func`` (a gufunc of ``signature``) to lamina arrays, block by block."""
    from lamina.array.creation import asarray, broadcast_to
    from lamina.array.map_blocks import map_blocks

    ins, outs = _parse(signature)
    if len(ins) != len(args):
        raise ValueError(f"signature {signature!r} takes {len(ins)} arguments, got {len(args)}")
    if len(outs) != 1 or outs[0] not in ((), ins[0]):
        raise NotImplementedError(
            f"signature {signature!r}: lamina applies gufuncs with one output whose core "
            f"dimensions are none or the first argument's {ins[0]}")
    arrays = [asarray(a) for a in args]
    loops = [a.shape[:a.ndim - len(core)] for a, core in zip(arrays, ins)]
    loop_shape = np.broadcast_shapes(*loops)
    whole = []
    for a, core in zip(arrays, ins):
        n_core = len(core)
        split = [a.ndim - n_core + i for i in range(n_core) if len(a.chunks[a.ndim - n_core + i]) > 1]
        if split and not allow_rechunk:
            raise ValueError(
                f"core dimension {core[split[0] - a.ndim + n_core]!r} of an argument has "
                f"{len(a.chunks[split[0]])} blocks: rechunk it to one block or pass "
                "allow_rechunk=True")
        a = a.rechunk({d: -1 for d in split}) if split else a
        target = loop_shape + a.shape[a.ndim - n_core:]
        whole.append(a if a.shape == target else broadcast_to(a, target))
    kernel = np.vectorize(func, signature=signature) if vectorize else func
    if output_dtypes is None:
        dtype = None
    else:
        dtype = np.dtype(output_dtypes[0] if isinstance(output_dtypes, (list, tuple))
                         else output_dtypes)
    n_loop = len(loop_shape)
    drop = None if outs[0] else tuple(range(n_loop, n_loop + len(ins[0])))
    return map_blocks(kernel, *whole, dtype=dtype, drop_axis=drop, **kwargs)
