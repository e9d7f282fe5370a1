"""``einsum`` and ``inner``: Einstein summation over chunked operands.

    la.einsum("ij,jk->ik", a, b)       # like a @ b
    la.einsum("ii->i", m)              # diagonal
    la.einsum("...j,j", x, w)          # ellipsis broadcasting, implicit output
    la.inner(a, b)                     # sum over the last axes (a tensordot)

Every index letter gets one axis of a block grid: output letters, then each
summed letter whose operands have several blocks along it. One
``Blockwise`` task calls ``np.einsum`` on one block of each operand and
keeps the summed letters as length-1 axes; a chunked ``sum`` over those
axes finishes the job, as Dask's ``einsum`` does. Operands sharing a letter
are rechunked to common chunks along it.
"""

from __future__ import annotations

import functools
import string
from typing import Any

import numpy as np

from lamina.array.core import Array, asanyarray_like
from lamina.array.reductions import sum as chunked_sum
from lamina.layers.blockwise import Blockwise


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """Operand letter strings and the output, with ``...`` spelled out in unused letters."""
    subscripts = subscripts.replace(" ", "")
    ins, arrow, out = subscripts.partition("->")
    terms = ins.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(terms)} operands but "
                         f"{len(ndims)} were given")
    used = set(subscripts) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    n_ellipsis = max((nd - len(t.replace("...", "")) for t, nd in zip(terms, ndims)
                      if "..." in t), default=0)
    ell = "".join(spare[:n_ellipsis])
    full = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            k = nd - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ellipsis - k:] if k else "")
        bad = [c for c in t if c not in string.ascii_letters]
        if bad or len(t) != nd:
            raise ValueError(f"einsum term {t!r} does not match an operand of {nd} dimensions")
        full.append(t)
    if arrow:
        out = out.replace("...", ell)
    else:
        counts = {c: "".join(full).count(c) for c in set("".join(full)) if c not in ell}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    for c in out:
        if c not in "".join(full):
            raise ValueError(f"einsum output letter {c!r} appears in no operand")
    if len(set(out)) != len(out):
        raise ValueError(f"einsum output {out!r} repeats a letter")
    return full, out


def _block_einsum(*blocks: np.ndarray, subscripts: str, n_kept: int, dtype: np.dtype
                  ) -> np.ndarray:
    value = np.asarray(np.einsum(subscripts, *blocks, dtype=dtype))
    return value.reshape(value.shape + (1,) * n_kept)


def einsum(subscripts: str, *operands: Any, dtype: Any = None, optimize: Any = False,
           casting: str = "safe", order: str = "K", out: Any = None,
           split_every: Any = None) -> Array:
    """Einstein summation, like ``np.einsum`` (see the module docstring)."""
    if out is not None:
        raise TypeError("einsum(out=...) is not supported on lamina Arrays: use the result")
    if not isinstance(subscripts, str):
        raise TypeError("einsum takes a subscripts string first (the interleaved form of "
                        "np.einsum is not supported)")
    arrays = asanyarray_like(operands)
    terms, out_letters = _parse(subscripts, [a.ndim for a in arrays])
    if dtype is None:
        probes = [np.ones((1,) * a.ndim, dtype=a.dtype) for a in arrays]
        dtype = np.einsum(",".join(terms) + "->" + out_letters, *probes).dtype
    dtype = np.dtype(dtype)
    sizes: dict[str, int] = {}
    chunks: dict[str, tuple[int, ...]] = {}
    for t, a in zip(terms, arrays):
        for c, n, ch in zip(t, a.shape, a.chunks):
            if n != 1 and sizes.get(c, 1) not in (1, n):
                raise ValueError(f"einsum letter {c!r} has sizes {sizes[c]} and {n}")
            if n != 1 or c not in sizes:
                sizes[c] = n
            if n == sizes[c] and (c not in chunks or len(ch) > len(chunks[c])):
                chunks[c] = ch
    aligned = []
    for t, a in zip(terms, arrays):
        target = tuple(chunks[c] if n == sizes[c] else (n,) for c, n in zip(t, a.shape))
        aligned.append(a if target == a.chunks else a.rechunk(target))
    summed = [c for c in dict.fromkeys("".join(terms)) if c not in out_letters]
    multi = [c for c in summed if len(chunks[c]) > 1]
    grid = list(out_letters) + multi
    out_chunks = tuple(chunks[c] for c in out_letters) + tuple((1,) * len(chunks[c])
                                                               for c in multi)
    arg_axes = tuple(tuple(grid.index(c) if c in grid else None for c in t) for t in terms)
    func = functools.partial(_block_einsum, subscripts=",".join(terms) + "->" + out_letters,
                             n_kept=len(multi), dtype=dtype)
    layer = Blockwise(func, out_chunks, dtype, arg_axes, (), tuple(a.layer for a in aligned),
                      "einsum")
    result = Array(layer)
    if not multi:
        return result
    axes = tuple(range(len(out_letters), len(grid)))
    return chunked_sum(result, axis=axes, dtype=dtype, split_every=split_every)


def inner(a: Any, b: Any) -> Array:
    """Sum of products over the last axes, like ``np.inner`` (a product for a 0-d operand).

    A ``tensordot`` (``lamina.array.contraction``): NumPy's inner is a dot
    product, whose sum starts from the first product (``-0.0`` stays), unlike
    einsum's, which starts from ``+0.0``.
    """
    from lamina.array.contraction import tensordot

    a, b = asanyarray_like([a, b])
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} (dim "
                         f"{a.ndim - 1}) != {b.shape[-1]} (dim {b.ndim - 1})")
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


__all__ = ["einsum", "inner"]
