"""The books of each computation: where its tasks and results are, what runs again.

A ``Run`` is one submitted computation: its task table, compiled
``GraphState`` and, per task, its data key and the worker holding it. A
``Finished`` is a run's outputs, kept on the workers until its client
releases them (a persisted array is read in place by later runs through
its ``Held`` layer). Nothing here sends or awaits: methods change the
books and return what the server must tell others (keys to release, a
reason to fail the run), so recovery is tested without sockets::

    run = Run(rid, client, ref, table, graph, key_base)
    run.start(run.borrow_held(finished, cluster_id))
    ids, parked = run.pop_ready(free)
    keys, where = run.finish(done)          # intermediates nobody needs any more
    recomputed, failure = run.recover(wid, address, max_task_losses)
    ahead = run.send_ahead(ids, wid, budget)  # dependents that travel with ids
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lamina.layers.held import Held
from lamina.scheduler import placement
from lamina.scheduler._state import AHEAD, RUNNING, GraphState
from lamina.scheduler.lowering import TaskTable

if TYPE_CHECKING:
    from lamina.scheduler.peers import ClientState


@dataclass(frozen=True)
class Failure:
    """Why a run must stop, and the task it concerns (``where``, may be empty)."""

    reason: str
    where: str = ""


class Run:
    """One submitted computation: its task table, state machine and data places.

    Run ``rid`` owns the data keys ``key_base .. key_base + n_tasks - 1``;
    tasks of a ``Held`` layer borrow the keys of a finished run instead
    (``owned`` is False for them: they are never released nor recomputed).
    """

    def __init__(self, rid: int, client: ClientState, ref: int, table: TaskTable,
                 graph: Any, key_base: int) -> None:
        n = table.n_tasks
        self.id = rid
        self.client = client
        self.ref = ref
        self.table = table
        self.graph = graph
        self.key_base = key_base
        self.keys = np.arange(key_base, key_base + n, dtype=np.int64)
        self.owned = np.ones(n, dtype=bool)
        self.where = np.full(n, -1, dtype=np.int64)
        self.state: GraphState | None = None
        self.sent_to: set[int] = set()
        self.borrows: set[int] = set()
        self.submitted = time.time()
        self.first_task = 0.0
        self.progress = False
        self.progress_sent = 0.0
        self.losses = np.zeros(n, dtype=np.uint8)
        self.misses = np.zeros(n, dtype=np.uint8)
        self.suspects = False
        self.parked: list[int] = []
        self.ahead_depth = 0
        self.hinted = np.empty(0, dtype=np.int64)
        self.speculative = np.zeros(n, dtype=bool)  # started without a round trip
        self.retracted: list[tuple[np.ndarray, np.ndarray]] = []
        self.last_finished = np.empty(0, dtype=np.int64)  # set by each ``report``

    def use_hints(self, hints: Any, depth: int) -> None:
        """Send dependents ahead along the hinted ``(producer, consumer)`` layer names,
        up to ``depth`` levels (0: never). Names not in this run are ignored."""
        index = {layer.name: i for i, layer in enumerate(self.table.layers)}
        n = len(index)
        codes = {index[p] * n + index[c] for p, c in hints if p in index and c in index}
        self.hinted = np.array(sorted(codes), dtype=np.int64)
        self.ahead_depth = int(depth) if len(codes) else 0
        self._task_layer = self.table.task_layer.astype(np.int64)

    def send_ahead(self, frontier: np.ndarray, wid: int, budget: int) -> np.ndarray:
        """Mark dependents of ``frontier`` (running on ``wid``) to travel there ahead.

        Only along hinted edges, only tasks whose inputs are all on ``wid``,
        never a suspect; see ``GraphState.send_ahead``. Only where it pays:
        while other tasks are ready, the workers have work to hide the round
        trip behind, so only single-input steps go (an unfused elementwise
        chain, which then runs back to back); a task reading several inputs
        (a reduction tree over a wide, fused map) goes once the ready tasks
        run out and a worker would otherwise wait for the scheduler.
        """
        if not self.ahead_depth or budget <= 0 or not len(frontier):
            return np.empty(0, dtype=np.int64)
        return self.state.send_ahead(frontier, wid, self.where, self._task_layer,
                                     self.hinted, len(self.table.layers), self.ahead_depth,
                                     budget, self.losses, 1 if self.state.n_ready else -1)

    def give_back(self, tasks: np.ndarray) -> np.ndarray:
        """``GraphState.lose``, noting the AHEAD tasks that went back with their workers
        (``retracted``: those workers must drop them)."""
        before = self.state.states()
        again = self.state.lose(tasks)
        ahead = again[before[again] == AHEAD]
        if len(ahead):
            self.retracted.append((ahead, self.where[ahead].copy()))
        self.where[again] = -1
        return again

    def take_retracted(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """AHEAD tasks sent back since the last call, and the workers that held them."""
        out, self.retracted = self.retracted, []
        return out

    def borrow_held(self, finished: dict[int, Finished], cluster: str) -> np.ndarray:
        """Point the run's ``Held`` tasks at the kept outputs they name; return those tasks.

        Raises ``RuntimeError`` (saying to persist again) when a block was
        persisted on another cluster, released, or lost with a worker.
        """
        table = self.table
        parts = []
        for li, layer in enumerate(table.layers):
            if not isinstance(layer, Held):
                continue
            if layer.cluster != cluster:
                raise RuntimeError(f"an input was persisted on another cluster ({layer.cluster}): "
                                   "persist it again on this one")
            rec = finished.get(int(layer.run))
            if rec is None or rec.released:
                raise RuntimeError(f"persisted run {layer.run} was released: persist it again")
            if rec.lost:
                raise RuntimeError(f"blocks of persisted run {layer.run} were lost with a "
                                   "worker: persist it again")
            keys, where, _ = rec.outputs[int(layer.output)]
            tasks = np.arange(table.layer_offsets[li], table.layer_offsets[li + 1])
            blocks = table.task_block[tasks]
            self.keys[tasks] = keys[blocks]
            self.where[tasks] = where[blocks]
            self.owned[tasks] = False
            rec.users.add(self.id)
            self.borrows.add(int(layer.run))
            parts.append(tasks)
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def start(self, held: np.ndarray) -> None:
        """Build the state machine; the ``held`` tasks start done (their blocks exist)."""
        table = self.table
        keep = table.keep_mask()
        if len(held):
            table.priority[held] = -1
            keep[held] = 1
        self.state = GraphState(table.dep_indptr, table.dep_indices, table.priority, keep)
        if len(held):
            self.state.finish(self.state.pop_ready(len(held)))

    def describe(self, task: int) -> str:
        """The task's layer and block, for error messages."""
        try:
            return self.table.describe_task(task)
        except Exception:
            return f"task {task}"

    def expected(self, wid: int, tasks: np.ndarray) -> np.ndarray:
        """The ``tasks`` that are RUNNING on worker ``wid``: a report about any other is stale."""
        states = self.state.states_of(tasks)
        return tasks[(states == RUNNING) & (self.where[tasks] == wid)]

    def report(self, wid: int, reported: np.ndarray) -> tuple[
            int, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Worker ``wid`` finished ``reported``, in the order it ran them.

        A report may list tasks sent ahead after the inputs they waited on:
        finishing in order promotes each before it is reached. Tasks not
        running (or sent ahead) there are stale and ignored. Returns how
        many finished, the tasks promoted (see ``GraphState.promoted``) and
        their workers, and the keys no task needs any more with their holders.
        """
        if len(reported) and (reported.min() < 0 or reported.max() >= self.table.n_tasks):
            raise ValueError("a report names tasks outside the run")
        done, freed = self.state.finish_on(reported, self.where, wid)
        self.last_finished = done  # what the task records take from this report
        promoted = self.state.promoted()
        # only a promoted task that finished in this report, here, can have been freed
        holders = self.where[promoted]
        holders[holders < 0] = wid
        return len(done), promoted, holders, self._freed(freed)

    def pop_ready(self, n: int) -> tuple[np.ndarray, bool]:
        """Up to ``n`` ready tasks to place, and whether suspects were parked instead.

        A suspect (a task that was on a departing worker) is parked, to run
        alone on an idle worker later.
        """
        ids = self.state.pop_ready(n)
        parked = False
        while self.suspects and len(ids):
            suspect = self.losses[ids] > 0
            if not suspect.any():
                break
            self.parked.extend(ids[suspect].tolist())
            parked = True
            ids = ids[~suspect]
            if not len(ids):
                ids = self.state.pop_ready(n)
        return ids, parked

    def finish(self, tasks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mark ``tasks`` done; return the keys no task needs any more, and their holders."""
        return self._freed(self.state.finish(tasks))

    def _freed(self, freed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The keys of the ``freed`` tasks this run owns, and their holders (now none)."""
        freed = freed[self.owned[freed]]
        keys, where = self.keys[freed], self.where[freed]
        self.where[freed] = -1
        return keys, where

    def inputs_missing(self, tasks: np.ndarray, address: str, reason: str,
                       limit: int) -> Failure | None:
        """A worker could not fetch the inputs of ``tasks``: run them again later.

        Fails the run once a task's inputs could not be fetched ``limit`` times.
        """
        self.misses[tasks] = np.minimum(self.misses[tasks].astype(np.int64) + 1, 255)
        stuck = tasks[self.misses[tasks] >= limit]
        if len(stuck):
            return Failure(f"worker {address} could not fetch the inputs of "
                           f"{self.describe(stuck[0])} {limit} times (last: {reason}): check "
                           "that the workers can reach each other's addresses")
        self.give_back(tasks)
        return None

    def recover(self, wid: int, address: str, max_task_losses: int) -> tuple[int, Failure | None]:
        """Send what this run had on departed worker ``wid`` back to be computed again.

        Returns how many tasks go back, and a failure when a task was
        running on ``max_task_losses`` departing workers (it may be what
        crashes them) or a persisted block still needed is gone.
        """
        on = np.flatnonzero(self.where == wid)
        if not len(on):
            return 0, None
        borrowed = ~self.owned[on]
        self.where[on[borrowed]] = -1
        on = on[~borrowed]
        running = on[self.state.states_of(on) == RUNNING]
        if len(running):
            self.losses[running] = np.minimum(self.losses[running].astype(np.int64) + 1, 255)
            self.suspects = True
            worst = running[self.losses[running] >= max_task_losses]
            if len(worst):
                others = f" (and {len(worst) - 1} more)" if len(worst) > 1 else ""
                return 0, Failure(
                    f"{self.describe(worst[0])}{others} was running on {max_task_losses} "
                    f"worker{'s' if max_task_losses > 1 else ''} as they left the "
                    f"cluster, the last {address}: it may be "
                    "crashing its worker (out of memory, a crash in native code, os._exit). "
                    "The computation was stopped: fix the task or give the workers more "
                    "memory, then compute it again", self.describe(worst[0]))
        again = self.give_back(np.concatenate([on, np.array(self.parked, dtype=np.int64)]))
        self.parked = []
        gone = np.flatnonzero(~self.owned & (self.where < 0))
        if len(gone):
            needed = gone[self.state.dependents_left(gone) > 0]
            if len(needed):
                layer = self.table.layers[int(self.table.task_layer[needed[0]])]
                return len(again), Failure(
                    f"blocks of persisted run {getattr(layer, 'run', '?')} were lost with worker "
                    f"{address} before this computation had read them "
                    f"({self.describe(needed[0])}, {len(needed)} blocks in all): persist "
                    "that array again, then compute this again")
        return len(again), None

    def running_per_worker(self, state: int = RUNNING) -> tuple[np.ndarray, np.ndarray]:
        """Worker ids with tasks of this run in ``state`` (RUNNING), and how many each."""
        running = self.state.states() == state
        return np.unique(self.where[running], return_counts=True)

    def stealable(self, wid: int, n: int) -> np.ndarray:
        """Up to ``n`` tasks RUNNING on ``wid`` that it would start last (worst priority)."""
        on = np.flatnonzero((self.where == wid) & (self.state.states() == RUNNING))
        return on[np.argsort(-self.table.priority[on], kind="stable")[:n]]

    def outputs(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per output: its blocks' keys, holders, and whether this run owns them."""
        return [(self.keys[out], self.where[out], self.owned[out]) for out in self.table.outputs]


class Finished:
    """Outputs of a finished run, kept on workers until released."""

    def __init__(self, client: ClientState, outputs: list[tuple[np.ndarray, np.ndarray,
                                                        np.ndarray]]) -> None:
        self.client = client
        self.outputs = outputs
        self.users: set[int] = set()
        self.released = False
        self.lost = False

    def held_on(self, wid: int) -> bool:
        """Whether worker ``wid`` holds any of these outputs."""
        return any(bool(np.any(where == wid)) for _, where, _ in self.outputs)

    def owned_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct keys this run owns (borrowed ones stay), and their holders."""
        keys = np.concatenate([k[o] for k, _, o in self.outputs])
        where = np.concatenate([w[o] for _, w, o in self.outputs])
        unique, first = np.unique(keys, return_index=True)
        return unique, where[first]


def plan(runs: list[Run], wids: np.ndarray, open_: np.ndarray,
         cap: np.ndarray) -> tuple[list[tuple[Run, np.ndarray, np.ndarray]], bool]:
    """Pop ready tasks of ``runs`` in turn and choose their workers while room is left.

    ``wids``, ``open_``, ``cap``: per worker position, as for
    ``placement.choose_workers``; ``cap`` is spent in place. Returns
    ``(run, task ids, worker positions)`` batches to send, and whether
    suspects were parked (to run alone, see ``placement.place_suspects``).
    """
    batches = []
    parked = False
    free = int(np.maximum(cap, 0).sum())
    for run in runs:
        if free <= 0:
            break
        ids, parked_now = run.pop_ready(free)
        parked |= parked_now
        if not len(ids):
            continue
        table = run.table
        choice = placement.choose_workers(ids, table.dep_indptr, table.dep_indices, run.where,
                                          run.state.readers(), wids, open_, cap)
        cap -= np.bincount(choice, minlength=len(wids))
        free = int(np.maximum(cap, 0).sum())
        batches.append((run, ids, choice))
    return batches, parked
