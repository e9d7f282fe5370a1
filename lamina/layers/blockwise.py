"""Blockwise layers: one output block from one block of each input.

``Blockwise`` covers every elementwise operation (ufuncs, operators,
``astype``, ``where``) and ``map_blocks``. Each array argument declares, per
axis, the output axis it lines up with (``None``: an axis the function
drops, which must be one block). An argument with one block along an axis
where the output has many is broadcast: every output block reads its block
0 there.

The kernel checks each block the function returns against the declared
chunks and dtype (except for a ufunc over inputs whose chunks are the
output's, whose blocks are right by construction): a block of the wrong
shape would otherwise be broadcast or summed silently downstream, so it
raises ``BlockShapeError`` naming the layer, the block index and both
shapes. A block whose dtype differs from the
declared one is cast to it when NumPy's "safe" rule allows (say float32 to a
declared float64), so ``compute()`` returns the declared dtype; otherwise it
raises ``BlockDtypeError``.
"""

from __future__ import annotations

import functools
from functools import cached_property
from typing import Any, Callable

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.blockmaps import BlockMap, grid_map
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted


@trusted(version=1)
class Blockwise(Layer):
    """``func(*args, **kwargs)`` applied block by block.

    ``arg_axes[i]`` is None for a constant argument, else a tuple giving for
    each axis of ``args[i]`` the output axis it maps to (or None).
    """

    _parameters = ("func", "out_chunks", "out_dtype", "arg_axes", "kwargs", "args", "fname")
    _defaults = {"kwargs": (), "fname": None}

    @cached_property
    def dependencies(self) -> tuple[Layer, ...]:
        return tuple(a for a in self.args if isinstance(a, Layer))

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.out_chunks, self.out_dtype

    def label(self) -> str:
        return f"Blockwise[{self.fname or getattr(self.func, '__name__', 'func')}]"

    def _axis_tables(self, arg: Layer, axes: tuple) -> tuple[list[AxisMap], list[int | None]]:
        out_nb = self.numblocks
        maps, out_axis_of = [], []
        for k, o in enumerate(axes):
            nb = arg.numblocks[k]
            if o is None:
                maps.append(AxisMap.constant(1))
            elif nb == out_nb[o]:
                maps.append(AxisMap.identity(nb))
            else:
                maps.append(AxisMap.constant(out_nb[o]))
            out_axis_of.append(o)
        return maps, out_axis_of

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = []
        for arg, axes in zip(self.args, self.arg_axes):
            if not isinstance(arg, Layer):
                continue
            if tuple(axes) == tuple(range(self.ndim)) and arg.numblocks == self.numblocks:
                out.append(one_to_one(out_blocks))
                continue
            maps, out_axis_of = self._axis_tables(arg, axes)
            out.append(product_deps(out_blocks, self.numblocks, maps, arg.numblocks, out_axis_of))
        return out

    def dependency_block_maps(self, block_map: BlockMap) -> list[BlockMap]:
        return [grid_map(self.numblocks, arg, axes, block_map)
                for arg, axes in zip(self.args, self.arg_axes) if isinstance(arg, Layer)]

    def kernel(self) -> Kernel:
        call = self._call()
        if _is_plain_ufunc(self.func) and self._chunks_follow_inputs():
            return call
        return _checked(call, self)

    def _chunks_follow_inputs(self) -> bool:
        """Whether each output axis has the chunks of an input mapped to it (others broadcast)."""
        covered = set()
        for arg, axes in zip(self.args, self.arg_axes):
            if not isinstance(arg, Layer):
                continue
            for k, o in enumerate(axes):
                if o is None:
                    return False
                if arg.chunks[k] == self.chunks[o]:
                    covered.add(o)
                elif arg.shape[k] != 1:
                    return False
        return len(covered) == self.ndim

    def _call(self) -> Kernel:
        func: Callable = self.func
        kwargs = dict(self.kwargs)
        is_layer = [isinstance(a, Layer) for a in self.args]
        if all(is_layer):
            if kwargs:
                return lambda block, inputs: func(*inputs, **kwargs)
            return lambda block, inputs: func(*inputs)
        consts = list(self.args)
        if len(consts) == 2 and not kwargs:
            if is_layer[0]:
                c1 = consts[1]
                return lambda block, inputs: func(inputs[0], c1)
            c0 = consts[0]
            return lambda block, inputs: func(c0, inputs[0])

        def run(block: int, inputs: list) -> Any:
            it = iter(inputs)
            call = [next(it) if lay else c for lay, c in zip(is_layer, consts)]
            return func(*call, **kwargs)

        return run


