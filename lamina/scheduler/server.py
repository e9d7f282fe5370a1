"""The scheduler server: protocol glue around the placement and run books.

A client sends a *graph*: an optimized expression encoded by
``lamina.comm.wire`` (kilobytes, whatever the number of tasks). The server
decodes it without unpickling anything (functions stay opaque blobs),
lowers it to integer tasks with each trusted layer's own ``block_deps``,
and drives one compiled ``GraphState`` per computation (a *run*)::

    scheduler = Scheduler()
    await scheduler.start("tcp://127.0.0.1:8786")

This module only reads messages, asks the core and sends what it decides:
``placement`` chooses workers for ready tasks (pure functions over arrays),
``runs`` keeps each run's books (where tasks and results are, what is
released, what a departed worker's loss sends back to be computed), and
``peers`` is what is known of each connection. A run that fails sends the
original exception (an opaque blob here) to its client; a client that
disconnects has its runs cancelled and its data released; a worker that
leaves, or stays silent past ``worker_timeout`` (``heartbeat``), takes its
tasks and results with it, and every run goes on.

Every piece of data on a worker has a global integer key: a run's tasks
own keys ``key_base .. key_base + n_tasks - 1``. The outputs of a finished
run stay on the workers until its client releases them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import traceback
import uuid
from typing import Any, Awaitable, Callable

import numpy as np

from lamina.comm.batched import BatchedSend, unbatch
from lamina.comm.core import Comm, CommClosedError, listen
from lamina.comm.limits import brief
from lamina.comm.process import forbid_unpickling, run_process
from lamina.comm.security import Security
from lamina.comm.wire import Blob, WireError, loads
from lamina.layers.codec import LayerCodec
from lamina.layers.registry import signature
from lamina.scheduler import dispatch, placement
from lamina.scheduler._state import AHEAD
from lamina.scheduler.heartbeat import HEARTBEAT_SECONDS, WORKER_TIMEOUT_SECONDS, HeartbeatWatch
from lamina.scheduler.lowering import lower
from lamina.scheduler.monitor import MAX_RECORDS, Monitor
from lamina.scheduler.peers import ClientState, WorkerState
from lamina.scheduler.runs import Failure, Finished, Run

logger = logging.getLogger("lamina.scheduler")

PROGRESS_SECONDS = 0.1
MAX_TASK_LOSSES = 3
MAX_FETCH_FAILURES = 10
AHEAD_DEPTH = 64
AHEAD_BUDGET = 1024
PREPARE_KINDS = ("frames",)
"""What a client may ask workers to prepare for (the libraries they import ahead)."""


class Scheduler:
    """The network server around the compiled state machine.

    ``max_task_losses``: how many departing workers a task may be running
    on before its run fails (a task that crashes its worker would otherwise
    take every worker down in turn). Workers send a heartbeat every
    ``heartbeat_interval`` seconds; one silent for ``worker_timeout``
    seconds is removed as if it had died. ``security``: the cluster secret
    (and TLS files) every worker and client must prove; by default
    ``Security.for_scheduler()`` at ``start`` (the environment, or a secret
    file it creates, see ``lamina.comm.security``). Along the optimizer's
    speculative-dispatch hints, dependents are sent ahead up to
    ``ahead_depth`` levels, at most ``ahead_budget`` held by each worker
    (0 turns it off; see ``dispatch``). ``dashboard_address``: where to serve
    the dashboard (``host:port``, see ``dashboard``); None serves none.
    """

    def __init__(self, max_task_losses: int = MAX_TASK_LOSSES,
                 heartbeat_interval: float = HEARTBEAT_SECONDS,
                 worker_timeout: float = WORKER_TIMEOUT_SECONDS,
                 security: Security | None = None, ahead_depth: int = AHEAD_DEPTH,
                 ahead_budget: int = AHEAD_BUDGET,
                 dashboard_address: str | None = None) -> None:
        self.id = uuid.uuid4().hex
        self.ahead_depth = max(int(ahead_depth), 0)
        self.ahead_budget = max(int(ahead_budget), 0)
        self.monitor = Monitor()
        self.dashboard_address = dashboard_address
        self.dashboard: Any = None
        self.security = security
        self.heartbeat = HeartbeatWatch(heartbeat_interval, worker_timeout)
        self._watch: asyncio.Future | None = None
        if int(max_task_losses) < 1:
            raise ValueError(f"max_task_losses must be 1 or more, got {max_task_losses}: "
                             "a task fails its run once it was running on that many "
                             "departing workers")
        self.max_task_losses = int(max_task_losses)
        self.tasks_recomputed = 0
        self.tasks_speculative = 0
        self.steals = dispatch.Steals()
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
        self.prepare: set[str] = set()

    # lifecycle -----------------------------------------------------------------
    async def start(self, address: str = "tcp://127.0.0.1:0") -> str:
        """Listen at ``address``; return the address actually bound."""
        info = {"role": "scheduler", "id": self.id, "registry": signature()}
        self.security = self.security or Security.for_scheduler()
        self.listener = await listen(address, self._serve, info, load_blobs=False,
                                     security=self.security)
        self.address = self.listener.address
        if self.dashboard_address is not None:
            from lamina.scheduler.dashboard import Dashboard

            self.dashboard = Dashboard(self.snapshot)
            await self.dashboard.start(self.dashboard_address)
        self._watch = asyncio.ensure_future(
            self.heartbeat.run(lambda: list(self.workers.values()), self._drop_silent))
        return self.address

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.listener is not None:
            await self.listener.stop()
        if self.dashboard is not None:
            await self.dashboard.stop()
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
        ws.ahead_budget = self.ahead_budget
        self.workers[wid] = ws
        ws.send({"op": "welcome", "wid": wid, "heartbeat": self.heartbeat.interval,
                 "prepare": sorted(self.prepare)})
        self._broadcast_workers()
        self._schedule()

        async def handle(msg: dict) -> None:
            ws.last_seen = time.monotonic()
            self._worker_message(ws, msg)

        try:
            await self._read(comm, handle, f"worker {ws.address}")
        finally:
            self._remove_worker(ws)
            ws.out.abort()

    async def _read(self, comm: Comm, handle: Callable[[dict], Awaitable[None]],
                    sender: str) -> None:
        """Handle each message from ``comm``, then schedule, until it closes.

        A malformed message or a failed handler closes the connection at once
        and is logged in one line.
        """
        try:
            while True:
                msg = await comm.read()
                for m in unbatch(msg):
                    try:
                        await handle(m)
                    except Exception as exc:
                        raise WireError(f"could not handle {m['op'][:40]!r}: "
                                        f"{brief(exc)}") from exc
                self._schedule()
        except CommClosedError:
            pass
        except WireError as exc:
            logger.warning("closed the connection from %s: %s", sender, exc)
        finally:
            comm.abort()

    def _prepare_workers(self, kinds: Any) -> None:
        """Tell the workers, now and on joining, what a client will compute (``"frames"``):
        they import its libraries while idle, and never when no client asked."""
        new = {k for k in kinds or () if k in PREPARE_KINDS} - self.prepare
        if new:
            self.prepare |= new
            for ws in self.workers.values():
                ws.send({"op": "prepare", "kinds": sorted(new)})

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
        elif op == "stolen":
            self.steals.tasks += dispatch.stolen(ws, msg, self.runs.get(msg["run"]),
                                                 self.workers)
        elif op == "erred":
            run = self.runs.get(msg["run"])
            task = np.array([msg["task"]], dtype=np.int64)
            if run is not None and len(run.expected(ws.wid, task)):
                where = run.describe(int(task[0]))
                self._fail_run(run, msg["exception"], msg.get("traceback", ""), where,
                               {"type": msg.get("error_type", ""),
                                "message": msg.get("error_message", ""), "where": where},
                               int(task[0]))
        elif op == "heartbeat":
            self.monitor.heartbeat(ws.wid, msg.get("metrics"))

    def _task_done(self, ws: WorkerState, msg: dict) -> None:
        run = self.runs.get(msg["run"])
        if run is None:
            return
        reported = np.array(msg["tasks"], dtype=np.int64)
        ws.measured(len(reported), float(msg.get("elapsed", 0.0)))
        if not run.first_task and msg.get("started"):
            run.first_task = float(msg["started"])
        n_done, promoted, holders, freed = run.report(ws.wid, reported)
        if len(promoted):
            dispatch.promote(run, promoted, holders, self.workers)
        ws.in_flight -= n_done
        self.tasks_done += n_done
        self.monitor.task_done(run, ws.wid, msg, run.last_finished)
        self._send_release(*freed)
        if run.state.complete:
            self._complete(run)
        elif run.progress:
            now = time.monotonic()
            if now - run.progress_sent >= PROGRESS_SECONDS:
                run.progress_sent = now
                run.client.send({"op": "progress", "ref": run.ref, "run": run.id,
                                 "done": run.state.n_done, "total": run.table.n_tasks,
                                 "speculative": int(run.speculative.sum())})

    def _inputs_missing(self, ws: WorkerState, msg: dict) -> None:
        """A worker could not fetch a batch's inputs: run those tasks again later."""
        run = self.runs.get(msg["run"])
        if run is None:
            return
        tasks = run.expected(ws.wid, np.array(msg["tasks"], dtype=np.int64))
        if not len(tasks):
            return
        ws.in_flight -= len(tasks)
        failure = run.inputs_missing(tasks, ws.address, msg.get("reason", "unknown"),
                                     MAX_FETCH_FAILURES)
        dispatch.drop_retracted(run, self.workers)
        if failure is not None:
            self._fail(run, failure)

    def _drop_silent(self, ws: WorkerState) -> None:
        """Remove a worker that stopped answering; close its connection so that,
        should it wake up, it finds itself gone and exits."""
        self._remove_worker(ws)
        ws.out.abort()

    def _remove_worker(self, ws: WorkerState) -> None:
        """Forget a worker that left; every run goes on without it."""
        if self.workers.pop(ws.wid, None) is None:
            return
        self.monitor.worker_left(ws.wid)
        if ws.stealing:
            thief = self.workers.get(ws.steal_for[0])
            if thief is not None:
                thief.incoming -= ws.steal_for[1]
        for run in list(self.runs.values()):
            run.sent_to.discard(ws.wid)
            recomputed, failure = run.recover(ws.wid, ws.address, self.max_task_losses)
            dispatch.drop_retracted(run, self.workers)
            self.tasks_recomputed += recomputed
            if failure is not None:
                self._fail(run, failure)
        for rid, rec in self.finished.items():
            if rec.held_on(ws.wid):
                rec.lost = True
                rec.client.send({"op": "outputs_lost", "run": rid, "worker": ws.address})
        if self.workers:
            self._broadcast_workers()
        self._schedule()

    # clients -------------------------------------------------------------------------
    async def _serve_client(self, comm: Comm) -> None:
        cs = ClientState(next(self._ids), BatchedSend(comm))
        self.clients[cs.cid] = cs
        self._prepare_workers(comm.peer_info.get("prepare"))
        try:
            await self._read(comm, lambda msg: self._client_message(cs, msg), "a client")
        finally:
            cs.out.abort()
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
        elif op == "diagnostics":
            cs.send({"op": "diagnostics", "req": msg.get("req"),
                     **self.snapshot(int(msg.get("since", 0)), self.monitor.records.capacity)})
        elif op == "heartbeat":
            cs.send({"op": "heartbeat"})  # a sign of life the client waits for

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
            "dashboard": self.dashboard_link,
            "tasks_speculative": self.tasks_speculative,
            "tasks_stolen": self.steals.tasks,
        }

    @property
    def dashboard_link(self) -> str | None:
        """The dashboard's address (``http://...``), or None when it is off."""
        return self.dashboard.link if self.dashboard is not None else None

    def snapshot(self, cursor: int = 0, max_records: int = MAX_RECORDS) -> dict[str, Any]:
        """What the dashboard shows now: workers, runs per layer, task records after ``cursor``."""
        return {"scheduler": self.address, "tasks_done": self.tasks_done,
                **self.monitor.snapshot(list(self.workers.values()), list(self.runs.values()),
                                        cursor, max_records)}

    # runs ----------------------------------------------------------------------------
    async def _submit(self, cs: ClientState, msg: dict) -> None:
        ref = msg["ref"]
        run = None
        try:
            roots = loads(msg["graph"].frames, load_blobs=False, extension=LayerCodec())["roots"]
            table = await asyncio.get_running_loop().run_in_executor(None, lower, list(roots))
            if cs.cid not in self.clients:
                return
            run = Run(next(self._ids), cs, ref, table, msg["graph"], self.next_key)
            run.progress = bool(msg.get("progress", False))
            run.use_hints(msg.get("hints") or (), self.ahead_depth)
            self.monitor.run_submitted(run, msg.get("rules"))
            self.next_key += table.n_tasks
            held = run.borrow_held(self.finished, self.id)
        except Exception as exc:
            if run is not None:
                self._drop_run(run, "failed", {"type": type(exc).__name__,
                                               "message": str(exc), "where": "the scheduler"})
            cs.send({"op": "run_erred", "ref": ref, "exception": _blob_of(exc),
                     "traceback": traceback.format_exc(), "where": "the scheduler"})
            return
        run.start(held)
        self.runs[run.id] = run
        cs.runs.add(run.id)
        cs.send({"op": "accepted", "ref": ref, "run": run.id, "n_tasks": table.n_tasks})
        if run.state.complete:
            self._complete(run)

    def _complete(self, run: Run) -> None:
        outputs = run.outputs()
        speculative = int(run.speculative.sum())
        self.tasks_speculative += speculative
        self._drop_run(run)
        rec = Finished(run.client, outputs)
        self.finished[run.id] = rec
        run.client.finished.add(run.id)
        addresses = {ws.wid: ws.address for ws in self.workers.values()}
        run.client.send({
            "op": "run_done", "ref": run.ref, "run": run.id,
            "outputs": [(keys, where) for keys, where, _ in outputs], "workers": addresses,
            "submitted": run.submitted, "first_task": run.first_task, "n_tasks": run.table.n_tasks,
            "speculative": speculative,
        })
        for wid in run.sent_to:
            ws = self.workers.get(wid)
            if ws is not None:
                ws.send({"op": "forget", "run": run.id})
                ws.runs.discard(run.id)

    def _drop_run(self, run: Run, outcome: str = "cancelled",
                  error: dict[str, str] | None = None) -> None:
        self.monitor.run_ended(run, "done" if run.state is not None and run.state.complete
                               else outcome, error)
        self.runs.pop(run.id, None)
        run.client.runs.discard(run.id)
        for rid in run.borrows:
            rec = self.finished.get(rid)
            if rec is not None:
                rec.users.discard(run.id)
                if rec.released and not rec.users:
                    self._release_finished(rid)

    def _fail(self, run: Run, failure: Failure) -> None:
        self._fail_run(run, Blob.dump(RuntimeError(failure.reason)), "", failure.where,
                       {"type": "RuntimeError", "message": failure.reason,
                        "where": failure.where})

    def _fail_run(self, run: Run, exception: Any, tb: str, where: str,
                  error: dict[str, str] | None = None, task: int | None = None) -> None:
        """Tell the client its run failed and stop it; the dashboard shows ``error``
        (type, message, where) and counts ``task`` and its dependents erred."""
        run.client.send({"op": "run_erred", "ref": run.ref, "run": run.id,
                         "exception": exception, "traceback": tb, "where": where})
        self._cancel_run(run, "failed", error, task)

    def _cancel_run(self, run: Run, outcome: str = "cancelled",
                    error: dict[str, str] | None = None, erred: int | None = None) -> None:
        """Forget a run: workers drop its queued tasks and every key it owns."""
        for wid, count in zip(*run.running_per_worker()):
            ws = self.workers.get(int(wid))
            if ws is not None:
                ws.in_flight -= int(count)
        for wid, count in zip(*run.running_per_worker(AHEAD)):
            ws = self.workers.get(int(wid))
            if ws is not None:
                ws.ahead -= int(count)
        for wid in run.sent_to:
            ws = self.workers.get(wid)
            if ws is not None:
                ws.send({"op": "cancel", "run": run.id})
                ws.runs.discard(run.id)
        if erred is not None and run.state is not None:
            run.state.fail(erred)       # after the counts above: for the dashboard only
        self._drop_run(run, outcome, error)

    def _release_finished(self, rid: int) -> None:
        rec = self.finished.get(rid)
        if rec is None:
            return
        rec.released = True
        if rec.users:
            return
        del self.finished[rid]
        rec.client.finished.discard(rid)
        self._send_release(*rec.owned_keys())

    def _send_release(self, keys: np.ndarray, where: np.ndarray) -> None:
        if not len(keys):
            return
        for wid, index in placement.split_by(where):
            ws = self.workers.get(wid)
            if ws is not None:
                ws.send({"op": "release", "keys": keys[index]})

    def _schedule(self) -> None:
        """Hand ready tasks to workers with room, in batches (see ``dispatch``)."""
        if self.workers and self.runs:
            self._rotate = dispatch.schedule(list(self.workers.values()),
                                             list(self.runs.values()), self._rotate)
            dispatch.steal(list(self.workers.values()), list(self.runs.values()))


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


