"""``Client``: compute lamina arrays on a cluster.

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

``compute``, ``persist`` and ``compute_blocks`` take the path every
computation takes (``lamina.compute.run``): the expression is optimized
there, exactly as for the embedded runner, and handed back to
``_submit``, which encodes it (kilobytes, whatever the number of chunks:
layer types the scheduler trusts travel as their parameters) and sends it
to the scheduler. Results come straight from the workers that hold them.
This module is the connection: submissions, the scheduler's replies,
progress, gathering and held (persisted) results.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from typing import Any, Sequence

from lamina.array.core import Array
from lamina.client.cluster import LocalCluster, prepare_kinds, security_of_local
from lamina.client.futures import CLOSED_BEFORE_RESULT, Future, remote_exception
from lamina.client.results import OutputsLost, check_blocks, gather_blocks
from lamina.comm.batched import BatchedSend, unbatch
from lamina.comm.core import CommClosedError, connect_when_up, framed_nbytes
from lamina.comm.limits import brief
from lamina.comm.loop import LoopThread
from lamina.comm.pool import ConnectionPool
from lamina.comm.security import Security, as_security
from lamina.comm.wire import Packed, WireError, dumps
from lamina.compute import Mode, Progress, layers_of, run, values_of
from lamina.layers.base import Layer
from lamina.layers.codec import LayerCodec
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.sources import HeldFrame
from lamina.layers.held import Held
from lamina.layers.registry import trust_of

_ACTIVE: list["Client"] = []

HANDSHAKE_MARGIN = 10.0
MAX_RECOMPUTES = 3
SCHEDULER_TIMEOUT_SECONDS = 30.0


def _held_collection(layer: Layer, cluster: str, rid: int, output: int) -> tuple[Layer, Any]:
    """The held layer for output ``output`` of run ``rid``, and the collection over it:
    an Array, or a frame keeping its meta and divisions."""
    if isinstance(layer, FrameLayer):
        from lamina.dataframe.core import wrap

        held = HeldFrame.of(cluster, rid, output, layer)
        return held, wrap(held)
    held = Held(cluster, rid, output, layer.chunks, layer.dtype)
    return held, Array(held)


def active_client() -> "Client | None":
    """The innermost ``with client:`` block's client, or None."""
    return _ACTIVE[-1] if _ACTIVE else None


class _Submission:
    """One submitted run; ``mode`` says what its futures resolve to: "assemble"
    (arrays), "blocks" (lists of blocks) or "persist" (held arrays)."""

    def __init__(self, layers: list[Layer], futures: list[Future], mode: Mode,
                 on_progress: Progress | None, graph: Packed,
                 hints: tuple[tuple[str, str], ...] = (),
                 rules: dict[str, list[str]] | None = None) -> None:
        self.layers = layers
        self.hints = hints
        self.rules = rules or {}
        self.futures = futures
        self.mode = mode
        self.on_progress = on_progress
        self.graph = graph
        self.run = -1
        self.recomputes = 0
        self.outputs_lost: asyncio.Future | None = None

    def fail(self, exc: BaseException) -> None:
        for f in self.futures:
            f._fail(exc)


