"""The scheduler server's recovery logic, driven in process by simulated workers.

Simulated workers hold real values (each task's value is a checksum of
its inputs' values), fetch inputs from each other, report inputs they
cannot fetch, die with their data (sometimes sending late reports
afterwards), and new ones join. After every step the scheduler's books
must match what the workers hold, and each run must end with the values a
direct evaluation of its task table gives.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._state import DONE, RUNNING

import lamina.array as la
from lamina.comm.wire import Blob, Packed, dumps
from lamina.layers.codec import LayerCodec
from lamina.scheduler.server import ClientState, Scheduler, WorkerState
from lamina.testing.inbox import Inbox

MOD = 2**31 - 1


class SimWorker:
    def __init__(self, wid: int) -> None:
        self.ws = WorkerState(wid, f"inproc://sim-{wid}", 2, Inbox())
        self.data: dict[int, int] = {}
        self.batches: deque[dict] = deque()
        self.key_base: dict[int, int] = {}


class Sim:
    """A scheduler with simulated workers and one client."""

    def __init__(self, max_task_losses: int = 100) -> None:
        self.scheduler = Scheduler(max_task_losses=max_task_losses)
        self.client = ClientState(0, Inbox())
        self.scheduler.clients[0] = self.client
        self.alive: dict[int, SimWorker] = {}
        self.zombies: list[tuple[SimWorker, dict]] = []
        self.next_wid = 1
        self.expected: dict[int, np.ndarray] = {}
        self.key_base: dict[int, int] = {}
        self.results: dict[int, list[np.ndarray]] = {}
        self.errors: dict[int, str] = {}

    def join(self) -> SimWorker:
        w = SimWorker(self.next_wid)
        self.next_wid += 1
        self.alive[w.ws.wid] = w
        self.scheduler.workers[w.ws.wid] = w.ws
        self.scheduler._broadcast_workers()
        self.step_done()
        return w

    def submit(self, layers: list) -> None:
        ref = len(self.expected) + 1
        frames = dumps({"roots": tuple(layers)}, extension=LayerCodec())
        asyncio.run(self.scheduler._submit(self.client, {"ref": ref, "graph": Packed(frames)}))
        run = next(r for r in self.scheduler.runs.values() if r.ref == ref)
        table = run.table
        values = np.zeros(table.n_tasks, dtype=np.int64)
        for t in range(table.n_tasks):
            deps = table.dep_indices[table.dep_indptr[t]:table.dep_indptr[t + 1]]
            values[t] = (t + 1 + int(values[deps].sum())) % MOD
        self.expected[ref] = values
        self.key_base[ref] = run.key_base
        self.step_done()

    def kill(self, w: SimWorker, late_reports: bool) -> None:
        del self.alive[w.ws.wid]
        if late_reports:
            self.zombies.extend((w, b) for b in w.batches)
        self.scheduler._remove_worker(w.ws)
        self.step_done()

    def run_batch(self, w: SimWorker, glitch: bool = False) -> None:
        msg = w.batches.popleft()
        tasks, keys, where = msg["tasks"], msg["dep_keys"], msg["dep_where"]
        values = {}
        missing = glitch
        for key, wid in zip(keys.tolist(), where.tolist()):
            holder = self.alive.get(wid)
            if holder is None:
                missing = True
                continue
            assert key in holder.data, "a value was released while a running task needed it"
            values[key] = holder.data[key]
        if missing:
            self.scheduler._worker_message(w.ws, {"op": "missing", "run": msg["run"],
                                                  "tasks": tasks, "reason": "simulated"})
        else:
            base = w.key_base[msg["run"]]
            ptr = msg["dep_ptr"]
            for i, t in enumerate(tasks.tolist()):
                inputs = keys[ptr[i]:ptr[i + 1]].tolist()
                w.data[base + t] = (t + 1 + sum(values[k] for k in inputs)) % MOD
            self.scheduler._worker_message(w.ws, {"op": "done", "run": msg["run"],
                                                  "tasks": tasks, "elapsed": 1e-5})
        self.step_done()

    def late_report(self) -> None:
        w, msg = self.zombies.pop(0)
        self.scheduler._worker_message(w.ws, {"op": "done", "run": msg["run"],
                                              "tasks": msg["tasks"], "elapsed": 1e-5})
        self.step_done()

    def step_done(self) -> None:
        """What the server does after each message, then the workers read their mail."""
        self.scheduler._schedule()
        for w in self.alive.values():
            for msg in w.ws.out.take():
                self.receive(w, msg)
        for msg in self.client.out.take():
            if msg["op"] == "run_done":
                ref = msg["ref"]
                self.results[ref] = []
                for keys, where in msg["outputs"]:
                    got = [self.alive[wid].data[k] for k, wid in zip(keys.tolist(),
                                                                     where.tolist())]
                    expected = self.expected[ref][keys - self.key_base[ref]]
                    assert got == expected.tolist(), "an output has a wrong value"
                    self.results[ref].append(np.array(got))
            elif msg["op"] == "run_erred":
                exc = msg["exception"]
                self.errors[msg["ref"]] = str(exc.load() if isinstance(exc, Blob) else exc)
        self.check_books()

    def receive(self, w: SimWorker, msg: dict) -> None:
        op = msg["op"]
        if op == "run":
            w.key_base[msg["run"]] = msg["key_base"]
        elif op == "compute":
            run = self.scheduler.runs[msg["run"]]
            suspects = run.losses[msg["tasks"]] > 0
            assert not any(bool((self.scheduler.runs[b["run"]].losses[b["tasks"]] > 0).any())
                           for b in w.batches if b["run"] in self.scheduler.runs), \
                "a task was sent to a worker running a suspect alone"
            if suspects.any():
                assert len(msg["tasks"]) == 1 and not w.batches, "a suspect shares its worker"
            w.batches.append(msg)
        elif op == "release":
            for key in msg["keys"].tolist():
                w.data.pop(key, None)

    def check_books(self) -> None:
        """The scheduler's counts and places agree with what the workers hold."""
        in_flight = {wid: 0 for wid in self.alive}
        for run in self.scheduler.runs.values():
            states = run.state.states()
            running = np.flatnonzero(states == RUNNING)
            for wid in run.where[running].tolist():
                if wid in in_flight:
                    in_flight[wid] += 1
                else:
                    assert wid == -1, "a task is running on a worker that left"
            done = np.flatnonzero((states == DONE) & run.owned)
            for t, wid in zip(done.tolist(), run.where[done].tolist()):
                holder = self.alive.get(wid)
                assert holder is not None, "a result is placed on a worker that left"
                assert run.key_base + t in holder.data, "a result is not where it is said to be"
        for wid, w in self.alive.items():
            assert w.ws.in_flight == in_flight[wid] == sum(len(b["tasks"]) for b in w.batches
                                                          if b["run"] in self.scheduler.runs)


