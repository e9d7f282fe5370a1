"""Running a chunk of a batch on a pool thread, with the held tasks it makes runnable.

    out = run_tasks(worker, batch, start, stop)     # in a pool thread

A task sent ahead runs on the thread that stored its last input, right
after it (depth first: the block it reads is still in cache), without a
queue, a lock of the pool or a scheduler round trip. An input the
scheduler marked as read by that task alone (``Batch.last``) is dropped
as soon as the task ran, so an unfused chain holds one block at a time
instead of one per step until the scheduler's ``release`` comes back.
Completions go back in one ``done`` message per chunk, tasks run ahead
included, and every ``REPORT_SECONDS`` while a chunk runs longer, so that
the scheduler refills the worker's queue and sends the next tasks ahead
before this one runs dry.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lamina.worker.worker import Batch, Worker, WorkerRun

LONG_TASK_SECONDS = 1e-3
INLINE_SECONDS = 0.05
REPORT_SECONDS = 0.01
LOW_REPORT_SECONDS = 1e-3
LOW_HELD = 64
SLICE_SECONDS = 0.01


class Reports:
    """A chunk's finished tasks not yet reported, and the sending of them mid-chunk."""

    __slots__ = ("worker", "run", "thread", "began", "last", "done", "stops")

    def __init__(self, worker: Worker, run: WorkerRun, began: float, now: float) -> None:
        self.worker = worker
        self.run = run
        self.thread = worker.metrics.thread_index()
        self.began = began
        self.last = now
        self.done: list[int] = []
        self.stops: list[float] = []

    def send_due(self, now: float) -> None:
        """Report what finished if ``REPORT_SECONDS`` passed since the last report, or
        ``LOW_REPORT_SECONDS`` once this worker holds few tasks sent ahead (a long
        chain: the scheduler then sends the next ones before these run out). Not
        once the run is cancelled: the chunk's end then discards those results."""
        since = now - self.last
        if since > LOW_REPORT_SECONDS and self.done and not self.run.cancelled and (
                since > REPORT_SECONDS or self.worker.waiting.n_held < LOW_HELD):
            worker, run = self.worker, self.run
            run.started = run.started or self.began
            msg = {"op": "done", "run": run.id, "tasks": np.array(self.done, np.int64),
                   "elapsed": now - self.last, "started": run.started, "thread": self.thread,
                   "stops": np.array(self.stops)}
            worker._loop.call_soon_threadsafe(worker._tell, msg)
            worker.tasks_run += len(self.done)
            self.done, self.stops, self.last = [], [], now


def run_tasks(worker: Worker, batch: Batch, start: int, stop: int) -> tuple:
    """Run tasks ``start:stop`` of ``batch``, each followed by the held tasks it makes
    runnable. Returns ``(done, errors, elapsed since the last report, began, held
    tasks left to queue, (rest, stop) left of the chunk, (thread, end times))``."""
    run, data, fetched = batch.run, worker.data, batch.fetched
    tasks, layers, blocks = batch.tasks, batch.layer, batch.block
    ptr, dep_keys, base = batch.dep_ptr, batch.dep_keys, run.key_base
    waiting = worker.waiting
    errors: list[tuple[int, BaseException, str]] = []
    left: list[tuple[Batch, int]] = []
    rest = stop
    began = time.time()
    t0 = time.perf_counter()
    reports = Reports(worker, run, began, t0)
    done, stops = reports.done, reports.stops
    for i in range(start, stop):
        if run.cancelled:
            break
        keys = dep_keys[ptr[i]:ptr[i + 1]]
        try:
            fn = run.kernel(layers[i])
            if fetched:
                inputs = [data[k] if k in data else fetched[k] for k in keys]
            else:
                inputs = [data[k] for k in keys]
            data[base + tasks[i]] = fn(blocks[i], inputs)
        except Exception as exc:
            errors.append((tasks[i], exc, run.describe(layers[i], blocks[i])))
            continue
        done.append(tasks[i])
        stops.append(time.time())
        if waiting.n_held:
            ready = waiting.produced(base + tasks[i])
            if ready:
                ready.reverse()
                follow(worker, run, ready, reports, errors)
                done, stops = reports.done, reports.stops
                if ready:                # stopped early: queue the rest of both
                    left, rest = ready, i + 1
                    break
        if i + 1 < stop:
            now = time.perf_counter()
            reports.send_due(now)
            done, stops = reports.done, reports.stops
            spent = now - t0
            if spent > SLICE_SECONDS and spent >= LONG_TASK_SECONDS * (i + 1 - start):
                rest = i + 1     # the tasks are longer than this chunk was sized for
                break
    return (done, errors, time.perf_counter() - reports.last, began, left, (rest, stop),
            (reports.thread, np.array(stops)))


def follow(worker: Worker, run: WorkerRun, stack: list[tuple[Batch, int]], reports: Reports,
           errors: list[tuple[int, BaseException, str]]) -> None:
    """Run held tasks as their last input is made here, depth first (a chain of them
    runs to its end); stop after ``INLINE_SECONDS``, or when several are runnable and
    other threads could share them (``stack`` keeps what is left)."""
    data, base, waiting = worker.data, run.key_base, worker.waiting
    share = worker.nthreads > 1
    start = time.perf_counter()
    while stack and not run.cancelled:
        now = time.perf_counter()
        if now - start > INLINE_SECONDS or (share and len(stack) > 1):
            break
        reports.send_due(now)
        held, i = stack.pop()
        task = held.tasks[i]
        ptr, keys = held.dep_ptr, held.dep_keys
        lo, hi = ptr[i], ptr[i + 1]
        try:
            fn = run.kernel(held.layer[i])
            data[base + task] = fn(held.block[i], [data[k] for k in keys[lo:hi]])
        except Exception as exc:
            errors.append((task, exc, run.describe(held.layer[i], held.block[i])))
            continue
        last = held.last
        if last is not None:
            for k in range(lo, hi):
                if last[k]:
                    data.discard(keys[k])
        reports.done.append(task)
        reports.stops.append(time.time())
        if waiting.n_held:
            more = waiting.produced(base + task)
            if more:
                more.reverse()
                stack.extend(more)


def queue_left(worker: Worker, left: Any) -> None:
    """Queue held tasks a chunk left runnable, first, as ranges per batch (the caller
    holds ``worker.queue_lock``)."""
    by_batch: dict[int, tuple[Batch, list[int]]] = {}
    for held, i in left:
        by_batch.setdefault(id(held), (held, []))[1].append(i)
    for held, indices in reversed(list(by_batch.values())):
        worker._queue_ranges(held, sorted(indices), front=True)