class Client:
    """A connection to a lamina scheduler (an address or a ``LocalCluster``).

    Waits up to ``timeout`` seconds for the scheduler to accept the connection.
    ``auth``: the cluster's secret (text or bytes) or a ``Security`` (the
    secret and TLS files, for ``tls://`` addresses). By default: the secret
    of a ``LocalCluster`` this process started at that address, else
    ``LAMINA_AUTH_SECRET``, ``LAMINA_AUTH_FILE`` or ``~/.lamina/secret``
    (see docs/security.md). A wrong secret raises ``AuthenticationError``.
    Once that connection is lost, every pending result fails with a
    ``CommClosedError`` naming the scheduler, and so does every later call.
    A scheduler that hangs (stopped, frozen, cut off) keeps its socket open:
    the client sends a heartbeat every few seconds and takes the connection
    as lost once the scheduler has sent nothing for ``scheduler_timeout``
    seconds.
    """

    def __init__(self, address: "str | LocalCluster", timeout: float = 10.0,
                 auth: "Security | str | bytes | None" = None,
                 scheduler_timeout: float = SCHEDULER_TIMEOUT_SECONDS) -> None:
        if not scheduler_timeout > 0:
            raise ValueError(f"scheduler_timeout must be a positive number of seconds, "
                             f"got {scheduler_timeout}")
        self.scheduler_timeout = float(scheduler_timeout)
        if isinstance(address, LocalCluster):
            auth = auth if auth is not None else address.security
            address = address.scheduler_address
        if auth is None:
            auth = security_of_local(address) or Security.when_written(timeout)
        self.security = as_security(auth)
        self.address = address
        self._refs = itertools.count(1)
        self._submissions: dict[int, _Submission] = {}
        self._held: dict[int, int] = {}
        self._gathering: dict[int, _Submission] = {}
        self._closed = False
        self._lost: CommClosedError | None = None
        self._io = LoopThread()
        try:
            self._io.run(self._start(timeout), timeout + HANDSHAKE_MARGIN)
        except BaseException:
            self._io.stop()
            raise

    @classmethod
    def from_dask(cls, dask_client: Any, timeout: float = 60.0,
                  **scheduler_options: Any) -> "Client":
        """A client of lamina's runtime hosted by a Dask cluster (started there
        as Dask plugins if needed); see ``lamina.client.on_dask``."""
        from lamina.client.on_dask import connect_to_dask

        return connect_to_dask(dask_client, timeout, **scheduler_options)

    async def _start(self, timeout: float) -> None:
        self.comm = await connect_when_up(self.address, {"role": "client",
                                                         "prepare": prepare_kinds()},
                                          load_blobs=False,
                                          timeout=timeout, security=self.security)
        hello = self.comm.peer_info
        self.scheduler_id = hello["id"]
        self._trusted = trust_of(hello.get("registry", {}))
        self.out = BatchedSend(self.comm, on_error=self._connection_lost)
        self.pool = ConnectionPool({"role": "client"}, security=self.security)
        self._info_waiters: dict[int, asyncio.Future] = {}
        self._finishing: set[asyncio.Task] = set()
        self._heard = time.monotonic()
        self._reader = asyncio.ensure_future(self._read())
        self._watch = asyncio.ensure_future(self._watch_scheduler())

    # submitting ---------------------------------------------------------------
    def compute(self, *collections: "Array | Layer", optimize_graph: bool = True,
                assemble: bool = True, on_progress: Progress | None = None) -> Any:
        """Start computing; a ``Future`` per collection (one, or a list for several).

        With ``assemble=False`` a future's result is the list of the
        collection's blocks in flat (C) block order instead of one array.
        ``on_progress(done, total)`` is called (on the client's I/O thread)
        as tasks finish, at most ten times a second and once at the end.
        """
        futures = run(layers_of(collections, "Client.compute"),
                      "assemble" if assemble else "blocks", optimize_graph=optimize_graph,
                      client=self, on_progress=on_progress)
        return futures[0] if len(collections) == 1 else futures

    def compute_blocks(self, *collections: "Array | Layer", optimize_graph: bool = True,
                       on_progress: Progress | None = None,
                       timeout: float | None = None) -> list[list[Any]]:
        """What ``lamina.compute_blocks`` returns, computed on this cluster: per
        array (or layer), its blocks in flat (C) block order. Waits for them."""
        futures = run(layers_of(collections, "Client.compute_blocks"), "blocks",
                      optimize_graph=optimize_graph, client=self, on_progress=on_progress)
        return self.gather(futures, timeout)

    def persist(self, *collections: "Array | Layer", optimize_graph: bool = True,
                timeout: float | None = None) -> Any:
        """Compute and keep the blocks on the workers; the same collections, held there.

        Waits until the blocks are computed. A held array is released when the
        last reference to it goes away (or when this client closes).
        """
        futures = run(layers_of(collections, "Client.persist"), "persist",
                      optimize_graph=optimize_graph, client=self)
        held = self.gather(futures, timeout)
        return held[0] if len(collections) == 1 else held

    def gather(self, futures: "Future | Sequence[Future]", timeout: float | None = None) -> Any:
        """The results of futures (one value, or a list in order)."""
        if isinstance(futures, Future):
            return futures.result(timeout)
        return [f.result(timeout) for f in futures]

    def _submit(self, layers: list[Layer], mode: Mode, on_progress: Progress | None = None,
                started: float | None = None,
                hints: tuple[tuple[str, str], ...] = (),
                rules: dict[str, list[str]] | None = None) -> list[Future]:
        """Send layers as they are (``lamina.compute.run`` optimized them) as one run.

        ``started`` is when the computation was asked for (``timings["compute"]``);
        ``hints``: the plan's speculative-dispatch edges, as layer names;
        ``rules``: the optimizer rules that made each layer, by layer name (for
        the dashboard's plan graph).
        """
        if self._closed:
            raise RuntimeError("this Client is closed: create a new one")
        if self._lost is not None:
            raise CommClosedError(str(self._lost))
        started = time.time() if started is None else started
        frames = dumps({"roots": tuple(layers)}, extension=LayerCodec(self._trusted))
        futures = [Future() for _ in layers]
        for f in futures:
            f.timings["compute"] = started
            f.graph_nbytes = framed_nbytes(frames)
        ref = next(self._refs)
        sub = _Submission(layers, futures, mode, on_progress, Packed(frames), hints, rules)
        self._submissions[ref] = sub
        self._io.call(self._send_submission, ref, sub)
        return futures

    def _send_submission(self, ref: int, sub: _Submission) -> None:
        """Send a run (on the loop); fail it at once if the scheduler is gone."""
        if self._lost is None:
            self._send({"op": "submit", "ref": ref, "graph": sub.graph,
                        "progress": sub.on_progress is not None,
                        "hints": [list(pair) for pair in sub.hints], "rules": sub.rules})
        if self._lost is not None:
            self._submissions.pop(ref, None)
            sub.fail(self._lost)

    def _send(self, msg: dict) -> None:
        try:
            self.out.send(msg)
        except CommClosedError as exc:
            self._connection_lost(exc)

    def _connection_lost(self, exc: BaseException) -> None:
        """The scheduler is gone (the read or a write failed): fail everything pending,
        fetches of finished runs included, and every later call."""
        if self._lost is not None or self._closed:
            return
        self._lost = CommClosedError(f"lost the connection to the scheduler at "
                                     f"{self.address}: {exc}")
        self.comm.abort()
        self._fail_all(self._lost)
        for task in list(self._finishing):
            task.cancel()

    # replies ---------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            while True:
                msg = await self.comm.read()
                self._heard = time.monotonic()
                for m in unbatch(msg):
                    self._handle(m)
        except (CommClosedError, WireError) as exc:
            self._connection_lost(exc)
        except Exception as exc:
            self._connection_lost(f"a message from it could not be handled: {brief(exc)}")
        finally:
            self.comm.abort()

    async def _watch_scheduler(self) -> None:
        """Send heartbeats; the connection is lost once the scheduler is silent for
        ``scheduler_timeout`` (a round that wakes up late, this loop itself held
        up, judges nobody: the scheduler's messages may be waiting unread)."""
        interval = min(1.0, self.scheduler_timeout / 4)
        tick = time.monotonic()
        while self._lost is None and not self._closed:
            await asyncio.sleep(interval)
            now = time.monotonic()
            late, tick = now - tick > 2 * interval, now
            if not late and now - self._heard > self.scheduler_timeout:
                self._connection_lost(TimeoutError(
                    f"it sent nothing for {self.scheduler_timeout:g} s (stopped, hung or cut "
                    "off); give Client(scheduler_timeout=...) to wait longer"))
                return
            self._send({"op": "heartbeat"})

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
            sub.outputs_lost = asyncio.get_running_loop().create_future()
            self._gathering[int(msg["run"])] = sub
            task = asyncio.ensure_future(self._finish(sub, msg))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
        elif op == "run_done":
            # a run cancelled here that finished before the cancel reached the scheduler
            self._send({"op": "release", "run": int(msg["run"])})
        elif op == "run_erred" and sub is not None:
            self._submissions.pop(msg["ref"], None)
            sub.fail(remote_exception(msg))
        elif op == "outputs_lost":
            lost = self._gathering.get(msg.get("run"))
            if lost is not None and not lost.outputs_lost.done():
                lost.outputs_lost.set_result(f"worker {msg.get('worker')} left the cluster")
        elif op in ("info", "diagnostics"):
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
            sub.fail(exc)
            ref = next((r for r, s in self._submissions.items() if s is sub), None)
            if ref is not None and not finished:
                self._submissions.pop(ref, None)
                self.out.send({"op": "cancel", "ref": ref})

    async def _finish(self, sub: _Submission, msg: dict) -> None:
        self._submissions.pop(msg["ref"], None)
        rid = int(msg["run"])
        if all(f.done() for f in sub.futures):
            self._gathering.pop(rid, None)
            self._send({"op": "release", "run": rid})
            return
        for f in sub.futures:
            f.timings.update(submitted=msg["submitted"], first_task=msg["first_task"],
                             done=time.time())
            f.n_speculative = int(msg.get("speculative", 0))
        try:
            if sub.mode == "persist":
                results: list[Any] = self._hold(sub, rid)
            else:
                blocks = await self._fetch(sub, msg)
                check_blocks(sub.layers, blocks, arrays=sub.mode == "assemble")
                results = values_of(sub.layers, blocks, sub.mode)
        except OutputsLost as exc:
            self._recompute(sub, exc)
            return
        except asyncio.CancelledError:
            sub.fail(self._lost or RuntimeError(CLOSED_BEFORE_RESULT))
            raise
        except BaseException as exc:
            sub.fail(exc)
            return
        finally:
            self._gathering.pop(rid, None)
            if sub.mode != "persist" and not self._closed and self._lost is None:
                self._send({"op": "release", "run": rid})
        for f, value in zip(sub.futures, results):
            f.timings["gathered"] = time.time()
            f._settle(value)

    async def _fetch(self, sub: _Submission, msg: dict) -> list[list[Any]]:
        """The run's blocks from their workers; ``OutputsLost`` as soon as the
        scheduler says a holder left (a stopped worker would never answer)."""
        gather = asyncio.ensure_future(gather_blocks(self.pool, msg))
        try:
            await asyncio.wait([gather, sub.outputs_lost], return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not gather.done():
                gather.cancel()
        if gather.done() and not gather.cancelled():
            return gather.result()
        raise OutputsLost(f"results of run {msg['run']} were lost: "
                          f"{sub.outputs_lost.result()}")

    def _recompute(self, sub: _Submission, lost: OutputsLost) -> None:
        """Submit a run again whose outputs were lost before they were fetched."""
        sub.recomputes += 1
        if sub.recomputes > MAX_RECOMPUTES:
            sub.fail(OutputsLost(f"{lost}; they were computed {MAX_RECOMPUTES} more times "
                                 "and lost each time: check that the workers stay up"))
            return
        ref = next(self._refs)
        self._submissions[ref] = sub
        self._send_submission(ref, sub)

    def _hold(self, sub: _Submission, rid: int) -> list[Any]:
        out = []
        self._held[rid] = len(sub.layers)
        for i, layer in enumerate(sub.layers):
            held, collection = _held_collection(layer, self.scheduler_id, rid, i)
            weakref.finalize(held, self._unhold, rid)
            out.append(collection)
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
            sub.fail(exc)
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
        return self._ask({"op": "info"}, timeout)

    def diagnostics(self, since: int = 0, timeout: float = 30.0) -> dict[str, Any]:
        """The scheduler's dashboard snapshot: workers, runs per layer, task records.

        ``since``: a ``tasks["cursor"]`` from an earlier snapshot, to get only
        the task records added after it (``lamina.diagnostics.report`` uses it).
        """
        return self._ask({"op": "diagnostics", "since": int(since)}, timeout)

    @property
    def dashboard_link(self) -> str | None:
        """The scheduler's dashboard (``http://...``), or None when it serves none."""
        return self.scheduler_info().get("dashboard")

    def _ask(self, msg: dict, timeout: float) -> dict[str, Any]:
        """Send a request the scheduler answers with ``req``; wait for the answer."""
        async def ask() -> dict:
            if self._lost is not None:
                raise CommClosedError(str(self._lost))
            req = next(self._refs)
            waiter = asyncio.get_running_loop().create_future()
            self._info_waiters[req] = waiter
            self.out.send({**msg, "req": req})
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
            tasks = [self._reader, self._watch, *self._finishing]
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
