"""``Client`` and ``LocalCluster``: compute lamina arrays on a cluster.

    import lamina
    import lamina.array as la

    with lamina.LocalCluster(n_workers=2, threads_per_worker=1) as cluster:
        client = lamina.Client(cluster)
        x = la.ones((20_000, 20_000), chunks=1000)
        future = client.compute(((x + 1) * 2).sum())   # returns at once
        future.result()                                # 1.6e9
        y = client.persist(x + 1)                      # blocks stay on the workers
        client.gather([client.compute(y.sum()), client.compute(y.max())])
        with client:
            (y * 2).sum().compute()                    # any .compute() goes to the cluster
        client.compute_blocks(x[:2000] + 1)            # [[block 0, block 1, ...]], not assembled

A client optimizes the expression, encodes it (kilobytes, whatever the
number of chunks: layer types the scheduler trusts travel as their
parameters) and sends it to the scheduler; results come straight from the
workers that hold them. A task's exception is raised by ``result()`` with
its original type, a note naming the layer and block, and the worker's
traceback as its cause. ``LocalCluster`` starts a scheduler and workers as
separate processes on the loopback interface.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import subprocess
import sys
import threading
import time
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from lamina.array.core import Array
from lamina.comm.batched import BatchedSend, unbatch
from lamina.comm.core import CommClosedError, connect_when_up, framed_nbytes
from lamina.comm.pool import ConnectionPool
from lamina.comm.wire import Blob, Packed, WireError, dumps
from lamina.layers.base import Layer
from lamina.layers.registry import trust_of
from lamina.scheduler.lowering import topological_layers
from lamina.scheduler.runner import assemble
from lamina.layers.held import Held

_ACTIVE: list["Client"] = []

Progress = Callable[[int, int], None]
HANDSHAKE_MARGIN = 10.0
CLOSED_BEFORE_RESULT = "the Client was closed before this result arrived"


def active_client() -> "Client | None":
    """The innermost ``with client:`` block's client, or None."""
    return _ACTIVE[-1] if _ACTIVE else None


class RemoteTraceback(Exception):
    """The traceback of an exception raised on a worker, as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n" + self.text


class Future:
    """The pending result of one collection computed on the cluster."""

    def __init__(self) -> None:
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        self.timings: dict[str, float] = {}
        self.graph_nbytes = 0
        self.n_tasks = 0

    def result(self, timeout: float | None = None) -> Any:
        """The value (a NumPy array); raises the task's exception if one failed."""
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def done(self) -> bool:
        return self._future.done()

    def __repr__(self) -> str:
        state = "finished" if self.done() else "pending"
        return f"<lamina.Future {state}, {self.n_tasks} tasks>"


class _Submission:
    """One submitted run; ``mode`` says what its futures resolve to: "assemble"
    (arrays), "blocks" (lists of blocks) or "persist" (held arrays)."""

    def __init__(self, layers: list[Layer], futures: list[Future], mode: str,
                 on_progress: Progress | None) -> None:
        self.layers = layers
        self.futures = futures
        self.mode = mode
        self.on_progress = on_progress
        self.run = -1


