"""Speculative dispatch and work stealing in the scheduler server, driven in process.

Simulated workers hold real values (each task's value is a checksum of its
inputs' values, so a value computed from a wrong or missing input shows),
keep a waiting set of tasks sent ahead and run each, in the same report
as its last input, once every input is in their own memory. Messages both
ways are delivered late and in random interleavings with task runs,
steals, cancellations and worker deaths. Every run must end (nothing is
stranded on a worker), with the values a direct evaluation of its task
table gives, every task of a run with no death ran exactly once, and with
deaths no task ran more than once per death (a lost result may need its
released inputs again).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._state import AHEAD, DONE, RUNNING

import lamina.array as la
from lamina.comm.wire import Blob, Packed, dumps
from lamina.compute import planned
from lamina.layers.codec import LayerCodec
from lamina.layers.walk import topological
from lamina.optimizer import set_options
from lamina.scheduler.server import ClientState, Scheduler, WorkerState
from lamina.testing.inbox import Inbox
from lamina.testing.strategies import array_expressions

MOD = 2**31 - 1


def value_of(task: int, inputs: list[int]) -> int:
    return (task + 1 + sum(inputs)) % MOD


class SimWorker:
    """A worker's queue, waiting set and memory; its mail both ways is delayed."""

    def __init__(self, wid: int, nthreads: int) -> None:
        self.ws = WorkerState(wid, f"inproc://sim-{wid}", nthreads, Inbox())
        self.data: dict[int, int] = {}
        self.queue: deque[tuple[int, int, list[int], list[int]]] = deque()
        self.held: dict[tuple[int, int], list[int]] = {}
        self.key_base: dict[int, int] = {}
        self.inbox: deque[dict] = deque()
        self.outbox: deque[dict] = deque()


