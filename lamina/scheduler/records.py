"""Who is watching computations run here, and what they are told.

A ``Recorder`` keeps task records (``_records.TaskRecords``: C arrays, no
Python object per task) and the layers of each run. The embedded runner
feeds every recorder in ``watching()`` as its threads finish batches, and
``lamina.compute`` tells them each plan it runs; nothing is recorded while
nobody watches::

    recorder = Recorder()
    with watched(recorder):
        lamina.compute(x)
    cursor, recent = recorder.records.since(0)

The scheduler keeps its own ``TaskRecords`` for the dashboard (``dashboard``).
"""

from __future__ import annotations

import base64
import itertools
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from lamina.layers.base import Layer
from lamina.scheduler._records import FIELDS, TaskRecords

DEFAULT_CAPACITY = 1_000_000

_watchers: list["Recorder"] = []
_lock = threading.Lock()
_run_ids = itertools.count(1)


class Recorder:
    """Task records, run layer names and plans of the computations it watched."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.records = TaskRecords(capacity)
        self.runs: dict[int, dict[str, Any]] = {}
        self.plans: list[Any] = []
        self.lock = threading.Lock()

    def run_started(self, rid: int, layer_names: Sequence[str], layer_sizes: Sequence[int],
                    started: float) -> None:
        with self.lock:
            self.runs[rid] = {"layers": list(layer_names), "sizes": [int(n) for n in layer_sizes],
                              "n_tasks": int(sum(layer_sizes)), "started": started}

    def run_ended(self, rid: int, outcome: str, counts: np.ndarray,
                  error: dict[str, str] | None) -> None:
        """How a run ended ("done", "failed", "cancelled"), its tasks per layer and
        state (``GraphState.layer_counts``) and, if it failed, the error in words."""
        with self.lock:
            run = self.runs.get(rid)
            if run is not None:
                run.update(outcome=outcome, counts=np.asarray(counts).tolist(), error=error)

    def ran(self, rid: int, tasks: np.ndarray, layers: np.ndarray, worker: int, thread: int,
            starts: np.ndarray, stops: np.ndarray) -> None:
        with self.lock:
            self.records.add(rid, tasks, layers, worker, thread, starts, stops)

    def planned(self, plan: Any) -> None:
        """Keep an optimizer ``Plan`` (held as an opaque object: the scheduler
        package never loads the optimizer)."""
        with self.lock:
            self.plans.append(plan)


def watching() -> list[Recorder]:
    """The recorders active now (a copy: safe to iterate while others stop watching)."""
    return list(_watchers)


@contextmanager
def watched(recorder: Recorder) -> Iterator[Recorder]:
    """Feed ``recorder`` every task run and plan computed here inside the block."""
    with _lock:
        _watchers.append(recorder)
    try:
        yield recorder
    finally:
        with _lock:
            _watchers.remove(recorder)


def next_run_id() -> int:
    """A run id for the embedded runner's records, unique in this process."""
    return next(_run_ids)


def starts_of(began: float, stops: np.ndarray) -> np.ndarray:
    """Each task's start in a batch run back to back: the previous one's stop."""
    starts = np.empty_like(stops)
    if len(stops):
        starts[0] = began
        starts[1:] = stops[:-1]
    return starts


def compact_tasks(tasks: dict[str, Any], binary: bool = False) -> dict[str, Any]:
    """Task records for a page: times as whole microseconds after ``base`` (seconds).

    A look at the dashboard is paid for on the scheduler's event loop, so
    nothing here makes a Python object per record when ``binary``: each
    field is then one base64 text of little-endian float64 (exact for task
    ids and microseconds below 2**53), which the page decodes into a typed
    array. Otherwise (the offline report) plain lists of integers.
    """
    start = np.asarray(tasks["start"], dtype=np.float64)
    stop = np.asarray(tasks["stop"], dtype=np.float64)
    base = float(start.min()) if len(start) else 0.0
    columns = {k: v for k, v in tasks.items() if k in FIELDS and k not in ("start", "stop")}
    columns.update(start=np.rint((start - base) * 1e6), stop=np.rint((stop - base) * 1e6))
    out = {k: v for k, v in tasks.items() if k not in FIELDS}
    for name, values in columns.items():
        values = np.asarray(values)
        out[name] = (base64.b64encode(values.astype("<f8").tobytes()).decode("ascii")
                     if binary else values.astype(np.int64).tolist())
    out["base"] = base
    return out


def plan_graph(layers: Sequence[Layer],
               rules: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """A plan as plain data for drawing: nodes (label, shape, blocks, rules) and edges.

    ``layers``: every layer of the plan, inputs first (``topological``, or a
    task table's ``layers``). Edges go from an input to its reader, by node
    position; a root is a layer nothing in the plan reads. ``rules``: the
    optimizer rules that made each layer, by layer name (``lamina.explain``'s).
    """
    rules = rules or {}
    position = {layer.name: i for i, layer in enumerate(layers)}
    edges = sorted({(position[d.name], i) for i, layer in enumerate(layers)
                    for d in layer.dependencies if d.name in position})
    read = {a for a, _ in edges}
    nodes = [{"label": layer.label(), "shape": list(layer.shape),
              "chunks": [max(c) if c else 0 for c in layer.chunks],
              "dtype": str(layer.dtype), "blocks": int(layer.nblocks),
              "rules": list(rules.get(layer.name, ())),
              "root": i not in read} for i, layer in enumerate(layers)]
    return {"nodes": nodes, "edges": [list(e) for e in edges]}
