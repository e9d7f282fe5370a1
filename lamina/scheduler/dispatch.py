"""Sends what placement decides: ``run`` and ``compute`` messages to workers.

``schedule`` is called after every message the server handles: it asks
``runs.plan`` (ready tasks, in turn over the runs) and ``placement`` (which
worker) and sends each worker one ``compute`` message per run, carrying the
tasks' layer and block ids, their input keys and where those are. A
worker's first batch of a run is preceded by the run's encoded graph.

Each batch may take along dependents *sent ahead* (``Run.send_ahead``):
the last ``ahead`` tasks of its ``compute`` message, which the worker holds
until their inputs are in its memory. When
their inputs finish the scheduler counts them as running (``promote``)
and sends the next ones ahead.
"""

from __future__ import annotations

import numpy as np

from lamina.scheduler import placement, stealing
from lamina.scheduler._placement import gather
from lamina.scheduler._state import AHEAD, RUNNING
from lamina.scheduler.peers import WorkerState
from lamina.scheduler.runs import Run, plan


def schedule(workers: list[WorkerState], runs: list[Run], rotate: int) -> int:
    """Hand ready tasks of ``runs`` to ``workers`` with room; return the next rotation.

    Runs take turns being first (``rotate``), so one large run does not
    starve the others.
    """
    place_suspects(workers, runs)
    ready = [run for run in runs if run.state.n_ready]
    cap = [ws.room for ws in workers]
    if not ready or all(c <= 0 for c in cap):
        return rotate
    cap = np.array(cap, dtype=np.int64)
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
    if not waiting and not any(ws.alone for ws in workers):
        return      # nothing to place and nobody to free: the common case, kept cheap
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
        run.where[sel] = ws.wid
        ws.in_flight += len(sel)
        ahead = run.send_ahead(sel, ws.wid, ws.ahead_budget - ws.ahead)
        ws.ahead += len(ahead)
        ws.send(_compute(run, np.concatenate([sel, ahead]) if len(ahead) else sel, len(ahead)))


def _compute(run: Run, ids: np.ndarray, ahead: int) -> dict:
    """A ``compute`` message for ``ids``; its last ``ahead`` tasks are sent ahead."""
    table = run.table
    dep_ptr, dep_keys, dep_where = gather(ids, table.dep_indptr, table.dep_indices, run.keys,
                                          run.where)
    return {"op": "compute", "run": run.id, "tasks": ids, "ahead": ahead,
            "layer": table.task_layer[ids], "block": table.task_block[ids],
            "dep_ptr": dep_ptr, "dep_keys": dep_keys, "dep_where": dep_where}


def send_ahead(run: Run, frontier: np.ndarray, ws: WorkerState) -> None:
    """Send ``ws`` the dependents of ``frontier`` that may wait there (its budget allowing)."""
    ids = run.send_ahead(frontier, ws.wid, ws.ahead_budget - ws.ahead)
    if len(ids):
        ws.send(_compute(run, ids, len(ids)))
        ws.ahead += len(ids)


def promote(run: Run, promoted: np.ndarray, holders: np.ndarray,
            workers: dict[int, WorkerState]) -> None:
    """Tasks sent ahead whose inputs all finished now run on their workers
    (``holders``): count them in flight there, and send the next dependents ahead."""
    for wid, index in placement.split_by(holders):
        ws = workers.get(wid)
        if ws is None:
            continue
        ws.in_flight += len(index)
        ws.ahead -= len(index)
        run.speculative[promoted[index]] = True
        send_ahead(run, promoted[index], ws)


def drop_retracted(run: Run, workers: dict[int, WorkerState]) -> None:
    """Tell workers to drop tasks sent ahead that went back to waiting (an input was
    lost or given up): they never start there."""
    for ids, where in run.take_retracted():
        for wid, index in placement.split_by(where):
            ws = workers.get(wid)
            if ws is not None:
                ws.ahead -= len(index)
                ws.send({"op": "drop", "run": run.id, "tasks": ids[index]})


class Steals:
    """Counts of work stealing, for ``Scheduler.info``."""

    def __init__(self) -> None:
        self.tasks = 0


def steal(workers: list[WorkerState], runs: list[Run]) -> None:
    """Ask backed-up workers to give up queued tasks for idle ones (``stealing``).

    Only once no run has a ready task left: until then an idle worker gets
    those. The victim answers ``stolen`` with the tasks it had not started
    (``stolen``); one request per victim at a time.
    """
    if len(workers) < 2 or not runs or any(run.state.n_ready for run in runs):
        return
    plan = stealing.choose_steals(
        np.array([ws.in_flight + ws.incoming for ws in workers], dtype=np.int64),
        np.array([ws.nthreads for ws in workers], dtype=np.int64),
        np.array([ws.seconds_per_task for ws in workers]),
        np.array([not ws.stealing and not ws.alone for ws in workers], dtype=bool))
    for victim_pos, thief_pos, n in plan:
        victim, thief = workers[victim_pos], workers[thief_pos]
        for run in runs:
            tasks = run.stealable(victim.wid, n)
            if len(tasks):
                victim.stealing = True
                victim.steal_for = (thief.wid, len(tasks))
                thief.incoming += len(tasks)
                victim.send({"op": "steal", "run": run.id, "tasks": tasks})
                break


def stolen(victim: WorkerState, msg: dict, run: Run | None,
           workers: dict[int, WorkerState]) -> int:
    """The victim gave up ``msg["tasks"]`` (and tasks sent ahead that wait on them):
    send them back to waiting, and the ready ones straight to the thief. Returns
    how many tasks moved."""
    if not victim.stealing:
        return 0
    victim.stealing = False
    thief = workers.get(victim.steal_for[0])
    if thief is not None:
        thief.incoming -= victim.steal_for[1]
    if run is None:
        return 0
    tasks = np.asarray(msg["tasks"], dtype=np.int64)
    tasks = tasks[(tasks >= 0) & (tasks < run.table.n_tasks)]
    states = run.state.states_of(tasks)
    mine = run.where[tasks] == victim.wid
    given = tasks[mine & ((states == RUNNING) | (states == AHEAD))]
    victim.in_flight -= int((mine & (states == RUNNING)).sum())
    again = run.give_back(given)
    drop_retracted(run, workers)
    if thief is not None and thief is not victim and not thief.alone and len(again):
        claimed = run.state.claim(again)
        if len(claimed):
            dispatch(run, claimed, np.zeros(len(claimed), dtype=np.int64), [thief])
    return len(given)
