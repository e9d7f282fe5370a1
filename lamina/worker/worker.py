"""The worker: runs (layer, block) tasks in a thread pool and holds results.

    worker = Worker("tcp://127.0.0.1:8786", nthreads=4)
    await worker.start()
    await worker.finished()          # until the scheduler goes away

For each computation (*run*) the scheduler sends the encoded expression
once; the worker decodes it (loading the pickled functions: workers run
user code, the scheduler never does) and keeps the run's layers in task
table order. ``compute`` batches then name tasks by (layer, block) with the
global keys of their inputs and the workers holding them. Inputs held by a
peer are fetched from it directly, kept for the batch only, and dropped
after it; when a peer is gone, the batch goes back to the scheduler as
``missing`` (it reschedules the tasks once the inputs exist again). Results
stay under their keys until the scheduler releases them. Completions go
back in batches with the thread time they took, which the scheduler uses
to size the next batches.

Tasks sent *ahead* wait in a ``WaitingSet`` until their inputs are in
memory here; the thread that makes the last input runs them straight
after, without a round trip to the scheduler, reporting as it goes. A ``steal`` asks for queued tasks back: the worker gives
up those it has not started, with the held tasks that wait on them, and
answers ``stolen``.

With a ``memory_limit`` the blocks live in a ``BlockStore`` that spills
the least recently used ones to disk and reads them back when a task or a
peer asks; above the pause fraction the worker starts no new task while
one is running (see ``lamina.worker.store``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import threading
import time
import traceback
from collections import deque
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

from lamina.comm.batched import BatchedSend, as_message, unbatch
from lamina.comm.core import Comm, CommClosedError, connect_when_up, listen
from lamina.comm.limits import brief
from lamina.comm.opaque import error_summary
from lamina.comm.pool import ConnectionPool
from lamina.comm.process import run_process
from lamina.comm.security import Security
from lamina.comm.wire import Blob, WireError, nodes_of
from lamina.layers.base import Layer
from lamina.layers.codec import LayerCodec
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.shards import ShardDirectory, writing_shards
from lamina.layers.registry import signature
from lamina.worker.metrics import WorkerMetrics
from lamina.worker.store import PAUSE_FRACTION, SPILL_FRACTION, open_store, parse_memory_limit
from lamina.worker.waiting import WaitingSet

logger = logging.getLogger("lamina.worker")

LONG_TASK_SECONDS = 1e-3
SCHEDULER_WAIT_SECONDS = 30.0
INITIAL_SECONDS_PER_TASK = 1e-4
MAX_CHUNK = 1024
INLINE_SECONDS = 0.05
REPORT_SECONDS = 1e-3
SLICE_SECONDS = 0.01
_MISSING = object()


class InputsUnavailable(Exception):
    """A peer that should hold a batch's inputs is gone or no longer has them."""

    def __init__(self, wid: int, reason: str) -> None:
        super().__init__(f"inputs on worker {wid} are unavailable: {reason}")
        self.wid = wid


class WorkerRun:
    """A computation's layers (in task table order) and their kernels."""

    def __init__(self, rid: int, key_base: int, n_tasks: int) -> None:
        self.id = rid
        self.key_base = key_base
        self.n_tasks = n_tasks
        self.layers: list[Layer] = []
        self.kernels: list[Callable | None] = []
        self.error: BaseException | None = None
        self.cancelled = False
        self.started = 0.0

    def kernel(self, index: int) -> Callable:
        fn = self.kernels[index]
        if fn is None:
            fn = self.kernels[index] = self.layers[index].kernel()
        return fn

    def describe(self, index: int, block: int) -> str:
        layer = self.layers[index]
        return f"layer {layer.label()} ({layer.name}), block {layer.block_index(block)}"