class Sim:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.scheduler = Scheduler(max_task_losses=100, ahead_depth=rng.choice([1, 3, 64]),
                                   ahead_budget=rng.choice([2, 16, 1024]))
        self.client = ClientState(0, Inbox())
        self.scheduler.clients[0] = self.client
        self.alive: dict[int, SimWorker] = {}
        self.next_wid = 1
        self.expected: dict[int, np.ndarray] = {}
        self.results: dict[int, bool] = {}
        self.errors: dict[int, str] = {}
        self.cancelled: set[int] = set()
        self.runs: Counter = Counter()       # (ref, task) -> times run
        self.ref_of: dict[int, int] = {}
        self.kills = 0

    # the scheduler side ------------------------------------------------------------
    def settle(self) -> None:
        self.scheduler._schedule()
        for w in self.alive.values():
            w.inbox.extend(w.ws.out.take())
        for msg in self.client.out.take():
            if msg["op"] == "run_done":
                ref = msg["ref"]
                for keys, where in msg["outputs"]:
                    base = self.base[ref]
                    got = [self.alive[wid].data[k] for k, wid in zip(keys.tolist(),
                                                                     where.tolist())]
                    assert got == self.expected[ref][keys - base].tolist(), \
                        "an output has a wrong value"
                self.results[ref] = True
            elif msg["op"] == "run_erred":
                exc = msg["exception"]
                self.errors[msg["ref"]] = str(exc.load() if isinstance(exc, Blob) else exc)
        self.check_books()

    def check_books(self) -> None:
        """The scheduler's counts per worker agree with its task states."""
        running = Counter()
        ahead = Counter()
        for run in self.scheduler.runs.values():
            states = run.state.states()
            running.update(run.where[states == RUNNING].tolist())
            ahead.update(run.where[states == AHEAD].tolist())
            done = np.flatnonzero((states == DONE) & run.owned)
            for t, wid in zip(done.tolist(), run.where[done].tolist()):
                assert wid in self.alive, "a result is placed on a worker that left"
        for wid, w in self.alive.items():
            assert w.ws.in_flight == running[wid], "in_flight disagrees with the states"
            assert w.ws.ahead == ahead[wid] <= w.ws.ahead_budget, "ahead count is off"

    def join(self) -> None:
        w = SimWorker(self.next_wid, self.rng.choice([1, 2]))
        w.ws.ahead_budget = self.scheduler.ahead_budget
        self.next_wid += 1
        self.alive[w.ws.wid] = w
        self.scheduler.workers[w.ws.wid] = w.ws
        self.scheduler._broadcast_workers()
        self.settle()

    def submit(self, layers: list, hints: list) -> None:
        ref = len(self.expected) + 1
        frames = dumps({"roots": tuple(layers)}, extension=LayerCodec())
        asyncio.run(self.scheduler._submit(self.client, {"ref": ref, "graph": Packed(frames),
                                                         "hints": hints}))
        run = next(r for r in self.scheduler.runs.values() if r.ref == ref)
        table = run.table
        values = np.zeros(table.n_tasks, dtype=np.int64)
        for t in range(table.n_tasks):
            deps = table.dep_indices[table.dep_indptr[t]:table.dep_indptr[t + 1]]
            values[t] = value_of(t, values[deps].tolist())
        self.expected[ref] = values
        self.base = getattr(self, "base", {})
        self.base[ref] = run.key_base
        self.ref_of[run.id] = ref
        self.settle()

    def cancel(self) -> None:
        run = self.rng.choice(list(self.scheduler.runs.values()))
        self.cancelled.add(run.ref)
        self.scheduler._cancel_run(run)
        self.settle()

    def kill(self, w: SimWorker) -> None:
        del self.alive[w.ws.wid]
        self.kills += 1
        self.scheduler._remove_worker(w.ws)
        self.settle()

    # the worker side -----------------------------------------------------------------
    def deliver(self, w: SimWorker) -> None:
        """The worker reads the scheduler's mail so far."""
        while w.inbox:
            msg = w.inbox.popleft()
            op = msg["op"]
            if op == "run":
                w.key_base[msg["run"]] = msg["key_base"]
            elif op == "compute":
                rid, ptr = msg["run"], msg["dep_ptr"]
                n_now = len(msg["tasks"]) - msg["ahead"]
                for i, t in enumerate(msg["tasks"].tolist()):
                    keys = msg["dep_keys"][ptr[i]:ptr[i + 1]].tolist()
                    where = msg["dep_where"][ptr[i]:ptr[i + 1]].tolist()
                    if i >= n_now:
                        assert all(x == w.ws.wid for x in where), \
                            "a task was sent ahead with an input elsewhere"
                        if all(k in w.data for k in keys):
                            w.queue.append((rid, t, keys, where))
                        else:
                            w.held[(rid, t)] = keys
                    else:
                        w.queue.append((rid, t, keys, where))
            elif op == "release":
                for key in msg["keys"].tolist():
                    w.data.pop(key, None)
            elif op == "drop":
                for t in msg["tasks"].tolist():
                    w.held.pop((msg["run"], t), None)
            elif op == "steal":
                self.give_up(w, msg["run"], msg["tasks"].tolist())
            elif op in ("cancel", "forget"):
                rid = msg["run"]
                w.queue = deque(q for q in w.queue if q[0] != rid)
                w.held = {k: v for k, v in w.held.items() if k[0] != rid}

    def give_up(self, w: SimWorker, rid: int, tasks: list[int]) -> None:
        wanted = set(tasks)
        given = [q[1] for q in w.queue if q[0] == rid and q[1] in wanted]
        w.queue = deque(q for q in w.queue if not (q[0] == rid and q[1] in wanted))
        given += [t for t in tasks if w.held.pop((rid, t), None) is not None]
        base = w.key_base[rid]
        lost = {base + t for t in given}
        changed = True
        while changed:
            changed = False
            for (r, t), keys in list(w.held.items()):
                if r == rid and lost.intersection(keys):
                    del w.held[(r, t)]
                    given.append(t)
                    lost.add(base + t)
                    changed = True
        w.outbox.append({"op": "stolen", "run": rid, "tasks": np.array(sorted(set(given)),
                                                                       dtype=np.int64)})

    def run_next(self, w: SimWorker) -> None:
        """Run the worker's next queued task, then the held tasks it makes runnable."""
        rid, t, keys, where = w.queue.popleft()
        values = []
        for key, wid in zip(keys, where):
            holder = w if key in w.data else self.alive.get(wid)
            if holder is None or key not in holder.data:
                w.outbox.append({"op": "missing", "run": rid, "tasks": np.array([t]),
                                 "reason": "simulated"})
                return
            values.append(holder.data[key])
        done = [self.compute(w, rid, t, values)]
        follow = self.unblocked(w, rid, t)
        while follow:
            t2 = follow.pop(0)
            keys2 = w.held.pop((rid, t2))
            done.append(self.compute(w, rid, t2, [w.data[k] for k in keys2]))
            follow += self.unblocked(w, rid, t2)
        w.outbox.append({"op": "done", "run": rid, "tasks": np.array(done, dtype=np.int64),
                         "elapsed": self.rng.choice([1e-5, 5e-3])})

    def compute(self, w: SimWorker, rid: int, t: int, values: list[int]) -> int:
        w.data[w.key_base[rid] + t] = value_of(t, values)
        key = (self.ref_of[rid], t)
        self.runs[key] += 1
        return t

    def unblocked(self, w: SimWorker, rid: int, t: int) -> list[int]:
        key = w.key_base[rid] + t
        return [t2 for (r, t2), keys in w.held.items()
                if r == rid and key in keys and all(k in w.data for k in keys)]

    def flush(self, w: SimWorker) -> None:
        """The scheduler reads the worker's reports so far."""
        while w.outbox:
            self.scheduler._worker_message(w.ws, w.outbox.popleft())
        self.settle()


