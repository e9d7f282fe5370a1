"""The one path from expression to result: optimize once, then run here or submit.

    lamina.compute(a + b, (a + b).sum())       # values, in order
    lamina.persist(x + 1)                      # the same arrays, blocks kept
    y_blocks, w_blocks = lamina.compute_blocks(y, w)   # y_blocks[i]: block i of y

Every computation, embedded or on a cluster, goes through ``run``:
``optimized`` rewrites the root layers (the one policy: the optimizer
settings in force, ``optimize_graph=False`` or ``LAMINA_OPTIMIZE=0`` skips
it, blocks held on a cluster are never fused, a failing rule warns and the
plan runs unoptimized), then the embedded runner computes the plan or the
client submits it. ``lamina.compute``, ``persist`` and ``compute_blocks``
pick the client of the innermost ``with client:`` block, if any; the
``Client`` methods of the same names pass themselves. Collections computed
together share their common layers (equal tokens are one node), so
``a + b`` above is computed once.

``compute_blocks`` is the same computation without assembling: each input's
blocks come back as a list in flat (C) block order, which is what a
multi-pass algorithm wants from a pass whose blocks are small results.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

from lamina.layers.base import Layer, layer_of
from lamina.layers.held import Held
from lamina.layers.walk import topological

if TYPE_CHECKING:
    from lamina.array.core import Array
    from lamina.client import Client, Future
    from lamina.optimizer.pipeline import Plan

Progress = Callable[[int, int], None]
Mode = Literal["assemble", "blocks", "persist"]
TASK_RETURNED = "a task (e.g. a map_blocks function) returned a value"
"""What a computation gives per root: its array, its list of blocks, or the
same array with its blocks kept (in memory here, on the workers on a cluster)."""


def optimized(layers: Sequence[Layer], optimize_graph: bool = True) -> list[Layer]:
    """The layers a computation runs: the optimizer's output, the same for every runner.

    The settings in force apply (``lamina.optimizer.set_options``). Blocks
    held on a cluster's workers are never fused into other tasks, since
    the scheduler must see them to read them in place. Should a rule fail,
    the computation warns and runs the layers unoptimized.
    """
    return planned(layers, optimize_graph)[0]


def planned(layers: Sequence[Layer],
            optimize_graph: bool = True) -> tuple[list[Layer], tuple[tuple[str, str], ...]]:
    """``optimized`` with the plan's speculative-dispatch hints: ``(producer, consumer)``
    layer names a cluster may send ahead along (the embedded runner needs none)."""
    plan = optimized_plan(layers, optimize_graph)
    return list(plan.layers), plan.hints


def optimized_plan(layers: Sequence[Layer], optimize_graph: bool = True) -> "Plan":
    """The optimizer's ``Plan`` of what a computation runs (see ``optimized``); the
    layers as given, with an empty trace, when it is skipped or fails."""
    import warnings

    from lamina.optimizer import options
    from lamina.optimizer.options import updated
    from lamina.optimizer.pipeline import Plan, optimize_plan
    from lamina.optimizer.trace import Trace

    unchanged = Plan(tuple(layers), tuple(layers), Trace())
    if not optimize_graph:
        return unchanged
    opts = options()
    if any(isinstance(layer, Held) for layer in topological(layers)):
        opts = updated(opts, disabled_rules=opts.disabled_rules | {"blockwise_fusion",
                                                                   "partitionwise_fusion"})
    try:
        return optimize_plan(layers, options=opts)
    except Exception as exc:
        warnings.warn(f"the optimizer failed ({type(exc).__name__}: {exc}); computing the "
                      "plan unoptimized", RuntimeWarning, stacklevel=2)
        return unchanged


def run(layers: Sequence[Layer], mode: Mode = "assemble", *, optimize_graph: bool = True,
        client: "Client | None" = None, nthreads: int | None = None,
        on_progress: Progress | None = None) -> list["Future"]:
    """Compute root layers together; a ``Future`` per root.

    Optimizes once (``optimized``), then hands the plan to ``client`` (a run
    on its cluster; the futures resolve as it finishes) or, without one, to
    the embedded runner with ``nthreads`` threads (the futures are finished
    on return, and a task's exception is raised here).
    ``on_progress(done, total)`` is called as tasks finish; without one, the
    bar of an enclosing ``lamina.diagnostics.progress()`` block, if any.
    """
    from lamina.client.futures import Future
    from lamina.diagnostics.progress import active_progress
    from lamina.scheduler import records, runner

    if not layers:
        return []
    if on_progress is None:
        on_progress = active_progress()
    started = time.time()
    optimized = optimized_plan(layers, optimize_graph)
    plan = list(optimized.layers)
    for recorder in records.watching():
        recorder.planned(optimized)
    if client is not None:
        from lamina.optimizer.provenance import rules_per_layer

        made_by = {name: list(rules) for name, rules in rules_per_layer(optimized).items()
                   if rules}
        return client._submit(plan, mode, on_progress, started, optimized.hints, made_by)
    blocks = runner.compute_blocks(plan, nthreads=nthreads, on_progress=on_progress)
    if mode == "assemble":
        from lamina.client.results import check_blocks

        check_blocks(plan, blocks, arrays=True, source=TASK_RETURNED)
    if mode == "persist":
        return [Future.finished(_kept(layer, b)) for layer, b in zip(layers, blocks)]
    return [Future.finished(value) for value in values_of(plan, blocks, mode)]


def values_of(plan: Sequence[Layer], blocks: list[list[Any]], mode: Mode) -> list[Any]:
    """What a computation gives per root from its blocks: the assembled array
    (``"assemble"``) or the blocks themselves (``"blocks"``)."""
    from lamina.scheduler.runner import assemble

    if mode == "assemble":
        return [assemble(layer, layer_blocks) for layer, layer_blocks in zip(plan, blocks)]
    return blocks


def _kept(layer: Layer, blocks: list[Any]) -> Any:
    """``layer`` persisted in this process: an array (or frame) over its computed blocks."""
    from lamina.layers.frame.base import FrameLayer

    if isinstance(layer, FrameLayer):
        from lamina.dataframe.core import wrap
        from lamina.layers.frame.sources import persisted_partitions

        return wrap(persisted_partitions(blocks, layer.meta, layer.divisions))
    from lamina.array.core import Array
    from lamina.array.creation import from_blocks_like

    return from_blocks_like(Array(layer), blocks)


def layers_of(collections: Sequence[Any], caller: str) -> list[Layer]:
    """The root layer of each collection (a layer stands for itself)."""
    layers = []
    for c in collections:
        layer = layer_of(c)
        if layer is None:
            raise TypeError(f"{caller} takes lamina collections or Layers, got "
                            f"{type(c).__name__}: wrap data with lamina.array.from_array "
                            "or lamina.dataframe.from_pandas first")
        layers.append(layer)
    return layers


def _active_client() -> "Client | None":
    from lamina.client import active_client

    return active_client()


def compute(*collections: Any, nthreads: int | None = None, optimize_graph: bool = True,
            on_progress: Progress | None = None) -> tuple[Any, ...]:
    """Compute several collections together; return their values in order.

    Anything that is not a lamina collection is returned unchanged.
    ``on_progress(done, total)`` is called as tasks finish; ``nthreads``
    applies to the embedded runner only.
    """
    return _each_array_replaced(collections, "assemble", optimize_graph=optimize_graph,
                                nthreads=nthreads, on_progress=on_progress)


def compute_blocks(*collections: "Array | Layer", nthreads: int | None = None,
                   optimize_graph: bool = True,
                   on_progress: Progress | None = None) -> list[list[Any]]:
    """Compute the blocks of several arrays (or layers) together, without assembling them.

    Returns one list per input: its blocks in flat (C) block order, as the
    kernels made them (a tuple-valued layer gives its tuples). The blocks of
    an Array must be arrays of its dtype and block shapes, else
    ``ResultError`` names the first that is not. Inside
    ``with lamina.Client(...)`` the blocks are computed on that cluster and
    gathered here; otherwise the embedded runner computes them with
    ``nthreads`` threads. ``on_progress(done, total)`` is called as tasks
    finish, on a cluster too (there at most ten times a second, and once
    at the end).
    """
    from lamina.array.core import Array
    from lamina.client.results import check_blocks

    futures = run(layers_of(collections, "compute_blocks"), "blocks",
                  optimize_graph=optimize_graph, client=_active_client(), nthreads=nthreads,
                  on_progress=on_progress)
    results = [f.result() for f in futures]
    for c, blocks in zip(collections, results):
        if isinstance(c, Array):
            check_blocks([c.layer], [blocks], arrays=True, source=TASK_RETURNED)
    return results


def persist(*collections: Any, nthreads: int | None = None,
            optimize_graph: bool = True) -> tuple[Any, ...]:
    """Compute the blocks of several collections and keep them, still chunked.

    Arrays keep their chunks, frames their partitions, divisions and meta.
    Inside ``with lamina.Client(...)`` the blocks stay on that cluster's
    workers; otherwise in this process.
    """
    return _each_array_replaced(collections, "persist", optimize_graph=optimize_graph,
                                nthreads=nthreads)


def _each_array_replaced(collections: Sequence[Any], mode: Mode, **how: Any) -> tuple[Any, ...]:
    """``collections`` with each collection replaced by what ``run`` gives for it.

    Arrays and dataframes computed together share their common layers.
    """

    def taken(c: Any) -> bool:
        if mode == "persist" and isinstance(c, Layer):
            raise TypeError(f"persist takes lamina Arrays and DataFrames; a "
                            f"{type(c).__name__} is computed with lamina.compute")
        return layer_of(c) is not None and not isinstance(c, Layer)

    chosen = [c for c in collections if taken(c)]
    futures = iter(run([layer_of(c) for c in chosen], mode, client=_active_client(), **how))
    return tuple(next(futures).result() if taken(c) else c for c in collections)