class _LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lamina-client",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the tasks still pending on the loop and wait for them, then stop
        and close it, so that no task is destroyed while pending."""
        if self.loop.is_running():
            try:
                self.run(self._cancel_pending(timeout), timeout + 1.0)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    async def _cancel_pending(self, timeout: float) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self.loop.shutdown_asyncgens()


class Client:
    """A connection to a lamina scheduler (an address or a ``LocalCluster``).

    Waits up to ``timeout`` seconds for the scheduler to accept the connection.
    """

    def __init__(self, address: "str | LocalCluster", timeout: float = 10.0) -> None:
        if isinstance(address, LocalCluster):
            address = address.scheduler_address
        self.address = address
        self._refs = itertools.count(1)
        self._submissions: dict[int, _Submission] = {}
        self._held: dict[int, int] = {}
        self._closed = False
        self._io = _LoopThread()
        try:
            self._io.run(self._start(timeout), timeout + HANDSHAKE_MARGIN)
        except BaseException:
            self._io.stop()
            raise

    async def _start(self, timeout: float) -> None:
        self.comm = await connect_when_up(self.address, {"role": "client"}, load_blobs=False,
                                          timeout=timeout)
        hello = self.comm.peer_info
        self.scheduler_id = hello["id"]
        self._trusted = trust_of(hello.get("registry", {}))
        self.out = BatchedSend(self.comm)
        self.pool = ConnectionPool({"role": "client"})
        self._info_waiters: dict[int, asyncio.Future] = {}
        self._finishing: set[asyncio.Task] = set()
        self._reader = asyncio.ensure_future(self._read())

    # submitting ---------------------------------------------------------------
    def compute(self, *collections: Array, optimize: bool = True, assemble: bool = True,
                on_progress: Progress | None = None) -> Any:
        """Start computing; a ``Future`` per collection (one, or a list for several).

        With ``assemble=False`` a future's result is the list of the
        collection's blocks in flat (C) block order instead of one array.
        ``on_progress(done, total)`` is called (on the client's I/O thread)
        as tasks finish, at most ten times a second and once at the end.
        """
        futures = self._submit([a.layer for a in _arrays(collections)],
                               "assemble" if assemble else "blocks", optimize, on_progress)
        return futures[0] if len(collections) == 1 else futures

    def compute_blocks(self, *collections: "Array | Layer", optimize: bool = True,
                       on_progress: Progress | None = None,
                       timeout: float | None = None) -> list[list[Any]]:
        """What ``lamina.compute_blocks`` returns, computed on this cluster: per
        array (or layer), its blocks in flat (C) block order. Waits for them."""
        arrays = [c if isinstance(c, Array) else Array(c) for c in collections]
        if not arrays:
            return []
        futures = self.compute(*arrays, optimize=optimize, assemble=False,
                               on_progress=on_progress)
        return self.gather(_as_list(futures), timeout)

    def persist(self, *collections: Array, optimize: bool = True,
                timeout: float | None = None) -> Any:
        """Compute and keep the blocks on the workers; the same collections, held there.

        Waits until the blocks are computed. A held array is released when the
        last reference to it goes away (or when this client closes).
        """
        futures = self._submit([a.layer for a in _arrays(collections)], "persist", optimize)
        held = [f.result(timeout) for f in futures]
        return held[0] if len(collections) == 1 else held

    def gather(self, futures: "Future | Sequence[Future]", timeout: float | None = None) -> Any:
        """The results of futures (one value, or a list in order)."""
        if isinstance(futures, Future):
            return futures.result(timeout)
        return [f.result(timeout) for f in futures]

    def compute_collections(self, *collections: Any, optimize: bool = True,
                            on_progress: Progress | None = None) -> tuple[Any, ...]:
        """What ``lamina.compute`` returns, computed on this cluster."""
        arrays = [c for c in collections if isinstance(c, Array)]
        values: list[Any] = []
        if arrays:
            futures = self.compute(*arrays, optimize=optimize, on_progress=on_progress)
            values = self.gather(_as_list(futures))
        computed = iter(values)
        return tuple(next(computed) if isinstance(c, Array) else c for c in collections)

    def persist_collections(self, *collections: Any, optimize: bool = True) -> tuple[Any, ...]:
        """What ``lamina.persist`` returns, held on this cluster."""
        layers = [c.layer for c in collections if isinstance(c, Array)]
        held = iter(self.gather(self._submit(layers, "persist", optimize)) if layers else [])
        return tuple(next(held) if isinstance(c, Array) else c for c in collections)

    def _submit(self, layers: list[Layer], mode: str, optimize: bool,
                on_progress: Progress | None = None) -> list[Future]:
        if self._closed:
            raise RuntimeError("this Client is closed: create a new one")
        now = time.time()
        if optimize:
            layers = _optimized(layers)
        frames = dumps({"roots": tuple(layers)}, trusted=self._trusted)
        futures = [Future() for _ in layers]
        for f in futures:
            f.timings["compute"] = now
            f.graph_nbytes = framed_nbytes(frames)
        ref = next(self._refs)
        self._submissions[ref] = _Submission(layers, futures, mode, on_progress)
        self._io.call(self._send, {"op": "submit", "ref": ref, "graph": Packed(frames),
                                   "progress": on_progress is not None})
        return futures

    def _send(self, msg: dict) -> None:
        try:
            self.out.send(msg)
        except CommClosedError as exc:
            self._fail_all(exc)

    # replies ---------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            while True:
                msg = await self.comm.read()
                for m in unbatch(msg):
                    self._handle(m)
        except (CommClosedError, WireError) as exc:
            self._fail_all(CommClosedError(f"lost the connection to the scheduler at "
                                           f"{self.address}: {exc}"))

    def _handle(self, msg: dict) -> None:
        op = msg.get("op")
        sub = self._submissions.get(msg.get("ref"))
        if op == "accepted" and sub is not None:
            sub.run = int(msg["run"])
            for f in sub.futures:
                f.n_tasks = int(msg["n_tasks"])
                f.timings["accepted"] = time.time()
        elif op == "progress" and sub is not None:
            self._progress(sub, int(msg["done"]), int(msg["total"]))
        elif op == "run_done" and sub is not None:
            n = int(msg["n_tasks"])
            self._progress(sub, n, n, finished=True)
            task = asyncio.ensure_future(self._finish(sub, msg))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
        elif op == "run_erred" and sub is not None:
            self._submissions.pop(msg["ref"], None)
            exc = _remote_exception(msg)
            for f in sub.futures:
                if not f.done():
                    f._future.set_exception(exc)
        elif op == "info":
            waiter = self._info_waiters.pop(msg.get("req"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(msg)

    def _progress(self, sub: _Submission, done: int, total: int, finished: bool = False) -> None:
        """Call the submission's progress callback; an error in it fails the futures
        (and cancels the run unless it has ``finished``)."""
        if sub.on_progress is None or any(f.done() for f in sub.futures):
            return
        try:
            sub.on_progress(done, total)
        except Exception as exc:
            for f in sub.futures:
                if not f.done():
                    f._future.set_exception(exc)
            ref = next((r for r, s in self._submissions.items() if s is sub), None)
            if ref is not None and not finished:
                self._submissions.pop(ref, None)
                self.out.send({"op": "cancel", "ref": ref})

    async def _finish(self, sub: _Submission, msg: dict) -> None:
        self._submissions.pop(msg["ref"], None)
        rid = int(msg["run"])
        if all(f.done() for f in sub.futures):
            self.out.send({"op": "release", "run": rid})
            return
        for f in sub.futures:
            f.timings.update(submitted=msg["submitted"], first_task=msg["first_task"],
                             done=time.time())
        try:
            if sub.mode == "persist":
                results: list[Any] = self._hold(sub, rid)
            else:
                results = await self._gather_blocks(msg)
                if sub.mode == "assemble":
                    results = [assemble(layer, blocks)
                               for layer, blocks in zip(sub.layers, results)]
        except asyncio.CancelledError:
            for f in sub.futures:
                if not f.done():
                    f._future.set_exception(RuntimeError(CLOSED_BEFORE_RESULT))
            raise
        except BaseException as exc:
            for f in sub.futures:
                if not f.done():
                    f._future.set_exception(exc)
            return
        finally:
            if sub.mode != "persist" and not self._closed:
                self.out.send({"op": "release", "run": rid})
        for f, value in zip(sub.futures, results):
            f.timings["gathered"] = time.time()
            if not f.done():
                f._future.set_result(value)

    async def _gather_blocks(self, msg: dict) -> list[list[Any]]:
        """Each output's blocks, fetched from the workers holding them."""
        outputs, addresses = msg["outputs"], msg["workers"]
        keys = np.concatenate([k for k, _ in outputs])
        where = np.concatenate([w for _, w in outputs])
        keys, first = np.unique(keys, return_index=True)
        where = where[first]
        groups = [(int(w), keys[where == w]) for w in np.unique(where)]
        replies = await asyncio.gather(*(
            self.pool.request(_address(addresses, w), {"op": "get_data", "keys": k})
            for w, k in groups))
        values: dict[int, Any] = {}
        for (w, k), reply in zip(groups, replies):
            if reply.get("missing"):
                raise RuntimeError(f"worker {_address(addresses, w)} lost results "
                                   f"{reply['missing'][:5]} before they were gathered")
            values.update(zip(k.tolist(), reply["values"]))
        return [[values[key] for key in k.tolist()] for k, _ in outputs]

    def _hold(self, sub: _Submission, rid: int) -> list[Array]:
        out = []
        self._held[rid] = len(sub.layers)
        for i, layer in enumerate(sub.layers):
            held = Held(self.scheduler_id, rid, i, layer.chunks, layer.dtype)
            weakref.finalize(held, self._unhold, rid)
            out.append(Array(held))
        return out

    def _unhold(self, rid: int) -> None:
        left = self._held.get(rid, 0) - 1
        if left > 0:
            self._held[rid] = left
            return
        self._held.pop(rid, None)
        if not self._closed:
            self._io.call(self._send, {"op": "release", "run": rid})

    def _fail_all(self, exc: BaseException) -> None:
        subs, self._submissions = list(self._submissions.values()), {}
        for sub in subs:
            for f in sub.futures:
                if not f.done():
                    f._future.set_exception(exc)
        for waiter in self._info_waiters.values():
            if not waiter.done():
                waiter.set_exception(exc)

    # inspection ---------------------------------------------------------------------
    def wait_for_workers(self, n_workers: int = 1, timeout: float = 30.0) -> int:
        """Wait until at least ``n_workers`` workers are connected; return how many are.

        Raises ``TimeoutError`` naming the scheduler when they do not come.
        """
        deadline = time.monotonic() + timeout
        while True:
            count = len(self.scheduler_info(timeout)["workers"])
            if count >= n_workers:
                return count
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{count} of {n_workers} workers connected to the scheduler at "
                    f"{self.address} after {timeout:g} s: start workers with "
                    f"`lamina worker {self.address}`")
            time.sleep(0.1)

    def scheduler_info(self, timeout: float = 10.0) -> dict[str, Any]:
        """Workers, active runs and kept results, as the scheduler sees them."""
        async def ask() -> dict:
            req = next(self._refs)
            waiter = asyncio.get_running_loop().create_future()
            self._info_waiters[req] = waiter
            self.out.send({"op": "info", "req": req})
            return await waiter

        return self._io.run(ask(), timeout)

    def worker_info(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Each worker's own report: keys held, runs known, tasks run."""
        addresses = [w["address"] for w in self.scheduler_info(timeout)["workers"].values()]

        async def ask() -> list:
            return list(await asyncio.gather(*(self.pool.request(a, {"op": "info"})
                                               for a in addresses)))

        return self._io.run(ask(), timeout)

    # lifecycle --------------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Disconnect; the scheduler cancels this client's runs and drops its data."""
        if self._closed:
            return
        self._closed = True
        if self in _ACTIVE:
            _ACTIVE.remove(self)

        async def shut() -> None:
            tasks = [self._reader, *self._finishing]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1.0)
            await self.out.close(timeout=1.0)
            self.comm.abort()
            await self.pool.close()

        try:
            self._io.run(shut(), timeout)
        except Exception:
            pass
        self._io.stop()
        self._fail_all(RuntimeError(CLOSED_BEFORE_RESULT))

    def __enter__(self) -> "Client":
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<lamina.Client {self.address}{' closed' if self._closed else ''}>"


