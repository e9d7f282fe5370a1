"""``map_blocks``: a user function applied to each block, as in Dask.

::

    x = la.from_array(np.arange(20.0), chunks=((6, 6, 8),))
    x.map_blocks(np.cumsum)                        # same chunks, dtype inferred
    x.map_blocks(lambda b: b[:2], chunks=(2,))     # blocks of 2: declare it
    m.map_blocks(lambda b: b.sum(axis=1), drop_axis=1)
    x.map_blocks(lambda b: b[:, None] * [1, 2], new_axis=1, chunks=(x.chunks[0], 2))

The output chunks are the input's unless ``chunks=`` says otherwise, and
every block the function returns is checked against them when it is
computed (a block of another shape raises, naming the block), since a
wrong-shape block would otherwise be broadcast or summed silently. The
dtype, when not given, is found by calling the function on a one-element
block of each input, as Dask does.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from lamina.array.core import Array
from lamina.layers.blockwise import Blockwise


def map_blocks(func: Callable, *args: Any, dtype: Any = None, chunks: Any = None,
               drop_axis: Sequence[int] | int | None = None,
               new_axis: Sequence[int] | int | None = None,
               name: str | None = None, **kwargs: Any) -> Array:
    """Apply ``func`` to each block of the (aligned) array arguments.

    ``chunks`` gives the output block sizes when ``func`` changes them: one
    entry per output axis, either a tuple of sizes (one per block) or one
    int for every block along that axis. ``drop_axis`` removes axes (the
    arguments are rechunked to one block along them, so ``func`` sees whole
    axes); ``new_axis`` inserts axes of one block (of size 1, or the size
    ``chunks`` gives). ``dtype`` is inferred when not given. Extra
    ``kwargs`` are passed to ``func``; non-array ``args`` are passed as is.
    """
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        raise TypeError("map_blocks needs at least one lamina Array argument")
    base = arrays[0]
    drop = _normalize_axes(drop_axis, base.ndim, "drop_axis", "input")
    kept_ndim = base.ndim - len(drop)
    if new_axis is None and chunks is not None and len(tuple(chunks)) > kept_ndim:
        new_axis = range(len(tuple(chunks)) - kept_ndim)
    n_new = len(np.atleast_1d(new_axis)) if new_axis is not None else 0
    new = _normalize_axes(new_axis, kept_ndim + n_new, "new_axis", "output")
    out_ndim = kept_ndim + len(new)
    out_axis_of_kept = [o for o in range(out_ndim) if o not in new]
    if drop:
        base = base.rechunk({d: -1 for d in drop})
    kept = [k for k in range(base.ndim) if k not in drop]
    in_chunks = dict(zip(out_axis_of_kept, (base.chunks[k] for k in kept)))
    out_chunks = _output_chunks(chunks, in_chunks, out_ndim)
    if dtype is None:
        dtype = infer_block_dtype(func, args, kwargs)

    layer_args, arg_axes = [], []
    for a in args:
        if not isinstance(a, Array):
            layer_args.append(a)
            arg_axes.append(None)
            continue
        a = _aligned(a, base, drop)
        kept_axes = iter(out_axis_of_kept)
        arg_axes.append(tuple(None if k in drop else next(kept_axes) for k in range(a.ndim)))
        layer_args.append(a.layer)
    layer = Blockwise(func, out_chunks, np.dtype(dtype), tuple(arg_axes),
                      tuple(sorted(kwargs.items())), tuple(layer_args),
                      name or getattr(func, "__name__", None))
    return Array(layer)


def _normalize_axes(axes: Any, ndim: int, what: str, of: str) -> list[int]:
    """Sorted non-negative axes, or a clear error for out-of-range or repeated ones."""
    if axes is None:
        return []
    values = [int(a) for a in np.atleast_1d(axes).tolist()]
    for a in values:
        if not -ndim <= a < ndim:
            raise ValueError(f"{what}={axes!r} is out of range for a {ndim}-dimensional {of}")
    out = sorted(a % ndim for a in values)
    if len(set(out)) != len(out):
        raise ValueError(f"{what}={axes!r} repeats an axis")
    return out


def _output_chunks(chunks: Any, in_chunks: dict[int, tuple[int, ...]],
                   out_ndim: int) -> tuple[tuple[int, ...], ...]:
    """Output chunks: the mapped input axes' chunks, or those ``chunks`` declares."""
    if chunks is None:
        return tuple(in_chunks.get(o, (1,)) for o in range(out_ndim))
    chunks = tuple(chunks)
    if len(chunks) != out_ndim:
        raise ValueError(
            f"chunks={chunks!r} gives {len(chunks)} axes but the output has {out_ndim} "
            "(the inputs' dimensions, less drop_axis, plus new_axis): give one entry per "
            "output axis"
        )
    out = []
    for o, c in enumerate(chunks):
        nblocks = len(in_chunks.get(o, (1,)))
        sizes = (int(c),) * nblocks if isinstance(c, (int, np.integer)) \
            else tuple(int(v) for v in c)
        if len(sizes) != nblocks:
            where = "a new axis, which has one block" if o not in in_chunks \
                else f"the input has {nblocks} blocks there"
            raise ValueError(
                f"chunks={chunks!r} gives {len(sizes)} blocks on output axis {o} but "
                f"{where}: map_blocks makes one output block per input block, so rechunk "
                "the input first if you need another number of blocks"
            )
        if any(s < 0 for s in sizes):
            raise ValueError(f"chunks={chunks!r} has a negative size on output axis {o}")
        out.append(sizes)
    return tuple(out)


def _aligned(a: Array, base: Array, drop: list[int]) -> Array:
    """``a`` rechunked to ``base``'s blocks (one block on dropped and length-1 axes)."""
    if a.ndim != base.ndim:
        raise ValueError(
            f"map_blocks arguments have {a.ndim} and {base.ndim} dimensions: give arrays "
            "with the same number of dimensions (use length-1 axes to broadcast)"
        )
    for k in range(a.ndim):
        if a.shape[k] not in (base.shape[k], 1):
            raise ValueError(
                f"map_blocks arguments of shapes {a.shape} and {base.shape} do not line up "
                f"on axis {k}: give arrays of one shape, or of length 1 where they broadcast"
            )
    target = tuple(
        (a.shape[k],) if k in drop or a.shape[k] == 1 else base.chunks[k] for k in range(a.ndim)
    )
    return a if target == a.chunks else a.rechunk(target)


def infer_block_dtype(func: Callable, args: Sequence[Any], kwargs: dict) -> np.dtype:
    """The dtype ``func`` returns, from a call on a one-element block of each array.

    Like Dask's ``apply_infer_dtype``; a function that cannot run on such
    tiny blocks raises a ``ValueError`` that asks for ``dtype=``.
    """
    probes = [np.ones((1,) * a.ndim, dtype=a.dtype) if isinstance(a, Array) else a
              for a in args]
    fname = getattr(func, "__name__", type(func).__name__)
    try:
        with np.errstate(all="ignore"):
            out = func(*probes, **kwargs)
    except Exception as exc:
        raise ValueError(
            f"map_blocks could not infer the dtype {fname!r} returns: calling it on a "
            f"one-element block of each input raised {type(exc).__name__}: {exc}. "
            "Pass dtype= (the dtype of the blocks it returns)"
        ) from exc
    if isinstance(out, tuple):
        raise TypeError(f"map_blocks: {fname!r} returns a tuple, not one array block")
    return np.asarray(out).dtype if not hasattr(out, "dtype") else np.dtype(out.dtype)
