"""lamina arrays as Dask arrays, chunks kept (``lamina.array.from_dask`` is the way in).

``to_dask(arr)`` is a Dask array whose graph is one high-level
layer, ``LaminaGraphLayer``: it holds lamina's optimized plan and makes
Dask tasks from lamina's integer task table only when Dask asks for them
(when it iterates, looks up or culls the layer), so building and passing
the collection around costs nothing per chunk.

Each Dask task calls the block's kernel, the same function lamina's own
runner calls, on the values of its dependencies; the layer travels to Dask
workers pickled, once per layer, inside ``LayerKernel``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
from dask._task_spec import Task, TaskRef
from dask.highlevelgraph import HighLevelGraph, Layer

from lamina.layers.base import Layer as LaminaLayer
from lamina.layers.dask_source import FromDask

if TYPE_CHECKING:
    import dask.array

    from lamina.array.core import Array


def to_dask(arr: "Array", optimize_graph: bool = True) -> "dask.array.Array":
    """A Dask array computing ``arr`` from lamina's plan (optimized as lamina would).

    Its graph is one ``LaminaGraphLayer``; its chunks are ``arr``'s. An
    array made by ``from_dask`` and not changed since gives back its Dask array.
    """
    import dask.array as da

    from lamina.compute import optimized

    (plan,) = optimized([arr.layer], optimize_graph)
    if isinstance(plan, FromDask):
        return plan.array.value
    name = "lamina-" + plan.name
    layer = LaminaGraphLayer(name, plan)
    graph = HighLevelGraph({name: layer}, {name: set()})
    meta = np.empty((0,) * plan.ndim, dtype=plan.dtype)
    return da.Array(graph, name, plan.chunks, meta=meta)


class LayerKernel:
    """A lamina layer's kernel for Dask tasks: pickles as the layer, builds the
    kernel once per process on first call."""

    def __init__(self, layer: LaminaLayer) -> None:
        self.layer = layer

    @cached_property
    def kernel(self) -> Any:
        return self.layer.kernel()

    def __call__(self, block: int, *inputs: Any) -> Any:
        return self.kernel(block, list(inputs))

    def __reduce__(self) -> tuple:
        return (type(self), (self.layer,))


class LaminaGraphLayer(Layer):
    """A Dask high-level layer standing for a whole lamina plan.

    Output keys are ``(name, *block_index)``, as Dask arrays expect; the
    plan's inner tasks are ``(name + "-task", task id)``. Lowering (NumPy,
    no Python object per task) happens on first use; the ``Task`` objects
    only when Dask asks for the mapping itself.
    """

    def __init__(self, name: str, plan: LaminaLayer) -> None:
        super().__init__()
        self.name, self.plan = name, plan

    @cached_property
    def _table(self) -> Any:
        from lamina.scheduler.lowering import lower

        return lower([self.plan])

    @cached_property
    def _keys(self) -> list:
        """The Dask key of every lamina task, by task id."""
        table = self._table
        keys: list = [(self.name + "-task", i) for i in range(table.n_tasks)]
        out = table.outputs[0]
        for t, index in zip(out.tolist(), np.ndindex(*self.plan.numblocks)):
            keys[t] = (self.name, *index)
        return keys

    @cached_property
    def _tasks(self) -> dict:
        table, keys = self._table, self._keys
        kernels = [LayerKernel(layer) for layer in table.layers]
        ptr, idx = table.dep_indptr.tolist(), table.dep_indices.tolist()
        layer_of, block_of = table.task_layer.tolist(), table.task_block.tolist()
        return {
            keys[t]: Task(keys[t], kernels[layer_of[t]], block_of[t],
                          *(TaskRef(keys[d]) for d in idx[ptr[t]:ptr[t + 1]]))
            for t in range(table.n_tasks)
        }

    def is_materialized(self) -> bool:
        return "_tasks" in self.__dict__

    def get_output_keys(self) -> set:
        return {(self.name, *index) for index in np.ndindex(*self.plan.numblocks)}

    def __getitem__(self, key: Any) -> Task:
        return self._tasks[key]

    def __iter__(self) -> Iterator:
        return iter(self._tasks)

    def __len__(self) -> int:
        return self._table.n_tasks

    def __repr__(self) -> str:
        return f"LaminaGraphLayer<{self.name}, {self.plan.label()}>"