def _arrays(collections: Sequence[Any]) -> list[Array]:
    for c in collections:
        if not isinstance(c, Array):
            raise TypeError(f"Client computes lamina Arrays, got {type(c).__name__}: "
                            "wrap data with lamina.array.from_array first")
    return list(collections)


def _as_list(futures: "Future | list[Future]") -> list[Future]:
    return [futures] if isinstance(futures, Future) else futures


def _optimized(layers: list[Layer]) -> list[Layer]:
    """The optimizer's output; blocks held on workers are never fused into other
    tasks, since the scheduler must see them to read them in place."""
    try:
        from lamina.optimizer import optimize_plan
        from lamina.optimizer.options import options, updated
    except ImportError:
        return layers
    opts = options()
    if any(isinstance(layer, Held) for layer in topological_layers(layers)):
        opts = updated(opts, disabled_rules=opts.disabled_rules | {"blockwise_fusion"})
    return list(optimize_plan(layers, options=opts).layers)


def _address(addresses: dict, wid: int) -> str:
    address = addresses.get(wid)
    if address is None:
        raise RuntimeError(f"results are on worker {wid}, which left the cluster")
    return address


def _remote_exception(msg: dict) -> BaseException:
    blob = msg.get("exception")
    try:
        exc = blob.load() if isinstance(blob, Blob) else blob
    except Exception as load_error:
        exc = RuntimeError(f"a task failed with an exception this process cannot load "
                           f"({load_error})")
    if not isinstance(exc, BaseException):
        exc = RuntimeError(repr(exc))
    text = msg.get("traceback") or ""
    if text:
        exc.__cause__ = RemoteTraceback(text)
    if msg.get("where") == "the scheduler":
        exc.add_note("lamina: raised by the scheduler while planning the computation")
    return exc