class Batch:
    """One ``compute`` message: tasks, their layers and blocks, input keys."""

    def __init__(self, run: WorkerRun, msg: dict) -> None:
        self.run = run
        self.tasks: list[int] = np.asarray(msg["tasks"]).tolist()
        self.layer: list[int] = np.asarray(msg["layer"]).tolist()
        self.block: list[int] = np.asarray(msg["block"]).tolist()
        self.dep_ptr: list[int] = np.asarray(msg["dep_ptr"]).tolist()
        self.dep_keys: list[int] = np.asarray(msg["dep_keys"]).tolist()
        self.dep_where: list[int] = np.asarray(msg["dep_where"]).tolist()
        self.fetched: dict[int, Any] = {}
        # the last ``ahead`` tasks were sent ahead: held until their inputs are here
        self.n_now = len(self.tasks) - int(msg.get("ahead") or 0)


class Worker:
    """Connects to a scheduler, listens for peers, runs tasks.

    ``security``: the cluster secret (and TLS files) this worker proves to
    the scheduler and its peers, and requires of them; by default from the
    environment (``Security.from_environment``) at ``start``. ``executor``:
    the threads that run tasks (a hosting program's, e.g. a Dask worker's);
    by default a pool of ``nthreads`` owned by this worker.
    """

    def __init__(self, scheduler_address: str, nthreads: int = 1, host: str = "127.0.0.1",
                 port: int = 0, listen_address: str | None = None,
                 security: Security | None = None, memory_limit: str | float | None = None,
                 spill_fraction: float = SPILL_FRACTION, pause_fraction: float = PAUSE_FRACTION,
                 spill_directory: str | None = None, executor: Executor | None = None) -> None:
        self.scheduler_address = scheduler_address
        self.security = security
        self.nthreads = max(int(nthreads), 1)
        self.listen_address = listen_address or f"tcp://{host}:{port}"
        self.data = open_store(parse_memory_limit(memory_limit), spill_fraction, pause_fraction,
                               spill_directory)
        self.shards = ShardDirectory(spill_directory)
        self.paused = False
        self.pauses = 0
        self.frames_prepared = False
        self.runs: dict[int, WorkerRun] = {}
        self.addresses: dict[int, str] = {}
        self.wid = -1
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(self.nthreads,
                                                       thread_name_prefix="lamina-task")
        self.queue: deque[tuple[Batch, int, int]] = deque()
        self.waiting = WaitingSet()
        self.tasks_ahead = 0
        self.busy = 0
        self.seconds_per_task = INITIAL_SECONDS_PER_TASK
        self.pool: ConnectionPool | None = None
        self.tasks_run = 0
        self.metrics = WorkerMetrics()
        self.address = ""
        self._done = asyncio.Event()
        self._background: set[asyncio.Future] = set()
        self._departed: dict[int, asyncio.Future] = {}

    # lifecycle -----------------------------------------------------------------
    async def start(self) -> str:
        """Listen for peers, register with the scheduler; return this worker's address.

        Waits up to ``SCHEDULER_WAIT_SECONDS`` for the scheduler to come up.
        """
        security = self.security = self.security or Security.from_environment()
        self.pool = ConnectionPool({"role": "worker"}, security=security)
        self.listener = await listen(self.listen_address, self._serve_peer, {"role": "worker"},
                                     load_blobs=True, security=security)
        self.address = self.listener.address
        info = {"role": "worker", "address": self.address, "nthreads": self.nthreads,
                "registry": signature()}
        self.comm = await connect_when_up(self.scheduler_address, info, load_blobs=True,
                                          timeout=SCHEDULER_WAIT_SECONDS, security=security)
        self.out = BatchedSend(self.comm)
        self._loop = asyncio.get_running_loop()
        self._spawn(self._serve_scheduler())
        return self.address

    async def finished(self) -> None:
        """Wait until the scheduler connection ends."""
        await self._done.wait()

    async def close(self) -> None:
        await self.out.close(timeout=1.0)
        self.comm.abort()
        await self.listener.stop()
        await self.pool.close()
        if self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.data.close()
        self.shards.close()
        self._done.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # scheduler messages ---------------------------------------------------------
    async def _serve_scheduler(self) -> None:
        try:
            while True:
                msg = await self.comm.read()
                for m in unbatch(msg):
                    self._handle(m)
        except CommClosedError:
            pass
        except Exception as exc:
            logger.warning("closed the connection to the scheduler: %s", brief(exc))
        finally:
            self.comm.abort()
            self._done.set()

    def _handle(self, msg: dict) -> None:
        op = msg.get("op")
        if op == "compute":
            run = self.runs.get(msg["run"])
            if run is not None:
                batch = Batch(run, msg)
                if batch.n_now < len(batch.tasks):
                    self._hold(batch)
                if batch.n_now:
                    self._accept(batch)
        elif op == "drop":
            self.waiting.drop(int(msg["run"]), np.asarray(msg["tasks"]).tolist())
        elif op == "steal":
            self._give_up(int(msg["run"]), np.asarray(msg["tasks"]).tolist())
        elif op == "release":
            data = self.data
            for key in np.asarray(msg["keys"]).tolist():
                data.discard(key)
        elif op == "run":
            self._new_run(msg)
        elif op == "cancel":
            self._cancel(int(msg["run"]))
        elif op == "forget":
            run = self.runs.pop(int(msg["run"]), None)
            self.waiting.drop_run(int(msg["run"]))
            if run is not None:
                run.layers, run.kernels = [], []
        elif op == "workers":
            addresses = {int(k): v for k, v in msg["addresses"].items()}
            for wid in set(self.addresses) - set(addresses):
                self._departure(wid).set_result(None)
            self.addresses = addresses
        elif op == "welcome":
            self.wid = int(msg["wid"])
            if msg.get("heartbeat"):
                self._spawn(self._heartbeat(float(msg["heartbeat"])))
            self._prepare(msg.get("prepare") or ())
        elif op == "prepare":
            self._prepare(msg["kinds"])

    def _prepare(self, kinds: Any) -> None:
        """Import the libraries of what clients will compute (``"frames"``: pandas and
        pyarrow) in a thread while this worker waits, once; a worker of a cluster
        that only computes arrays never imports them."""
        if "frames" in kinds and not self.frames_prepared:
            self.frames_prepared = True
            threading.Thread(target=import_frame_libraries, name="lamina-prepare",
                             daemon=True).start()

    async def _heartbeat(self, interval: float) -> None:
        """Tell the scheduler this worker is alive every ``interval`` seconds, even
        while its threads are busy, so that only a worker that hangs looks silent."""
        while not self._done.is_set() and self._tell({"op": "heartbeat",
                                                      "metrics": self.metrics.sample(self.data)}):
            await asyncio.sleep(interval)

    def _tell(self, msg: dict) -> bool:
        """Queue ``msg`` for the scheduler; False once that connection is closed (this
        worker was removed, or the scheduler left: the read loop ends the worker)."""
        try:
            self.out.send(msg)
        except CommClosedError:
            return False
        return True

    def _departure(self, wid: int) -> asyncio.Future:
        """A future that is set once peer ``wid`` has left the cluster."""
        future = self._departed.get(wid)
        if future is None:
            future = self._departed[wid] = asyncio.get_running_loop().create_future()
        return future

    def _new_run(self, msg: dict) -> None:
        run = WorkerRun(int(msg["run"]), int(msg["key_base"]), int(msg["n_tasks"]))
        self.runs[run.id] = run
        try:
            layers = nodes_of(msg["graph"].frames, extension=LayerCodec())
            by_name = {layer.name: layer for layer in layers}
            run.layers = [by_name[name] for name in msg["layers"]]
        except Exception as exc:
            run.error = exc
        run.kernels = [None] * len(run.layers)
        if any(isinstance(layer, FrameLayer) for layer in run.layers):
            self._prepare(("frames",))

    def _cancel(self, rid: int) -> None:
        run = self.runs.pop(rid, None)
        if run is None:
            return
        run.cancelled = True
        self.waiting.drop_run(rid)
        self.queue = deque(item for item in self.queue if item[0].run is not run)
        lo, hi = run.key_base, run.key_base + run.n_tasks
        for key in [k for k in self.data if lo <= k < hi]:
            del self.data[key]

    # tasks sent ahead and steals -------------------------------------------------
    def _hold(self, batch: Batch) -> None:
        """Hold a batch's tasks sent ahead; queue at once those whose inputs are here."""
        if batch.run.error is not None:
            if not batch.n_now:
                self._report_error(batch.run, batch.tasks[0], batch.run.error, None)
            return
        self.tasks_ahead += len(batch.tasks) - batch.n_now
        self._queue_ranges(batch, self.waiting.hold(batch, self.data.__contains__))
        self._fill()

    def _queue_ranges(self, batch: Batch, indices: list[int], front: bool = False) -> None:
        """Queue tasks ``indices`` (ascending) of a batch as runs of consecutive ones."""
        size = 1 if self.seconds_per_task >= LONG_TASK_SECONDS else MAX_CHUNK
        items = []
        lo = 0
        for k in range(1, len(indices) + 1):
            if k == len(indices) or indices[k] != indices[k - 1] + 1 or k - lo == size:
                items.append((batch, indices[lo], indices[k - 1] + 1))
                lo = k
        if front:
            self.queue.extendleft(reversed(items))
        else:
            self.queue.extend(items)

    def _give_up(self, rid: int, tasks: list[int]) -> None:
        """Answer a steal: give up the ``tasks`` not started yet, and the held tasks
        waiting on them."""
        run = self.runs.get(rid)
        wanted = set(tasks)
        given: list[int] = []
        if run is not None:
            kept: deque[tuple[Batch, int, int]] = deque()
            for batch, start, stop in self.queue:
                if batch.run is not run:
                    kept.append((batch, start, stop))
                    continue
                lo = start
                for i in range(start, stop + 1):
                    if i == stop or batch.tasks[i] in wanted:
                        if lo < i:
                            kept.append((batch, lo, i))
                        if i < stop:
                            given.append(batch.tasks[i])
                        lo = i + 1
            self.queue = kept
            given += self.waiting.drop(rid, tasks)
            given += self.waiting.drop(rid, given, run.key_base)
        self._tell({"op": "stolen", "run": rid, "tasks": np.array(sorted(set(given)), np.int64)})

    # running tasks ----------------------------------------------------------------
    def _accept(self, batch: Batch) -> None:
        if batch.run.error is not None:
            self._report_error(batch.run, batch.tasks[0], batch.run.error, None)
            return
        data = self.data
        missing = [i for i, key in enumerate(batch.dep_keys[:batch.dep_ptr[batch.n_now]])
                   if key not in data]
        if missing:
            self._spawn(self._fetch_then_queue(batch, missing))
        else:
            self._enqueue(batch)

    async def _fetch_then_queue(self, batch: Batch, missing: list[int]) -> None:
        by_peer: dict[int, dict[tuple[int, int], None]] = {}
        for i, item in zip(missing, self._items_read(batch, missing)):
            by_peer.setdefault(batch.dep_where[i], {})[(batch.dep_keys[i], item)] = None
        try:
            replies = await asyncio.gather(*(self._fetch(wid, list(wanted))
                                             for wid, wanted in by_peer.items()))
        except InputsUnavailable as exc:
            if not batch.run.cancelled:
                self._tell({"op": "missing", "run": batch.run.id,
                               "tasks": np.array(batch.tasks[:batch.n_now], np.int64),
                               "peer": exc.wid,
                               "reason": str(exc)})
            return
        except Exception as exc:
            self._report_error(batch.run, batch.tasks[0], exc, None)
            return
        for values in replies:
            for (key, item), value in values.items():
                if item < 0:
                    batch.fetched[key] = value
                elif not isinstance(batch.fetched.get(key, {}), dict):
                    continue                  # the whole block came too
                else:
                    batch.fetched.setdefault(key, {})[item] = value
        if not batch.run.cancelled:
            self._enqueue(batch)

    def _items_read(self, batch: Batch, missing: list[int]) -> list[int]:
        """Per missing input, the one item of it its task reads (a shuffle's gather
        reads piece ``j`` of each split, ``reads_own_item``), or -1 for all of it."""
        layers = batch.run.layers
        task_of = np.searchsorted(batch.dep_ptr, missing, side="right") - 1
        return [batch.block[t] if getattr(layers[batch.layer[t]], "reads_own_item", False)
                else -1 for t in task_of.tolist()]

    async def _fetch(self, wid: int, wanted: list[tuple[int, int]]) -> dict[tuple, Any]:
        """Blocks (item -1) or items of blocks ``(key, item)`` from peer ``wid``."""
        address = self.addresses.get(wid)
        if address is None:
            raise InputsUnavailable(wid, "it left the cluster")
        whole = {key for key, item in wanted if item < 0}
        unique = [(key, item) for key, item in wanted if item < 0 or key not in whole]
        request = asyncio.ensure_future(self.pool.request(address, {
            "op": "get_data", "keys": np.array([k for k, _ in unique], dtype=np.int64),
            "items": np.array([i for _, i in unique], dtype=np.int64)}))
        departed = self._departure(wid)
        try:
            await asyncio.wait([request, departed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            unanswered = not request.done()
            if unanswered:
                request.cancel()
        if unanswered:
            raise InputsUnavailable(wid, f"{address} left the cluster (removed while "
                                    "answering nothing)")
        try:
            reply = request.result()
        except (ConnectionError, asyncio.TimeoutError) as exc:
            raise InputsUnavailable(wid, f"could not reach {address}: {exc}") from exc
        if reply.get("missing"):
            raise InputsUnavailable(wid, f"{address} no longer holds keys {reply['missing'][:5]}")
        self.metrics.moved(reply["values"], received=True)
        return dict(zip(unique, reply["values"]))

    def _enqueue(self, batch: Batch) -> None:
        n = batch.n_now
        if self.seconds_per_task >= LONG_TASK_SECONDS:
            size = 1
        else:
            size = min(max(math.ceil(n / self.nthreads), 1), MAX_CHUNK)
        for start in range(0, n, size):
            self.queue.append((batch, start, min(start + size, n)))
        self._fill()

    def _fill(self) -> None:
        loop = asyncio.get_running_loop()
        while self.busy < self.nthreads and self.queue:
            if self._pause() and self.busy:
                break
            batch, start, stop = self.queue.popleft()
            if batch.run.cancelled:
                continue
            self.busy += 1
            future = loop.run_in_executor(self.executor, self._run_chunk, batch, start, stop)
            future.add_done_callback(lambda f, b=batch: self._chunk_done(b, f))

    def _pause(self) -> bool:
        """Whether memory is above the pause fraction of the limit (``BlockStore.over_pause``).

        A paused worker starts no task while another runs; with none
        running it starts one, since what holds the memory may be the
        queued tasks' own inputs, freed only when they run.
        """
        paused = self.data.over_pause()
        if paused and not self.paused:
            self.pauses += 1
        self.paused = paused
        return paused

    def _run_chunk(self, batch: Batch, start: int, stop: int) -> tuple:
        """Run tasks ``start:stop`` of a batch, then the held tasks they make runnable
        (in a pool thread); shuffle splits write their pieces to this worker's shards."""
        with writing_shards(self.shards):
            return self._run_tasks(batch, start, stop)

    def _run_tasks(self, batch: Batch, start: int, stop: int) -> tuple:
        run, data, fetched = batch.run, self.data, batch.fetched
        tasks, layers, blocks = batch.tasks, batch.layer, batch.block
        ptr, dep_keys, base = batch.dep_ptr, batch.dep_keys, run.key_base
        waiting = self.waiting
        done: list[int] = []
        stops: list[float] = []
        errors: list[tuple[int, BaseException, str]] = []
        follow: deque[tuple[Batch, int]] = deque()
        rest = stop
        began = time.time()
        t0 = time.perf_counter()
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
            follow.extend(waiting.produced(base + tasks[i]))
            if i + 1 < stop:
                spent = time.perf_counter() - t0
                if spent > SLICE_SECONDS and spent >= LONG_TASK_SECONDS * (i + 1 - start):
                    rest = i + 1     # the tasks are longer than this chunk was sized for
                    break
        thread = self.metrics.thread_index()
        if follow:
            done, stops = self._follow(run, follow, done, stops, errors, began, thread)
        return (done, errors, time.perf_counter() - t0, began, follow, (rest, stop),
                (thread, np.array(stops)))

    def _follow(self, run: WorkerRun, follow: deque, done: list[int], stops: list[float],
                errors: list[tuple[int, BaseException, str]], began: float,
                thread: int) -> tuple[list[int], list[float]]:
        """Run held tasks as their last input is made here (a chain of them, say),
        reporting every ``REPORT_SECONDS`` meanwhile so that the scheduler sends the
        next ones ahead; stop after ``INLINE_SECONDS`` or when several are runnable
        and other threads could share them. Returns what is left to report, with
        each task's end time."""
        data, base, waiting = self.data, run.key_base, self.waiting
        loop = self._loop
        start = last = time.perf_counter()
        while follow and not run.cancelled:
            now = time.perf_counter()
            if now - start > INLINE_SECONDS or (self.nthreads > 1 and len(follow) > 1):
                break
            if now - last > REPORT_SECONDS and done:
                run.started = run.started or began
                msg = {"op": "done", "run": run.id, "tasks": np.array(done, np.int64),
                       "elapsed": now - last, "started": run.started, "thread": thread,
                       "stops": np.array(stops)}
                loop.call_soon_threadsafe(self._tell, msg)
                self.tasks_run += len(done)
                done, stops, last = [], [], now
            held, i = follow.popleft()
            task = held.tasks[i]
            try:
                fn = run.kernel(held.layer[i])
                ptr = held.dep_ptr
                data[base + task] = fn(held.block[i],
                                       [data[k] for k in held.dep_keys[ptr[i]:ptr[i + 1]]])
            except Exception as exc:
                errors.append((task, exc, run.describe(held.layer[i], held.block[i])))
                continue
            done.append(task)
            stops.append(time.time())
            follow.extend(waiting.produced(base + task))
        return done, stops

    def _chunk_done(self, batch: Batch, future: asyncio.Future) -> None:
        self.busy -= 1
        run = batch.run
        try:
            done, errors, elapsed, began, follow, rest, (thread, stops) = future.result()
        except BaseException as exc:
            done, errors, elapsed, began, follow, rest = [], [(batch.tasks[0], exc, "")], 0.0, \
                time.time(), (), (0, 0)
            thread, stops = 0, np.empty(0)
        if run.cancelled:
            for task in done:
                self.data.discard(run.key_base + task)
        else:
            if done:
                self.tasks_run += len(done)
                self.seconds_per_task = 0.7 * self.seconds_per_task + 0.3 * elapsed / len(done)
                if not run.started:
                    run.started = began
                self._tell({"op": "done", "run": run.id, "tasks": np.array(done, np.int64),
                               "elapsed": elapsed, "started": run.started, "began": began,
                               "thread": thread, "stops": stops})
            for task, exc, where in errors:
                self._report_error(run, task, exc, where or None)
            if rest[0] < rest[1]:
                self.queue.appendleft((batch, *rest))
            by_batch: dict[int, tuple[Batch, list[int]]] = {}
            for held, i in follow:
                by_batch.setdefault(id(held), (held, []))[1].append(i)
            for held, indices in reversed(list(by_batch.values())):
                self._queue_ranges(held, sorted(indices), front=True)
        self._fill()

    def _report_error(self, run: WorkerRun, task: int, exc: BaseException,
                      where: str | None) -> None:
        if where:
            exc.add_note(f"lamina: raised on worker {self.address} while computing {where}")
        text = "".join(traceback.format_exception(exc))
        try:
            blob = Blob.dump(exc)
        except Exception:
            blob = Blob.dump(RuntimeError(f"{type(exc).__name__}: {exc}"))
        summary = error_summary(exc)
        self._tell({"op": "erred", "run": run.id, "task": task, "exception": blob,
                    "traceback": text, "error_type": summary["type"],
                    "error_message": summary["message"]})

    # peers -----------------------------------------------------------------------
    async def _serve_peer(self, comm: Comm) -> None:
        try:
            while True:
                msg = as_message(await comm.read())
                op = msg["op"]
                if op == "get_data":
                    keys = np.asarray(msg["keys"]).tolist()
                    items = np.asarray(msg["items"]).tolist() if "items" in msg else None
                    if items and max(items) >= 0 or self.data.on_disk(keys):
                        # spill or shard files are read off the event loop
                        values = await asyncio.get_running_loop().run_in_executor(
                            None, self._values, keys, items)
                    else:
                        values = self._values(keys)
                    missing = [k for k, v in zip(keys, values) if v is _MISSING]
                    if not missing:
                        self.metrics.moved(values, received=False)
                    await comm.write({"op": "data", "missing": missing,
                                      "values": [] if missing else values})
                elif op == "info":
                    await comm.write({"op": "info", **self.info()})
                else:
                    await comm.write({"op": "error", "reason": f"unknown op {op[:40]!r}"})
        except CommClosedError:
            pass
        except WireError as exc:
            logger.warning("closed the connection from %s: %s", comm.peer_address, brief(exc))

    def _values(self, keys: list[int], items: list[int] | None = None) -> list[Any]:
        """The blocks under ``keys``, or item ``items[i]`` of block ``keys[i]`` where
        that is not negative (a shuffle piece: one seek and read of a shard file)."""
        values = [self.data.get(k, _MISSING) for k in keys]
        if items:
            values = [v[j] if j >= 0 and v is not _MISSING else v
                      for v, j in zip(values, items)]
        return values

    def info(self) -> dict[str, Any]:
        """What this worker holds and runs: for clients, tests and benchmarks."""
        return {"address": self.address, "nthreads": self.nthreads, "n_keys": len(self.data),
                "runs": sorted(self.runs), "queued": len(self.queue), "busy": self.busy,
                "tasks_run": self.tasks_run, "held": len(self.waiting),
                "tasks_ahead": self.tasks_ahead, "paused": self.paused, "pauses": self.pauses,
                "frames_prepared": self.frames_prepared,
                "bytes_received": self.metrics.bytes_received,
                "bytes_sent": self.metrics.bytes_sent, **self.data.info(), **self.shards.info()}


def run_worker(scheduler_address: str, nthreads: int = 1, host: str = "127.0.0.1",
               port: int = 0, exit_with_parent: bool = False,
               security: Security | None = None,
               memory_limit: str | float | None = None,
               prepare: Sequence[str] = ()) -> int:
    """The ``lamina worker`` command: serve until the scheduler goes away; return 0.

    Peers reach it on ``tls://`` when ``security`` has a certificate, else ``tcp://``.
    ``prepare`` (``"frames"``) starts importing those libraries now, while the
    worker itself starts, rather than when a client first asks.
    """
    security = security or Security.when_written(SCHEDULER_WAIT_SECONDS)
    worker = Worker(scheduler_address, nthreads,
                    listen_address=f"{security.scheme}://{host}:{port}", security=security,
                    memory_limit=memory_limit)
    worker._prepare(prepare)
    return run_process("worker", worker.start, worker.close, exit_with_parent,
                       ended=worker.finished, suffix=f" for {scheduler_address}")


def import_frame_libraries() -> None:
    """Import pandas and pyarrow, when installed, while the worker waits for work: the
    first dataframe task would otherwise wait seconds for them."""
    for name in ("pandas", "pyarrow", "pyarrow.parquet", "pyarrow.compute", "pyarrow.dataset"):
        try:
            importlib.import_module(name)
        except ImportError:
            return
