"""Sends what placement decides: ``run`` and ``compute`` messages to workers.

``schedule`` is called after every message the server handles: it asks
``runs.plan`` (ready tasks, in turn over the runs) and ``placement`` (which
worker) and sends each worker one ``compute`` message per run, carrying the
tasks' layer and block ids, their input keys and where those are. A
worker's first batch of a run is preceded by the run's encoded graph.
"""

from __future__ import annotations

import numpy as np

from lamina.layers.registry import take_rows
from lamina.scheduler import placement
from lamina.scheduler.peers import WorkerState
from lamina.scheduler.runs import Run, plan


def schedule(workers: list[WorkerState], runs: list[Run], rotate: int) -> int:
    """Hand ready tasks of ``runs`` to ``workers`` with room; return the next rotation.

    Runs take turns being first (``rotate``), so one large run does not
    starve the others.
    """
    place_suspects(workers, runs)
    cap = placement.room(np.array([ws.target for ws in workers], dtype=np.int64),
                         np.array([ws.in_flight for ws in workers], dtype=np.int64),
                         np.array([ws.alone for ws in workers], dtype=bool))
    ready = [run for run in runs if run.state.n_ready]
    if int(np.clip(cap, 0, None).sum()) <= 0 or not ready:
        return rotate
    rotate = (rotate + 1) % len(ready)
    batches, parked = plan(ready[rotate:] + ready[:rotate],
                           np.array([ws.wid for ws in workers], dtype=np.int64),
                           np.array([not ws.alone for ws in workers], dtype=bool), cap)
    for run, ids, choice in batches:
        dispatch(run, ids, choice, workers)
    if parked:
        place_suspects(workers, runs)
    return rotate


def place_suspects(workers: list[WorkerState], runs: list[Run]) -> None:
    """Start parked suspects alone on idle workers (see ``placement.place_suspects``)."""
    waiting = [run for run in runs if run.parked]
    alone, takers = placement.place_suspects(
        np.array([ws.in_flight for ws in workers], dtype=np.int64),
        np.array([ws.alone for ws in workers], dtype=bool),
        sum(len(run.parked) for run in waiting))
    for ws, flag in zip(workers, alone.tolist()):
        ws.alone = flag
    for pos in takers.tolist():
        while not waiting[0].parked:
            waiting.pop(0)
        run = waiting[0]
        dispatch(run, np.array([run.parked.pop(0)], dtype=np.int64), np.array([pos]), workers)


def dispatch(run: Run, ids: np.ndarray, choice: np.ndarray, workers: list[WorkerState]) -> None:
    """Send tasks ``ids`` of ``run`` to the worker positions ``choice``, one message each."""
    table = run.table
    for pos, index in placement.split_by(choice):
        ws = workers[pos]
        sel = ids[index]
        if run.id not in ws.runs:
            ws.runs.add(run.id)
            run.sent_to.add(ws.wid)
            ws.send({"op": "run", "run": run.id, "graph": run.graph,
                     "layers": [layer.name for layer in table.layers],
                     "key_base": run.key_base, "n_tasks": table.n_tasks})
        dep_ptr, deps = take_rows(table.dep_indptr, table.dep_indices, sel)
        ws.send({"op": "compute", "run": run.id, "tasks": sel,
                 "layer": table.task_layer[sel], "block": table.task_block[sel],
                 "dep_ptr": dep_ptr, "dep_keys": run.keys[deps],
                 "dep_where": run.where[deps]})
        run.where[sel] = ws.wid
        ws.in_flight += len(sel)
