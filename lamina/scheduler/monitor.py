"""What the dashboard shows, kept by the scheduler at almost no cost.

The server calls four hooks: ``run_submitted`` keeps the optimizer rules
that made each layer (sent by the client: the scheduler runs no
optimizer); ``task_done`` (a worker's report: task ids, the pool thread,
when each ended) appends to a ``TaskRecords`` ring in C; ``heartbeat``
keeps each worker's latest metrics and a short memory history;
``run_ended`` keeps the final per-layer counts of a run and how it ended
(done, failed with the error's type and message, or cancelled).
Everything else is computed only when someone looks (``snapshot``): counts
per layer and state come from one C pass over the run's states
(``GraphState.layer_counts``, about a nanosecond a task), and a look returns at most
``MAX_RECORDS`` new task records (an even sample of what is new when more
came), so a page refreshing every second costs the scheduler a few
milliseconds a second whatever the number of tasks.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from lamina.scheduler._records import TaskRecords
from lamina.scheduler.records import plan_graph

if TYPE_CHECKING:
    from lamina.scheduler.peers import WorkerState
    from lamina.scheduler.runs import Run

RECORDS_CAPACITY = 200_000
MAX_RECORDS = 500
HISTORY = 600
ENDED_RUNS = 20
LABELLED_RUNS = 1_000
SAMPLED_WINDOW = 20
STATE_NAMES = ("waiting", "queued", "running", "memory", "released", "erred", "ahead")
OUTCOMES = ("done", "failed", "cancelled")
MAX_RULES = 64
MAX_TEXT = 1000


class Monitor:
    """Task records, worker metrics and finished runs' summaries, for ``snapshot``."""

    def __init__(self, capacity: int = RECORDS_CAPACITY) -> None:
        self.records = TaskRecords(capacity)
        self.metrics: dict[int, dict[str, Any]] = {}
        self.history: dict[int, deque] = {}
        self.ended: deque[dict[str, Any]] = deque(maxlen=ENDED_RUNS)
        self.labels: dict[int, list[str]] = {}
        self.plans: dict[int, dict[str, Any]] = {}
        self.rules: dict[int, dict[str, list[str]]] = {}

    # hooks ------------------------------------------------------------------------
    def run_submitted(self, run: Run, rules: Any) -> None:
        """Keep the rules that made each of the run's layers (plain names, bounded)."""
        if not isinstance(rules, dict):
            return
        names = {layer.name for layer in run.table.layers}
        kept = {name: [str(r)[:MAX_TEXT] for r in made_by[:MAX_RULES] if isinstance(r, str)]
                for name, made_by in rules.items()
                if name in names and isinstance(made_by, (list, tuple))}
        if kept:
            self.rules[run.id] = kept

    def task_done(self, run: Run, wid: int, msg: dict, tasks: np.ndarray) -> None:
        """Record the reported ``tasks`` that were still expected of worker ``wid``."""
        reported = msg["tasks"]
        stops = msg.get("stops")
        if stops is None or len(stops) != len(reported) or not len(tasks):
            return
        if len(tasks) != len(reported):
            keep = np.isin(reported, tasks)
            reported, stops = np.asarray(reported)[keep], np.asarray(stops)[keep]
        began = msg.get("began")
        self.records.add_report(run.id, reported, run.table.task_layer, wid,
                                int(msg.get("thread", 0)),
                                float(stops[0] if began is None else began), stops)
        if run.id not in self.labels:
            self._label(run)

    def heartbeat(self, wid: int, metrics: Any) -> None:
        """Keep a worker's latest metrics (plain numbers) and its memory history."""
        if not isinstance(metrics, dict):
            return
        clean = {k: float(v) for k, v in metrics.items()
                 if isinstance(k, str) and isinstance(v, (int, float))}
        self.metrics[wid] = clean
        self.history.setdefault(wid, deque(maxlen=HISTORY)).append(
            (time.time(), clean.get("memory", 0.0)))

    def worker_left(self, wid: int) -> None:
        self.metrics.pop(wid, None)
        self.history.pop(wid, None)

    def run_ended(self, run: Run, outcome: str, error: dict[str, str] | None = None) -> None:
        """Keep a run's final counts per layer and how it ended (``OUTCOMES``; a
        failed run's ``error``: type, message, where), as it leaves the books."""
        if outcome not in OUTCOMES:
            raise ValueError(f"a run ends {' or '.join(OUTCOMES)}, not {outcome!r}")
        if run.state is None:
            self.rules.pop(run.id, None)
            return
        summary = self._summary(run)
        summary["outcome"] = outcome
        if error is not None:
            summary["error"] = {k: str(error.get(k, ""))[:MAX_TEXT]
                                for k in ("type", "message", "where")}
        self.ended.append(summary)

    def _label(self, run: Run) -> list[str]:
        """The run's layer labels, made once (a fused layer's label is not cheap)."""
        labels = self.labels.get(run.id)
        if labels is None:
            labels = self.labels[run.id] = [layer.label() for layer in run.table.layers]
            while len(self.labels) > LABELLED_RUNS:
                self.labels.pop(next(iter(self.labels)))
        return labels

    def _summary(self, run: Run) -> dict[str, Any]:
        """A run's counts per layer and state, its plan graph (made once) and times."""
        table = run.table
        counts = run.state.layer_counts(table.layer_offsets)
        if run.id not in self.plans:
            self.plans[run.id] = plan_graph(table.layers, self.rules.pop(run.id, None))
            while len(self.plans) > 4 * ENDED_RUNS:
                self.plans.pop(next(iter(self.plans)))
        layers = []
        for label, row in zip(self._label(run), counts.tolist()):
            entry = dict(zip(STATE_NAMES, row))
            entry["label"] = label
            entry["total"] = sum(row)
            entry["done"] = entry["memory"] + entry["released"]
            layers.append(entry)
        return {"id": run.id, "n_tasks": table.n_tasks, "submitted": run.submitted,
                "done": int(run.state.n_done), "layers": layers, "plan": self.plans[run.id]}

    # looking -------------------------------------------------------------------------
    def snapshot(self, workers: Iterable[WorkerState], runs: Iterable[Run], cursor: int = 0,
                 max_records: int = MAX_RECORDS) -> dict[str, Any]:
        """Everything the dashboard draws, as plain data; records after ``cursor`` only."""
        now = time.time()
        window = max_records * SAMPLED_WINDOW
        total, recent = self.records.since(max(int(cursor), self.records.total - window))
        if len(recent["task"]) > max_records:      # an even sample of what is new
            pick = np.linspace(0, len(recent["task"]) - 1, max_records).astype(np.int64)
            recent = {k: v[pick] for k, v in recent.items()}
        live = [self._summary(run) for run in runs if run.state is not None]
        for summary in live:
            summary["outcome"] = "running"
        shown = {int(r) for r in np.unique(recent["run"]).tolist()}
        shown |= {s["id"] for s in live}
        return {
            "time": now,
            "workers": [self._worker(ws) for ws in workers],
            "runs": live + [s for s in reversed(self.ended)],
            "tasks": {"cursor": total, "dropped": max(total - int(cursor) - len(recent["task"]),
                                                      0),
                      **recent},
            "labels": {str(rid): self.labels.get(rid, []) for rid in shown},
        }

    def _worker(self, ws: WorkerState) -> dict[str, Any]:
        return {"id": ws.wid, "address": ws.address, "nthreads": ws.nthreads,
                "in_flight": ws.in_flight, **self.metrics.get(ws.wid, {}),
                "history": [list(p) for p in self.history.get(ws.wid, ())]}
