"""Where ready tasks go: placement decisions over plain arrays.

Nothing here sends, awaits or holds a connection: the server passes the
workers as arrays (one entry per worker *position*) and gets positions
back, so each rule is tested with NumPy alone::

    cap = targets - in_flight                  # free room per worker (WorkerState.room)
    choice = choose_workers(ids, dep_indptr, dep_indices, where, readers,
                            wids, ~alone, cap)      # a worker position per task

The rules:

* a worker keeps about ``TARGET_SECONDS_IN_FLIGHT`` of work queued
  (``target``), so root tasks leave only as workers have room and memory
  stays bounded;
* a task goes to the worker holding most of its inputs, each weighed by one
  over the number of unfinished tasks reading it: an input every task of a
  pass reads is copied to wherever they run, so it says little about
  where each should go (``choose_workers``);
* tasks with no located input are cut into contiguous ranges in proportion
  to room (``shares``): neighbours are usually reduced together;
* a task that was on a departing worker (a *suspect*) runs alone on an idle
  worker, so a crash it causes is counted against it only
  (``place_suspects``).
"""

from __future__ import annotations

import numpy as np

from lamina.scheduler._placement import by_inputs, groups

TARGET_SECONDS_IN_FLIGHT = 0.02
MIN_PER_THREAD = 2
MAX_PER_THREAD = 4096


def target(nthreads: int, seconds_per_task: float) -> int:
    """Tasks to keep queued on a worker: about ``TARGET_SECONDS_IN_FLIGHT`` of work.

    Between ``MIN_PER_THREAD`` and ``MAX_PER_THREAD`` per thread, so a slow
    task still leaves a thread something queued and tiny ones are not
    hoarded by one worker.
    """
    per_thread = TARGET_SECONDS_IN_FLIGHT / max(seconds_per_task, 1e-7)
    return nthreads * int(min(max(per_thread, MIN_PER_THREAD), MAX_PER_THREAD))


def shares(n: int, room: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Split ``n`` tasks over workers in proportion to their room (the allowed
    ones equally if none has room)."""
    weights = room.astype(np.float64) if room.sum() > 0 else allowed.astype(np.float64)
    exact = n * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    short = n - int(out.sum())
    if short:
        out[np.argsort(out - exact)[:short]] += 1
    return out


def choose_workers(ids: np.ndarray, dep_indptr: np.ndarray, dep_indices: np.ndarray,
                   where: np.ndarray, readers: np.ndarray,
                   wids: np.ndarray, open_: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """A worker position for each task of ``ids``.

    ``dep_indptr``/``dep_indices``: the run's dependencies (CSR over task
    ids); ``where``: the worker id holding each task's result (-1: none);
    ``readers``: per task id, how many unfinished tasks still read it;
    ``wids``, ``open_``, ``cap``: per worker position, its id, whether it
    takes tasks besides a suspect, and its free room. A task goes where
    most of its inputs are (each weighed by 1 / its unfinished readers),
    else it gets a share of the room left.
    """
    n_workers = len(wids)
    if n_workers == 1:
        return np.zeros(len(ids), dtype=np.int64)
    position = np.full(int(np.max(wids)) + 1, -1, dtype=np.int64)
    position[wids[open_]] = np.flatnonzero(open_)
    choice = by_inputs(ids, dep_indptr, dep_indices, where, readers, position, n_workers)
    rest = np.flatnonzero(choice < 0)
    if len(rest):
        left = np.maximum(cap - np.bincount(choice[choice >= 0], minlength=n_workers), 0)
        choice[rest] = np.repeat(np.arange(n_workers), shares(len(rest), left, open_))
    return choice


def place_suspects(in_flight: np.ndarray, alone: np.ndarray,
                   n_parked: int) -> tuple[np.ndarray, np.ndarray]:
    """Which idle workers take the next parked suspects, one each.

    Returns the new *alone* flags (a worker running a suspect takes nothing
    else) and the positions that each take the next suspect, in order. An
    idle worker with nothing to take is open again; when suspects are left
    and no worker is alone, the least busy one stops taking new tasks until
    it is idle.
    """
    alone = np.array(alone, dtype=bool)
    idle = np.flatnonzero(np.asarray(in_flight) <= 0)
    takers = idle[:n_parked]
    alone[idle] = False
    alone[takers] = True
    if n_parked > len(takers) and not alone.any():
        alone[int(np.argmin(in_flight))] = True
    return alone, takers


def split_by(owner: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Indices into ``owner`` grouped by its value (ascending), each group in order.

    One message per worker: ``[(wid, indices of its tasks), ...]``.
    """
    order, values, bounds = groups(owner)
    bounds = bounds.tolist()
    return [(value, order[a:b]) for value, a, b in zip(values.tolist(), bounds, bounds[1:])]