def run_scheduler(host: str = "127.0.0.1", port: int = 8786, exit_with_parent: bool = False,
                  max_task_losses: int = MAX_TASK_LOSSES,
                  heartbeat_interval: float = HEARTBEAT_SECONDS,
                  worker_timeout: float = WORKER_TIMEOUT_SECONDS,
                  security: Security | None = None, ahead_depth: int = AHEAD_DEPTH,
                  ahead_budget: int = AHEAD_BUDGET,
                  dashboard_address: str | None = None) -> int:
    """The ``lamina scheduler`` command: serve until interrupted; return 0.

    Listens on ``tls://`` when ``security`` has a certificate, else ``tcp://``;
    prints the dashboard's link first when ``dashboard_address`` is given.
    """
    security = security or Security.for_scheduler()
    scheduler = Scheduler(max_task_losses, heartbeat_interval, worker_timeout, security,
                          ahead_depth, ahead_budget, dashboard_address)
    forbid_unpickling()
    address = f"{security.scheme}://{host}:{port}"

    async def start() -> str:
        bound = await scheduler.start(address)
        if scheduler.dashboard_link:
            print(f"lamina scheduler dashboard at {scheduler.dashboard_link}", flush=True)
        return bound

    return run_process("scheduler", start, scheduler.stop, exit_with_parent)