def expressions() -> list:
    x = la.ones((40, 40), chunks=5)
    return [((x + 1) * 2).sum().layer, (x @ x.T).sum(axis=1).layer,
            x.rechunk((20, 4)).mean(axis=0).layer, (x[::3][:13] + x[1::3]).sum().layer]


def drive(sim: Sim, rng: random.Random, kills: int, glitches: int, steps: int = 5000) -> None:
    for _ in range(steps):
        if not sim.scheduler.runs:
            return
        roll = rng.random()
        if not sim.alive or (roll < 0.03 and len(sim.alive) < 4):
            sim.join()
        elif roll < 0.08 and kills:
            kills -= 1
            sim.kill(rng.choice(list(sim.alive.values())), late_reports=rng.random() < 0.5)
        elif roll < 0.12 and sim.zombies:
            sim.late_report()
        else:
            busy = [w for w in sim.alive.values() if w.batches]
            assert busy, "runs are left but no worker has anything to do"
            glitch = glitches > 0 and rng.random() < 0.05
            glitches -= glitch
            sim.run_batch(rng.choice(busy), glitch=glitch)
    raise AssertionError("the runs did not finish")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(range(4)), min_size=1, max_size=2),
       st.integers(1, 3), st.integers(0, 5), st.integers(0, 3), st.randoms(use_true_random=False))
def test_runs_finish_with_the_right_values_whatever_workers_leave(which, n_workers, kills,
                                                                   glitches, rng):
    sim = Sim()
    for _ in range(n_workers):
        sim.join()
    layers = expressions()
    for i in which:
        sim.submit([layers[i]])
    drive(sim, rng, kills, glitches)
    assert not sim.errors
    assert sorted(sim.results) == list(range(1, len(which) + 1))
    for w in sim.alive.values():
        assert w.ws.in_flight == 0


@pytest.mark.parametrize("z_first", [True, False])
def test_an_input_every_task_reads_does_not_pull_all_tasks_to_its_worker(z_first):
    """Each task reads its own block of ``x`` and the one block of ``z``: placement
    follows ``x`` (half on each worker), not ``z``, wherever ``z`` happens to sit."""
    sim = Sim()
    sim.join(), sim.join()
    x = la.from_array(np.zeros((64, 3)), chunks=(4, 3))
    z = la.from_array(np.zeros((1, 3)), chunks=(1, 3))
    sim.submit([(z + x if z_first else x + z).layer])
    (run,) = sim.scheduler.runs.values()
    while sim.scheduler.runs:
        sim.run_batch(next(w for w in sim.alive.values() if w.batches))
    outputs = run.table.outputs[0]
    assert sorted(np.bincount(run.where[outputs]).tolist()) == [0, 8, 8]
