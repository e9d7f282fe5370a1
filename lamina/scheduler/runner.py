"""The embedded runner: the default when no cluster is given.

A pool of threads shares one compiled ``GraphState``. Each thread takes a
batch of ready tasks (best priority first) under a lock, runs the batch in
the compiled loop without the lock, then reports it and frees what the
state machine says is no longer needed. Batches grow while tasks are tiny
(so overhead per task stays around microseconds) and shrink to one task when
tasks are long (so few large blocks are held at once).

With several threads, BLAS runs single-threaded meanwhile: the threads
already use every core, and nested BLAS threads only contend.

A task's exception reaches the caller unchanged, with a note naming the
layer and block; Ctrl-C stops the threads after their current task batch.

Shuffle splits write their pieces to a temporary shard directory of the
run (``lamina.layers.frame.shards``), removed when the run ends however it
ends, so a shuffle holds one partition's pieces at a time, not all of them.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from lamina.comm.opaque import error_summary
from lamina.layers.base import Layer
from lamina.layers.blas import single_threaded_blas
from lamina.layers.frame.shards import ShardDirectory, in_memory, writing_shards
from lamina.scheduler import records
from lamina.scheduler._execute import now, release, run_batch
from lamina.scheduler._state import GraphState
from lamina.scheduler.lowering import TaskTable, lower

TARGET_BATCH_SECONDS = 2e-4
MAX_BATCH = 256


def default_threads() -> int:
    return os.cpu_count() or 1


class _Run:
    """The shared state of one computation across the pool's threads."""

    def __init__(self, table: TaskTable, nthreads: int,
                 on_progress: Callable[[int, int], None] | None) -> None:
        self.table = table
        self.state = GraphState(table.dep_indptr, table.dep_indices, table.priority,
                                table.keep_mask())
        self.kernels = [layer.kernel() for layer in table.layers]
        self.store: list[Any] = [None] * table.n_tasks
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.nthreads = nthreads
        self.error: BaseException | None = None
        self.failed_task = -1
        self.cancelled = False
        self.shards = ShardDirectory()
        self.on_progress = on_progress
        self.ptr = table.dep_indptr
        self.idx = table.dep_indices
        self.task_layer = table.task_layer
        self.task_block = table.task_block
        self.recorders = records.watching()
        if self.recorders:
            self.rid = records.next_run_id()
            names = [layer.label() for layer in table.layers]
            sizes = np.diff(table.layer_offsets).tolist()
            for recorder in self.recorders:
                recorder.run_started(self.rid, names, sizes, now())

    def record(self, ids: np.ndarray, thread: int, began: float, stops: np.ndarray) -> None:
        """Tell the recorders watching when each task of a batch ran, and on which thread."""
        starts = records.starts_of(began, stops)
        for recorder in self.recorders:
            recorder.ran(self.rid, ids, self.task_layer[ids], 0, thread, starts, stops)

    def ended(self, outcome: str, exc: BaseException | None = None, where: str = "") -> None:
        """Tell the recorders how the run ended, with its counts per layer and state."""
        if not self.recorders:
            return
        counts = self.state.layer_counts(self.table.layer_offsets)
        error = None if exc is None else error_summary(exc, where)
        for recorder in self.recorders:
            recorder.run_ended(self.rid, outcome, counts, error)

    def worker(self, thread: int = 0) -> None:
        with writing_shards(self.shards):
            self._work(thread)

    def _work(self, thread: int) -> None:
        seconds_per_task = 1.0
        stops = None
        while True:
            with self.lock:
                while (self.state.n_ready == 0 and self.state.n_running > 0
                       and not self.cancelled and self.error is None):
                    self.wake.wait()
                if self.cancelled or self.error is not None or self.state.n_ready == 0:
                    self.wake.notify_all()
                    return
                share = max(self.state.n_ready // self.nthreads, 1)
                want = int(min(TARGET_BATCH_SECONDS / max(seconds_per_task, 1e-9), MAX_BATCH))
                ids = self.state.pop_ready(max(min(share, want), 1))
            if self.recorders:
                stops = np.empty(len(ids))
                began = now()
            start = time.perf_counter()
            n_ok, exc = run_batch(ids, self.kernels, self.task_layer, self.task_block,
                                  self.ptr, self.idx, self.store, stops)
            elapsed = time.perf_counter() - start
            if stops is not None and n_ok:
                self.record(ids[:n_ok], thread, began, stops[:n_ok])
            if n_ok:
                seconds_per_task = 0.5 * seconds_per_task + 0.5 * elapsed / n_ok
            with self.lock:
                freed = self.state.finish(ids[:n_ok])
                release(self.store, freed)
                if exc is not None:
                    self.state.fail(int(ids[n_ok]))
                    if self.error is None:
                        self.error = exc
                        self.failed_task = int(ids[n_ok])
                self.wake.notify_all()
            if self.on_progress is not None:
                self.on_progress(self.state.n_done, self.table.n_tasks)


def run_table(table: TaskTable, nthreads: int | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """Run every task of ``table``; return the store (outputs kept)."""
    nthreads = max(min(int(nthreads or default_threads()), table.n_tasks), 1)  # none idle
    if nthreads > 1:
        with single_threaded_blas():
            return _run_threads(table, nthreads, on_progress)
    return _run_threads(table, nthreads, on_progress)


def _run_threads(table: TaskTable, nthreads: int,
                 on_progress: Callable[[int, int], None] | None) -> list[Any]:
    run = _Run(table, nthreads, on_progress)
    try:
        _join(run, nthreads)
        if run.error is not None:
            exc = run.error
            where = table.describe_task(run.failed_task)
            exc.add_note(f"lamina: raised while computing {where}")
            run.ended("failed", exc, where)
            raise exc
        if not run.state.complete:
            exc = RuntimeError(f"computation stopped with {table.n_tasks - run.state.n_done} of "
                               f"{table.n_tasks} tasks unfinished")
            run.ended("failed", exc)
            raise exc
        run.ended("done")
        if run.shards.files_written:    # an output that is a split: read before removal
            return [in_memory(block) for block in run.store]
        return run.store
    finally:
        run.shards.close()


def _join(run: _Run, nthreads: int) -> None:
    threads = [threading.Thread(target=run.worker, args=(i,), name=f"lamina-runner-{i}",
                                daemon=True) for i in range(nthreads)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.1)
    except BaseException as exc:
        with run.lock:
            run.cancelled = True
            run.wake.notify_all()
        for t in threads:
            t.join()
        run.ended("cancelled", exc)
        raise


def compute_blocks(roots: Sequence[Layer], nthreads: int | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> list[list[Any]]:
    """Compute every block of each root; return them in flat block order."""
    table = lower(list(roots))
    store = run_table(table, nthreads, on_progress)
    return [[store[t] for t in out.tolist()] for out in table.outputs]


def assemble(layer: Layer, blocks: list[Any]) -> Any:
    """Put a layer's computed blocks together into one array (a scalar for 0-d).

    A layer with its own way of joining blocks (a frame's partitions) says so
    with ``combine_blocks``.
    """
    combine = getattr(layer, "combine_blocks", None)
    if combine is not None:
        return combine(blocks)
    xp = layer.array_module
    if layer.ndim == 0:
        return xp.asarray(blocks[0])[()]
    out = xp.empty(layer.shape, dtype=layer.dtype)
    starts = [np.concatenate([[0], np.cumsum(c)]).tolist() for c in layer.chunks]
    for flat, value in enumerate(blocks):
        idx = layer.block_index(flat)
        region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))
        out[region] = value
    return out
