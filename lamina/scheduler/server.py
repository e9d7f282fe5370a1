"""The scheduler server: clients submit expressions, workers run their tasks.

A client sends a *graph*: an optimized expression encoded by
``lamina.comm.wire`` (kilobytes, whatever the number of tasks). The server
decodes it without unpickling anything (functions stay opaque blobs),
lowers it to integer tasks with each trusted layer's own ``block_deps``,
and drives one compiled ``GraphState`` per computation (a *run*)::

    scheduler = Scheduler()
    await scheduler.start("tcp://127.0.0.1:8786")

Ready tasks leave in batches: each goes to the worker holding most of its
inputs, tasks without inputs are spread over workers in contiguous ranges
(neighbours are usually reduced together), and a worker only gets as many
as keep it busy for a few tens of milliseconds, so root tasks are released
as workers have room and memory stays bounded. Workers answer with batched
completion reports; values no task needs any more are released, and a
client that asked for progress gets the run's count of finished tasks at
most every ``PROGRESS_SECONDS``. A run
that fails sends the original exception (an opaque blob here) to its
client; a client that disconnects has its runs cancelled and its data
released.

A worker that leaves takes its queued tasks and its results with it; every
run goes on: the state machine's ``lose`` sends those tasks, and any
released input they need, back to waiting, and they run again on the
workers left (or on the next one to connect). A task that was on
``max_task_losses`` workers as they left stops its run with an error naming
it; a persisted block that is gone cannot be computed again, so a run
still reading one fails and says to persist again.

Every piece of data on a worker has a global integer key: a run's tasks
own keys ``key_base .. key_base + n_tasks - 1``. The outputs of a finished
run stay on the workers until its client releases them, so a persisted
array (a ``Held`` layer) is read in place by later runs.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import sys
import time
import traceback
import uuid
from typing import Any, Callable

import numpy as np

from lamina.comm.batched import BatchedSend, unbatch
from lamina.comm.core import Comm, CommClosedError, listen
from lamina.comm.wire import Blob, WireError, loads
from lamina.layers.registry import signature, take_rows
from lamina.scheduler._state import RUNNING, GraphState
from lamina.scheduler.lowering import TaskTable, lower
from lamina.layers.held import Held

logger = logging.getLogger("lamina.scheduler")

TARGET_SECONDS_IN_FLIGHT = 0.02
MIN_PER_THREAD = 2
MAX_PER_THREAD = 4096
INITIAL_SECONDS_PER_TASK = 1e-3
PROGRESS_SECONDS = 0.1
MAX_TASK_LOSSES = 3
MAX_FETCH_FAILURES = 10


class _Peer:
    """A connected worker or client, as the scheduler sees it."""

    out: BatchedSend

    def send(self, msg: dict) -> None:
        """Queue ``msg``; a closed connection is left to this peer's reader to notice."""
        try:
            self.out.send(msg)
        except CommClosedError:
            pass


class WorkerState(_Peer):
    """What the scheduler knows of one worker."""

    def __init__(self, wid: int, address: str, nthreads: int, out: BatchedSend) -> None:
        self.wid = wid
        self.address = address
        self.nthreads = max(int(nthreads), 1)
        self.out = out
        self.in_flight = 0
        self.seconds_per_task = INITIAL_SECONDS_PER_TASK
        self.runs: set[int] = set()
        self.alone = False

    @property
    def target(self) -> int:
        """Tasks to keep queued on this worker: about ``TARGET_SECONDS_IN_FLIGHT`` of work."""
        per_thread = TARGET_SECONDS_IN_FLIGHT / max(self.seconds_per_task, 1e-7)
        return self.nthreads * int(min(max(per_thread, MIN_PER_THREAD), MAX_PER_THREAD))


class ClientState(_Peer):
    """What the scheduler knows of one client."""

    def __init__(self, cid: int, out: BatchedSend) -> None:
        self.cid = cid
        self.out = out
        self.runs: set[int] = set()
        self.finished: set[int] = set()


