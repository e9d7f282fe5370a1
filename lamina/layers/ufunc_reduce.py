"""``ufunc.reduce`` as a tree: NumPy's own reduce on each block, then merges.

``UfuncReduceChunk`` calls ``ufunc.reduce(block, axis, dtype, keepdims=True,
where=mask_block, initial=...)`` on every block, so a ``where`` mask and the
loop dtype follow NumPy exactly; the partials are merged by the ufunc
(``ReduceCombine`` / ``ReduceAggregate`` with op ``"ufunc.NAME"``)::

    partials = UfuncReduceChunk(x, mask_or_True, "add", (1,), np.dtype("f8"), None)
    out = combine_tree(partials, "ufunc.add", (1,), (4,), False, np.dtype("f8"),
                       (("initial", 10.0),))

Only ufuncs whose reduce may be regrouped and reordered are supported
(``REORDERABLE``). ``initial`` must count once: an idempotent ufunc
(``minimum``, ``logical_and``...) takes it in every block, which also gives
empty blocks a partial; any other takes it once, when the tree finishes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.reductions import OPERATIONS, ReductionOp, _merge_with, _reduced_chunks
from lamina.layers.registry import trusted

IDEMPOTENT = ("minimum", "maximum", "fmin", "fmax", "logical_and", "logical_or",
              "bitwise_and", "bitwise_or")
REORDERABLE = IDEMPOTENT + ("add", "multiply", "logical_xor", "bitwise_xor")


def _ufunc_operation(name: str) -> ReductionOp:
    ufunc = getattr(np, name)

    def chunk(b: Any, axes: tuple, dtype: np.dtype, where: Any) -> Any:
        return ufunc.reduce(b, axis=axes, dtype=dtype, keepdims=True)

    def combine(parts: list, axis: int) -> Any:
        return _merge_with(ufunc, parts, axis)

    def finish(part: Any, initial: Any = None, **options: Any) -> Any:
        if initial is None or name in IDEMPOTENT:
            return part
        return ufunc(np.asarray(initial, dtype=part.dtype), part)

    return ReductionOp(chunk, combine, finish, identity=False)


for _name in REORDERABLE:
    OPERATIONS[f"ufunc.{_name}"] = _ufunc_operation(_name)


@trusted(version=1)
class UfuncReduceChunk(Layer):
    """Each block reduced on its own by ``np.<ufunc>.reduce`` (reduced axes kept, length 1).

    ``where`` is ``True`` or a boolean layer with the chunks of ``x``. A
    block with no elements and no ``initial`` of an ufunc without identity
    has no partial (``None``), as in ``ReduceChunk``.
    """

    _parameters = ("x", "where", "ufunc", "axes", "acc_dtype", "initial")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return _reduced_chunks(self.x.chunks, self.axes, (1,) * len(self.axes)), self.acc_dtype

    def label(self) -> str:
        return f"UfuncReduceChunk[{self.ufunc}]"

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks) for _ in self.dependencies]

    def dependency_block_maps(self, block_map: tuple) -> list[tuple]:
        return [block_map for _ in self.dependencies]

    def kernel(self) -> Kernel:
        ufunc, axes, dtype = getattr(np, self.ufunc), self.axes, self.acc_dtype
        options: dict[str, Any] = {}
        if self.initial is not None and self.ufunc in IDEMPOTENT:
            options["initial"] = self.initial
        masked = isinstance(self.where, Layer)
        may_be_empty = ufunc.identity is None and "initial" not in options

        def run(block: int, inputs: list) -> Any:
            value = inputs[0]
            if may_be_empty and any(value.shape[k] == 0 for k in axes):
                return None
            if masked:
                return ufunc.reduce(value, axis=axes, dtype=dtype, keepdims=True,
                                    where=inputs[1], **options)
            return ufunc.reduce(value, axis=axes, dtype=dtype, keepdims=True, **options)

        return run