def drive(sim: Sim, kills: int, cancels: int, steps: int = 20000) -> None:
    rng = sim.rng
    for _ in range(steps):
        if not sim.scheduler.runs and not any(w.outbox or w.inbox for w in sim.alive.values()):
            return
        roll = rng.random()
        if not sim.alive or (roll < 0.01 and len(sim.alive) < 4):
            sim.join()
        elif roll < 0.03 and kills and len(sim.alive) > 1:
            kills -= 1
            sim.kill(rng.choice(list(sim.alive.values())))
        elif roll < 0.04 and cancels and sim.scheduler.runs:
            cancels -= 1
            sim.cancel()
        else:
            moves = [(sim.deliver, w) for w in sim.alive.values() if w.inbox]
            moves += [(sim.flush, w) for w in sim.alive.values() if w.outbox]
            moves += [(sim.run_next, w) for w in sim.alive.values() if w.queue] * 3
            assert moves, "runs are left but nothing can happen: work is stranded"
            move, w = rng.choice(moves)
            move(w)
    raise AssertionError("the runs did not finish")


def every_edge(layers: list) -> list[list[str]]:
    """Hints along every edge (more than the optimizer gives: the hardest case)."""
    return [[d.name, layer.name] for layer in topological(layers) for d in layer.dependencies]


def fixed_expressions() -> list:
    x = la.ones((40, 40), chunks=5)
    v = la.ones(64, chunks=1)
    chain = v
    for _ in range(12):
        chain = chain + 1
    return [((x + 1) * 2).sum().layer, (x @ x.T).sum(axis=1).layer,
            x.rechunk((20, 4)).mean(axis=0).layer, chain.sum().layer]


def check_runs(sim: Sim, refs: list[int]) -> None:
    assert not sim.errors, sim.errors
    for ref in refs:
        assert ref in sim.results or ref in sim.cancelled, f"run {ref} did not finish"
    for (ref, t), n in sim.runs.items():
        if ref in sim.cancelled:
            continue
        assert n <= 1 + sim.kills, f"task {t} of run {ref} ran {n} times"
        if not sim.kills:
            assert n == 1, f"task {t} of run {ref} ran {n} times with no worker lost"
    if not sim.kills:
        for ref in sim.results:
            assert sum(1 for (r, _) in sim.runs if r == ref) == len(sim.expected[ref])
    for w in sim.alive.values():
        assert w.ws.in_flight == 0 and w.ws.ahead == 0 and not w.held


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(range(4)), min_size=1, max_size=2), st.integers(1, 3),
       st.integers(0, 3), st.integers(0, 1), st.booleans(), st.integers(0, 2**32))
def test_runs_finish_once_with_right_values_under_sends_ahead_steals_and_deaths(
        which, n_workers, kills, cancels, all_edges, seed):
    sim = Sim(random.Random(seed))
    for _ in range(n_workers):
        sim.join()
    layers = fixed_expressions()
    for i in which:
        with set_options(disabled_rules={"blockwise_fusion"}):
            plan, hints = planned([layers[i]])
        sim.submit(plan, every_edge(plan) if all_edges else [list(h) for h in hints])
    drive(sim, kills, cancels)
    check_runs(sim, list(range(1, len(which) + 1)))


@settings(max_examples=25, deadline=None)
@given(array_expressions(max_ops=4), st.integers(1, 3), st.integers(0, 2**32))
def test_random_expressions_run_exactly_once_with_every_edge_sent_ahead(expr, n_workers, seed):
    sim = Sim(random.Random(seed))
    for _ in range(n_workers):
        sim.join()
    layers = [expr.array.layer]
    sim.submit(layers, every_edge(layers))
    drive(sim, kills=0, cancels=0)
    check_runs(sim, [1])


@pytest.mark.parametrize("seed", range(3))
def test_a_long_chain_goes_ahead_and_is_stolen_by_an_idle_worker(seed):
    """Tasks sent ahead run without a report in between; an idle worker steals work."""
    sim = Sim(random.Random(seed))
    sim.join(), sim.join()
    v = la.ones(8, chunks=1)
    for _ in range(30):
        v = v + 1
    with set_options(disabled_rules={"blockwise_fusion"}):
        plan, hints = planned([v.layer])
    sim.submit(plan, [list(h) for h in hints])
    drive(sim, kills=0, cancels=0)
    check_runs(sim, [1])
    assert sim.scheduler.tasks_speculative > 0