class Run:
    """One submitted computation: its task table, state machine and data places."""

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

    def expected(self, ws: WorkerState, tasks: np.ndarray) -> np.ndarray:
        """The ``tasks`` that are RUNNING on ``ws``: a report about any other is stale."""
        states = self.state.states_of(tasks)
        return tasks[(states == RUNNING) & (self.where[tasks] == ws.wid)]


class Finished:
    """Outputs of a finished run, kept on workers until released."""

    def __init__(self, client: ClientState, outputs: list[tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]]) -> None:
        self.client = client
        self.outputs = outputs
        self.users: set[int] = set()
        self.released = False
        self.lost = False


class Scheduler:
    """The network server around the compiled state machine.

    ``max_task_losses``: how many departing workers a task may be running
    on before its run fails (a task that crashes its worker would otherwise
    take every worker down in turn).
    """

    def __init__(self, max_task_losses: int = MAX_TASK_LOSSES) -> None:
        self.id = uuid.uuid4().hex
        if int(max_task_losses) < 1:
            raise ValueError(f"max_task_losses must be 1 or more, got {max_task_losses}: "
                             "a task fails its run once it was running on that many "
                             "departing workers")
        self.max_task_losses = int(max_task_losses)
        self.tasks_recomputed = 0
        self.workers: dict[int, WorkerState] = {}
        self.clients: dict[int, ClientState] = {}
        self.runs: dict[int, Run] = {}
        self.finished: dict[int, Finished] = {}
        self.next_key = 0
        self._ids = itertools.count(1)
        self._rotate = 0
        self.listener: Any = None
        self.address = ""
        self.tasks_done = 0

    # lifecycle -----------------------------------------------------------------
    async def start(self, address: str = "tcp://127.0.0.1:0") -> str:
        """Listen at ``address``; return the address actually bound."""
        info = {"role": "scheduler", "id": self.id, "registry": signature()}
        self.listener = await listen(address, self._serve, info, load_blobs=False)
        self.address = self.listener.address
        return self.address

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        for ws in list(self.workers.values()):
            await ws.out.close(timeout=1.0)
            ws.out.comm.abort()
        for cs in list(self.clients.values()):
            await cs.out.close(timeout=1.0)
            cs.out.comm.abort()

    async def _serve(self, comm: Comm) -> None:
        role = comm.peer_info.get("role")
        if role == "worker":
            await self._serve_worker(comm)
        elif role == "client":
            await self._serve_client(comm)
        else:
            comm.abort()

    # workers -----------------------------------------------------------------------
    async def _serve_worker(self, comm: Comm) -> None:
        info = comm.peer_info
        if _plain(info.get("registry")) != _plain(signature()):
            await comm.write({"op": "refused", "reason": "this worker's trusted-layer registry "
                              "differs from the scheduler's: install the same lamina version"})
            comm.abort()
            return
        wid = next(self._ids)
        ws = WorkerState(wid, str(info["address"]), int(info.get("nthreads", 1)),
                         BatchedSend(comm))
        self.workers[wid] = ws
        ws.send({"op": "welcome", "wid": wid})
        self._broadcast_workers()
        self._schedule()
        try:
            while True:
                msg = await comm.read()
                for m in unbatch(msg):
                    try:
                        self._worker_message(ws, m)
                    except Exception:
                        logger.exception("could not handle %r from worker %s", m.get("op"),
                                         ws.address)
                self._schedule()
        except (CommClosedError, WireError):
            pass
        finally:
            self._remove_worker(ws)

    def _broadcast_workers(self) -> None:
        addresses = {ws.wid: ws.address for ws in self.workers.values()}
        for ws in self.workers.values():
            ws.send({"op": "workers", "addresses": addresses})

    def _worker_message(self, ws: WorkerState, msg: dict) -> None:
        op = msg.get("op")
        if op == "done":
            self._task_done(ws, msg)
        elif op == "missing":
            self._inputs_missing(ws, msg)
        elif op == "erred":
            run = self.runs.get(msg["run"])
            task = np.array([msg["task"]], dtype=np.int64)
            if run is not None and len(run.expected(ws, task)):
                self._fail_run(run, msg["exception"], msg.get("traceback", ""),
                               _describe(run, int(task[0])))

    def _task_done(self, ws: WorkerState, msg: dict) -> None:
        run = self.runs.get(msg["run"])
        if run is None:
            return
        reported = np.array(msg["tasks"], dtype=np.int64)
        tasks = run.expected(ws, reported)
        n = len(reported)
        ws.in_flight -= len(tasks)
        elapsed = float(msg.get("elapsed", 0.0))
        if n and elapsed > 0:
            ws.seconds_per_task = 0.5 * ws.seconds_per_task + 0.5 * elapsed / n
        if not run.first_task and msg.get("started"):
            run.first_task = float(msg["started"])
        self.tasks_done += len(tasks)
        freed = run.state.finish(tasks)
        self._release(run, freed)
        if run.state.complete:
            self._complete(run)
        elif run.progress:
            now = time.monotonic()
            if now - run.progress_sent >= PROGRESS_SECONDS:
                run.progress_sent = now
                run.client.send({"op": "progress", "ref": run.ref, "run": run.id,
                                 "done": run.state.n_done, "total": run.table.n_tasks})

    def _inputs_missing(self, ws: WorkerState, msg: dict) -> None:
        """A worker could not fetch a batch's inputs: run those tasks again later."""
        run = self.runs.get(msg["run"])
        if run is None:
            return
        tasks = run.expected(ws, np.array(msg["tasks"], dtype=np.int64))
        if not len(tasks):
            return
        ws.in_flight -= len(tasks)
        run.misses[tasks] = np.minimum(run.misses[tasks].astype(np.int64) + 1, 255)
        stuck = tasks[run.misses[tasks] >= MAX_FETCH_FAILURES]
        if len(stuck):
            self._fail_run(run, Blob.dump(RuntimeError(
                f"worker {ws.address} could not fetch the inputs of {_describe(run, stuck[0])} "
                f"{MAX_FETCH_FAILURES} times (last: {msg.get('reason', 'unknown')}): check "
                "that the workers can reach each other's addresses")), "", "")
            return
        again = run.state.lose(tasks)
        run.where[again] = -1

    def _remove_worker(self, ws: WorkerState) -> None:
        """Forget a worker that left; every run goes on without it."""
        self.workers.pop(ws.wid, None)
        for run in list(self.runs.values()):
            run.sent_to.discard(ws.wid)
            self._recover(run, ws)
        for rec in self.finished.values():
            if any(bool(np.any(where == ws.wid)) for _, where, _ in rec.outputs):
                rec.lost = True
        if self.workers:
            self._broadcast_workers()
        self._schedule()

    def _recover(self, run: Run, ws: WorkerState) -> None:
        """Send what ``run`` had on the departed ``ws`` back to be computed again."""
        on = np.flatnonzero(run.where == ws.wid)
        if not len(on):
            return
        borrowed = ~run.owned[on]
        run.where[on[borrowed]] = -1
        on = on[~borrowed]
        running = on[run.state.states_of(on) == RUNNING]
        if len(running):
            run.losses[running] = np.minimum(run.losses[running].astype(np.int64) + 1, 255)
            run.suspects = True
            worst = running[run.losses[running] >= self.max_task_losses]
            if len(worst):
                others = f" (and {len(worst) - 1} more)" if len(worst) > 1 else ""
                self._fail_run(run, Blob.dump(RuntimeError(
                    f"{_describe(run, worst[0])}{others} was running on {self.max_task_losses} "
                    f"worker{'s' if self.max_task_losses > 1 else ''} as they left the "
                    f"cluster, the last {ws.address}: it may be "
                    "crashing its worker (out of memory, a crash in native code, os._exit). "
                    "The computation was stopped: fix the task or give the workers more "
                    "memory, then compute it again")), "", _describe(run, worst[0]))
                return
        again = run.state.lose(np.concatenate([on, np.array(run.parked, dtype=np.int64)]))
        run.parked = []
        run.where[again] = -1
        self.tasks_recomputed += len(again)
        gone = np.flatnonzero(~run.owned & (run.where < 0))
        if len(gone):
            needed = gone[run.state.dependents_left(gone) > 0]
            if len(needed):
                layer = run.table.layers[int(run.table.task_layer[needed[0]])]
                self._fail_run(run, Blob.dump(RuntimeError(
                    f"blocks of persisted run {getattr(layer, 'run', '?')} were lost with worker "
                    f"{ws.address} before this computation had read them "
                    f"({_describe(run, needed[0])}, {len(needed)} blocks in all): persist "
                    "that array again, then compute this again")), "", "")

    # clients -------------------------------------------------------------------------
    async def _serve_client(self, comm: Comm) -> None:
        cs = ClientState(next(self._ids), BatchedSend(comm))
        self.clients[cs.cid] = cs
        try:
            while True:
                msg = await comm.read()
                for m in unbatch(msg):
                    try:
                        await self._client_message(cs, m)
                    except Exception:
                        logger.exception("could not handle %r from a client", m.get("op"))
                self._schedule()
        except (CommClosedError, WireError):
            pass
        finally:
            self.clients.pop(cs.cid, None)
            for rid in list(cs.runs):
                run = self.runs.get(rid)
                if run is not None:
                    self._cancel_run(run)
            for rid in list(cs.finished):
                self._release_finished(rid)

    async def _client_message(self, cs: ClientState, msg: dict) -> None:
        op = msg.get("op")
        if op == "submit":
            await self._submit(cs, msg)
        elif op == "release":
            if int(msg["run"]) in cs.finished:
                self._release_finished(int(msg["run"]))
        elif op == "cancel":
            for run in list(self.runs.values()):
                if run.client is cs and run.ref == msg["ref"]:
                    self._cancel_run(run)
        elif op == "info":
            cs.send({"op": "info", "req": msg.get("req"), **self.info()})

    def info(self) -> dict[str, Any]:
        """Workers, active runs and kept results: a snapshot for clients and tests."""
        return {
            "id": self.id,
            "address": self.address,
            "workers": {ws.wid: {"address": ws.address, "nthreads": ws.nthreads,
                                 "in_flight": ws.in_flight} for ws in self.workers.values()},
            "runs": len(self.runs),
            "finished": len(self.finished),
            "clients": len(self.clients),
            "tasks_done": self.tasks_done,
            "tasks_recomputed": self.tasks_recomputed,
        }

    # runs ----------------------------------------------------------------------------
    async def _submit(self, cs: ClientState, msg: dict) -> None:
        ref = msg["ref"]
        run = None
        try:
            roots = loads(msg["graph"].frames, load_blobs=False)["roots"]
            table = await asyncio.get_running_loop().run_in_executor(None, lower, list(roots))
            if cs.cid not in self.clients:
                return
            run = Run(next(self._ids), cs, ref, table, msg["graph"], self.next_key)
            run.progress = bool(msg.get("progress", False))
            self.next_key += table.n_tasks
            held = self._borrow_held(run)
        except Exception as exc:
            if run is not None:
                self._drop_run(run)
            cs.send({"op": "run_erred", "ref": ref, "exception": _blob_of(exc),
                     "traceback": traceback.format_exc(), "where": "the scheduler"})
            return
        keep = table.keep_mask()
        if len(held):
            table.priority[held] = -1
            keep[held] = 1
        run.state = GraphState(table.dep_indptr, table.dep_indices, table.priority, keep)
        self.runs[run.id] = run
        cs.runs.add(run.id)
        cs.send({"op": "accepted", "ref": ref, "run": run.id, "n_tasks": table.n_tasks})
        if len(held):
            ids = run.state.pop_ready(len(held))
            run.state.finish(ids)
        if run.state.complete:
            self._complete(run)

    def _borrow_held(self, run: Run) -> np.ndarray:
        """Point the run's ``Held`` tasks at the kept outputs they name."""
        table = run.table
        parts = []
        for li, layer in enumerate(table.layers):
            if not isinstance(layer, Held):
                continue
            if layer.cluster != self.id:
                raise RuntimeError(f"an input was persisted on another cluster ({layer.cluster}): "
                                   "persist it again on this one")
            rec = self.finished.get(int(layer.run))
            if rec is None or rec.released:
                raise RuntimeError(f"persisted run {layer.run} was released: persist it again")
            if rec.lost:
                raise RuntimeError(f"blocks of persisted run {layer.run} were lost with a "
                                   "worker: persist it again")
            keys, where, _ = rec.outputs[int(layer.output)]
            tasks = np.arange(table.layer_offsets[li], table.layer_offsets[li + 1])
            blocks = table.task_block[tasks]
            run.keys[tasks] = keys[blocks]
            run.where[tasks] = where[blocks]
            run.owned[tasks] = False
            rec.users.add(run.id)
            run.borrows.add(int(layer.run))
            parts.append(tasks)
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def _complete(self, run: Run) -> None:
        outputs = []
        for out in run.table.outputs:
            outputs.append((run.keys[out], run.where[out], run.owned[out]))
        self._drop_run(run)
        rec = Finished(run.client, outputs)
        self.finished[run.id] = rec
        run.client.finished.add(run.id)
        addresses = {ws.wid: ws.address for ws in self.workers.values()}
        run.client.send({
            "op": "run_done", "ref": run.ref, "run": run.id,
            "outputs": [(keys, where) for keys, where, _ in outputs], "workers": addresses,
            "submitted": run.submitted, "first_task": run.first_task, "n_tasks": run.table.n_tasks,
        })
        for wid in run.sent_to:
            ws = self.workers.get(wid)
            if ws is not None:
                ws.send({"op": "forget", "run": run.id})
                ws.runs.discard(run.id)

    def _drop_run(self, run: Run) -> None:
        self.runs.pop(run.id, None)
        run.client.runs.discard(run.id)
        for rid in run.borrows:
            rec = self.finished.get(rid)
            if rec is not None:
                rec.users.discard(run.id)
                if rec.released and not rec.users:
                    self._release_finished(rid)

    def _fail_run(self, run: Run, exception: Any, tb: str, where: str) -> None:
        run.client.send({"op": "run_erred", "ref": run.ref, "run": run.id,
                         "exception": exception, "traceback": tb, "where": where})
        self._cancel_run(run)

    def _cancel_run(self, run: Run) -> None:
        """Forget a run: workers drop its queued tasks and every key it owns."""
        running = run.state.states() == RUNNING
        for wid, count in zip(*np.unique(run.where[running], return_counts=True)):
            ws = self.workers.get(int(wid))
            if ws is not None:
                ws.in_flight -= int(count)
        for wid in run.sent_to:
            ws = self.workers.get(wid)
            if ws is not None:
                ws.send({"op": "cancel", "run": run.id})
                ws.runs.discard(run.id)
        self._drop_run(run)

    def _release_finished(self, rid: int) -> None:
        rec = self.finished.get(rid)
        if rec is None:
            return
        rec.released = True
        if rec.users:
            return
        del self.finished[rid]
        rec.client.finished.discard(rid)
        keys = np.concatenate([k[o] for k, _, o in rec.outputs])
        where = np.concatenate([w[o] for _, w, o in rec.outputs])
        self._send_release(np.unique(keys), where[np.unique(keys, return_index=True)[1]])

    def _release(self, run: Run, freed: np.ndarray) -> None:
        if not len(freed):
            return
        freed = freed[run.owned[freed]]
        self._send_release(run.keys[freed], run.where[freed])
        run.where[freed] = -1

    def _send_release(self, keys: np.ndarray, where: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(where, kind="stable")
        wids, starts = np.unique(where[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        for wid, a, b in zip(wids.tolist(), starts.tolist(), bounds):
            ws = self.workers.get(wid)
            if ws is not None:
                ws.send({"op": "release", "keys": keys[order[a:b]]})

    # scheduling ---------------------------------------------------------------------
    def _schedule(self) -> None:
        """Hand ready tasks to workers with room, in batches."""
        if not self.workers or not self.runs:
            return
        workers = list(self.workers.values())
        self._place_suspects(workers)
        cap = np.array([0 if ws.alone else ws.target - ws.in_flight for ws in workers],
                       dtype=np.int64)
        free = int(np.clip(cap, 0, None).sum())
        runs = [r for r in self.runs.values() if r.state.n_ready]
        if free <= 0 or not runs:
            return
        self._rotate = (self._rotate + 1) % len(runs)
        parked = False
        for run in runs[self._rotate:] + runs[:self._rotate]:
            if free <= 0:
                break
            ids = run.state.pop_ready(free)
            while run.suspects and len(ids):
                suspect = run.losses[ids] > 0
                if not suspect.any():
                    break
                run.parked.extend(ids[suspect].tolist())
                parked = True
                ids = ids[~suspect]
                if not len(ids):
                    ids = run.state.pop_ready(free)
            if not len(ids):
                continue
            choice = self._assign(run, ids, cap, workers)
            cap -= np.bincount(choice, minlength=len(workers))
            free = int(np.clip(cap, 0, None).sum())
            self._dispatch(run, ids, choice, workers)
        if parked:
            self._place_suspects(workers)

    def _place_suspects(self, workers: list[WorkerState]) -> None:
        """Run each task that was on a departed worker alone on an idle worker.

        Then, if that task is what crashes its workers, it is the only one
        counted against ``max_task_losses``. When no worker is idle, one
        stops taking new tasks until it is.
        """
        waiting = [run for run in self.runs.values() if run.parked]
        for pos, ws in enumerate(workers):
            if ws.in_flight > 0:
                continue
            ws.alone = False
            while waiting and not waiting[0].parked:
                waiting.pop(0)
            if waiting:
                run = waiting[0]
                ws.alone = True
                self._dispatch(run, np.array([run.parked.pop(0)], dtype=np.int64),
                               np.array([pos]), workers)
        if any(run.parked for run in waiting) and not any(ws.alone for ws in workers):
            min(workers, key=lambda ws: ws.in_flight).alone = True

    def _assign(self, run: Run, ids: np.ndarray, cap: np.ndarray,
                workers: list[WorkerState]) -> np.ndarray:
        """Worker position per task: where most of its inputs are (each weighed by
        1 / its unfinished readers), else by free room."""
        n_workers = len(workers)
        choice = np.full(len(ids), -1, dtype=np.int64)
        if n_workers == 1:
            choice[:] = 0
            return choice
        open_to_all = np.array([not ws.alone for ws in workers])
        ptr = run.table.dep_indptr
        has = ptr[ids + 1] > ptr[ids]
        if bool(has.any()):
            rows_with = np.flatnonzero(has)
            sub_ptr, deps = take_rows(ptr, run.table.dep_indices, ids[rows_with])
            position = np.full(max(self.workers) + 1, -1, dtype=np.int64)
            for pos, ws in enumerate(workers):
                if not ws.alone:
                    position[ws.wid] = pos
            holder = run.where[deps]
            known = (holder >= 0) & (holder < len(position))
            holder = np.where(known, position[np.where(known, holder, 0)], -1)
            rows = np.repeat(np.arange(len(rows_with)), np.diff(sub_ptr))
            valid = holder >= 0
            # an input that many unfinished tasks read is copied to wherever they
            # run: it says little about where each should go, so it weighs less
            weight = 1.0 / np.maximum(run.state.dependents_left(deps[valid]), 1)
            counts = np.bincount(rows[valid] * n_workers + holder[valid], weights=weight,
                                 minlength=len(rows_with) * n_workers).reshape(-1, n_workers)
            best = counts.argmax(axis=1)
            located = counts.max(axis=1) > 0
            choice[rows_with[located]] = best[located]
        rest = np.flatnonzero(choice < 0)
        if len(rest):
            room = np.clip(cap - np.bincount(choice[choice >= 0], minlength=n_workers), 0, None)
            choice[rest] = np.repeat(np.arange(n_workers), _shares(len(rest), room, open_to_all))
        return choice

    def _dispatch(self, run: Run, ids: np.ndarray, choice: np.ndarray,
                  workers: list[WorkerState]) -> None:
        table = run.table
        order = np.argsort(choice, kind="stable")
        positions, starts = np.unique(choice[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        for pos, a, b in zip(positions.tolist(), starts.tolist(), bounds):
            ws = workers[pos]
            sel = ids[order[a:b]]
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


def _shares(n: int, room: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Split ``n`` tasks over workers in proportion to their room (the allowed
    ones equally if none has room)."""
    weights = room.astype(np.float64) if room.sum() > 0 else allowed.astype(np.float64)
    exact = n * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    short = n - int(out.sum())
    if short:
        out[np.argsort(out - exact)[:short]] += 1
    return out


def _describe(run: Run, task: int) -> str:
    try:
        return run.table.describe_task(task)
    except Exception:
        return f"task {task}"


def _blob_of(exc: BaseException) -> Blob:
    try:
        return Blob.dump(exc)
    except Exception:
        return Blob.dump(RuntimeError(f"{type(exc).__name__}: {exc}"))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def forbid_unpickling() -> None:
    """Make this process refuse to unpickle anything, for the rest of its life.

    The scheduler never runs user code, so nothing it receives should ever
    be unpickled; this audit hook turns a mistake into a loud error.
    """
    def hook(event: str, args: tuple) -> None:
        if event == "pickle.find_class":
            raise RuntimeError(f"the lamina scheduler never unpickles: refused to load "
                               f"{args[0]}.{args[1]}")

    sys.addaudithook(hook)


async def serve_until_stopped(scheduler: Scheduler, address: str,
                              on_ready: Callable[[str], None] | None = None,
                              exit_with_parent: bool = False) -> None:
    """Run ``scheduler`` at ``address`` until SIGINT/SIGTERM (or the parent exits)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = await scheduler.start(address)
    if on_ready is not None:
        on_ready(bound)
    parent = _parent_watch(stop) if exit_with_parent else None
    await stop.wait()
    if parent is not None:
        parent.cancel()
    await scheduler.stop()


def _parent_watch(stop: asyncio.Event) -> asyncio.Task:
    import os

    parent = os.getppid()

    async def watch() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        stop.set()

    return asyncio.ensure_future(watch())


def run_scheduler(host: str = "127.0.0.1", port: int = 8786, exit_with_parent: bool = False,
                  max_task_losses: int = MAX_TASK_LOSSES) -> int:
    """The ``lamina scheduler`` command: serve until interrupted; return 0."""
    scheduler = Scheduler(max_task_losses=max_task_losses)
    forbid_unpickling()

    def ready(address: str) -> None:
        print(f"lamina scheduler listening at {address}", flush=True)

    asyncio.run(serve_until_stopped(scheduler, f"tcp://{host}:{port}", ready,
                                    exit_with_parent))
    return 0