class BlockShapeError(ValueError):
    """A function returned a block whose shape differs from the declared chunks."""


class BlockDtypeError(TypeError):
    """A function returned a block that cannot be cast safely to the declared dtype."""


def _is_plain_ufunc(func: Any) -> bool:
    """A ufunc (or a partial of one) returns the broadcast shape and its inferred dtype."""
    while isinstance(func, functools.partial):
        func = func.func
    return isinstance(func, np.ufunc)


def _checked(call: Kernel, layer: Blockwise) -> Kernel:
    """``call`` with each returned block checked against the layer's chunks and dtype."""
    chunks, numblocks, dtype, ndim = layer.chunks, layer.numblocks, layer.dtype, layer.ndim

    def run(block: int, inputs: list) -> Any:
        out = call(block, inputs)
        try:
            shape = out.shape
        except AttributeError:
            if ndim:
                raise BlockShapeError(_shape_message(layer, block, None, type(out).__name__))
            return out
        ok = len(shape) == ndim
        flat = block
        for k in range(ndim - 1, -1, -1) if ok else ():
            flat, r = divmod(flat, numblocks[k])
            if shape[k] != chunks[k][r]:
                ok = False
                break
        if not ok:
            raise BlockShapeError(_shape_message(layer, block, tuple(shape), None))
        got = getattr(out, "dtype", dtype)
        if got is not dtype and got != dtype:
            if not np.can_cast(got, dtype, casting="safe"):
                raise BlockDtypeError(
                    f"{_describe(layer)} returned block {layer.block_index(block)} of dtype "
                    f"{got}, but the layer declares dtype {dtype}, which it cannot be cast to "
                    f"safely: pass dtype={str(got)!r}, or cast inside the function"
                )
            out = out.astype(dtype)
        return out

    return run


def _describe(layer: Blockwise) -> str:
    name = layer.fname or getattr(layer.func, "__name__", None) or type(layer.func).__name__
    return f"{layer.label()} (function {name!r})" if name not in layer.label() else layer.label()


def _shape_message(layer: Blockwise, block: int, shape: tuple | None, kind: str | None) -> str:
    index = layer.block_index(block)
    expected = tuple(c[i] for c, i in zip(layer.chunks, index))
    got = f"a {kind}, not an array" if shape is None else f"shape {shape}"
    return (
        f"{_describe(layer)} returned {got} for block {index}, but the declared chunks "
        f"give that block shape {expected}. If the function changes the "
        "shape of its blocks, pass map_blocks(..., chunks=...) with the block sizes it "
        "returns (and drop_axis=/new_axis= when it removes or adds dimensions)"
    )


def validate_alignment(out_chunks: Chunks, args: tuple, arg_axes: tuple) -> None:
    """Raise if an argument's blocks do not line up with the output's."""
    for arg, axes in zip(args, arg_axes):
        if not isinstance(arg, Layer):
            continue
        if len(axes) != arg.ndim:
            raise ValueError(f"arg_axes {axes} do not match an argument with {arg.ndim} dimensions")
        for k, o in enumerate(axes):
            if o is None:
                if arg.numblocks[k] != 1:
                    raise ValueError(
                        f"axis {k} of an argument is dropped but has {arg.numblocks[k]} blocks: "
                        "rechunk it to one block along that axis first"
                    )
                continue
            if arg.chunks[k] != out_chunks[o] and arg.numblocks[k] != 1:
                raise ValueError(
                    f"chunks {arg.chunks[k]} of an argument do not match output chunks "
                    f"{out_chunks[o]} on axis {o}: rechunk the arguments to common chunks"
                )