class _Process:
    """A child process whose first matching output line announces its address."""

    def __init__(self, args: list[str], marker: str, env: dict[str, str]) -> None:
        self.marker = marker
        self.address = ""
        self.ready = threading.Event()
        self.proc = subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", *args],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            if not self.ready.is_set() and line.startswith(self.marker):
                self.address = line[len(self.marker):].split()[0]
                self.ready.set()
            else:
                sys.stdout.write(line)
        self.ready.set()

    def wait_ready(self, timeout: float) -> str:
        if not self.ready.wait(timeout) or not self.address:
            self.stop()
            raise RuntimeError(f"lamina process {self.proc.args[3:]} did not start within "
                               f"{timeout} s (exit code {self.proc.poll()})")
        return self.address

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (kill it after ``timeout``) and close its output pipe."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.reader.join(timeout)
        if not self.reader.is_alive():
            self.proc.stdout.close()


class LocalCluster:
    """A scheduler and ``n_workers`` worker processes on this machine (loopback)."""

    def __init__(self, n_workers: int = 2, threads_per_worker: int = 1,
                 host: str = "127.0.0.1", timeout: float = 60.0) -> None:
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes: list[_Process] = []
        env = _child_env(threads_per_worker)
        try:
            scheduler = _Process(["scheduler", "--host", host, "--port", "0",
                                  "--exit-with-parent"], "lamina scheduler listening at ", env)
            self.processes.append(scheduler)
            self.scheduler_address = scheduler.wait_ready(timeout)
            for _ in range(n_workers):
                self.processes.append(_Process(
                    ["worker", self.scheduler_address, "--nthreads", str(threads_per_worker),
                     "--host", host, "--exit-with-parent"], "lamina worker listening at ", env))
            self.worker_addresses = [p.wait_ready(timeout) for p in self.processes[1:]]
        except BaseException:
            self.close()
            raise

    @property
    def scheduler_process(self) -> subprocess.Popen:
        return self.processes[0].proc

    @property
    def worker_processes(self) -> list[subprocess.Popen]:
        return [p.proc for p in self.processes[1:]]

    def close(self) -> None:
        """Stop the workers, then the scheduler."""
        for p in reversed(self.processes):
            p.stop()
        self.processes = []

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<lamina.LocalCluster {getattr(self, 'scheduler_address', '?')}, "
                f"{self.n_workers} workers x {self.threads_per_worker} threads>")


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, str(threads))
    return env
