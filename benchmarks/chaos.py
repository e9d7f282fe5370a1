"""Chaos: kill and stop workers at random while long computations run.

    python benchmarks/chaos.py                  # 20 runs, 3 workers, seed 0
    python benchmarks/chaos.py --runs 5 --seed 1

A ``LocalCluster`` (heartbeat 0.25 s, worker timeout 2 s) runs, one after
the other, a randomized SVD (``lamina.linalg.svd_compressed``, three
passes) and an array pipeline, alternately, over inputs whose blocks take
a few milliseconds each. Meanwhile a chaos thread, every 0.5 to 2 s, picks
a live worker and either kills it (SIGKILL) or stops it (SIGSTOP) for 0.5
to 4 s, so that some wake up before the scheduler gives up on them and
some after (they then find themselves removed and exit); every victim
gets a replacement worker at once. Each run must give the answer of the
embedded runner (SVD) or NumPy (pipeline), within a time limit. Prints one
line per run and a summary; exits 1 unless every run was correct.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lamina.array as la  # noqa: E402
import lamina.linalg as ll  # noqa: E402
from lamina.client import Client, LocalCluster  # noqa: E402

BLOCK_SECONDS = 0.004
RUN_LIMIT = 120.0


def slow(block: np.ndarray) -> np.ndarray:
    """Make each block take a few milliseconds, so a run lasts long enough to disturb."""
    time.sleep(BLOCK_SECONDS)
    return block


def decaying(m: int, n: int, seed: int) -> np.ndarray:
    """A matrix with singular values 0.7**i (a spectrum the SVD resolves exactly)."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (u * 0.7 ** np.arange(n)) @ v.T


def slow_array(data: np.ndarray, chunks: tuple[int, int]) -> la.Array:
    return la.map_blocks(slow, la.from_array(data, chunks=chunks), dtype=data.dtype)


class Chaos(threading.Thread):
    """Kills or stops a random live worker every so often, and replaces it."""

    def __init__(self, cluster: LocalCluster, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.rng = rng
        self.live: list[subprocess.Popen] = list(cluster.worker_processes)
        self.kills = 0
        self.stops = 0
        self.halt = threading.Event()
        self.sleepers: list[threading.Timer] = []

    def run(self) -> None:
        while not self.halt.wait(self.rng.uniform(0.5, 2.0)):
            self.live = [p for p in self.live if p.poll() is None]
            if not self.live:
                continue
            victim = self.rng.choice(self.live)
            self.live.remove(victim)
            if self.rng.random() < 0.5:
                victim.kill()
                self.kills += 1
            else:
                os.kill(victim.pid, signal.SIGSTOP)
                self.stops += 1
                wake = threading.Timer(self.rng.uniform(0.5, 4.0), _wake, (victim,))
                wake.start()
                self.sleepers.append(wake)
            self.live.append(self.cluster.add_worker())

    def stop(self) -> None:
        self.halt.set()
        self.join()
        for timer in self.sleepers:
            timer.cancel()
        for proc in self.cluster.worker_processes:
            _wake(proc)


def _wake(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = decaying(2400, 40, seed=args.seed)
    table = np.random.default_rng(args.seed).standard_normal((4000, 60))
    k = 5
    reference = ll.svd_compressed(slow_array(data, (30, 20)), k, n_power_iter=2, seed=0,
                                  compute=True)
    expected_pipeline = ((table * 2 + 1).sum(axis=1), table.T @ table)

    correct = 0
    started = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, heartbeat_interval=0.25,
                      worker_timeout=2.0) as cluster, Client(cluster) as client:
        client.wait_for_workers(args.workers)
        chaos = Chaos(cluster, random.Random(args.seed))
        chaos.start()
        try:
            for i in range(args.runs):
                kind = "svd" if i % 2 == 0 else "pipeline"
                t0 = time.perf_counter()
                try:
                    if kind == "svd":
                        got = _bounded(lambda: ll.svd_compressed(
                            slow_array(data, (30, 20)), k, n_power_iter=2, seed=0,
                            compute=True))
                        ok = all(np.allclose(g, r, rtol=1e-8, atol=1e-10)
                                 for g, r in zip(got, reference))
                    else:
                        x = slow_array(table, (50, 30))
                        futures = client.compute((x * 2 + 1).sum(axis=1), x.T @ x)
                        got = [f.result(RUN_LIMIT) for f in futures]
                        ok = all(np.allclose(g, e) for g, e in zip(got, expected_pipeline))
                    note = "" if ok else "WRONG VALUES"
                except Exception as exc:
                    ok, note = False, f"{type(exc).__name__}: {str(exc)[:200]}"
                correct += ok
                print(f"run {i + 1:2d} {kind:8s} {'ok' if ok else 'FAILED':6s} "
                      f"{time.perf_counter() - t0:5.1f} s  kills {chaos.kills} stops "
                      f"{chaos.stops} {note}", flush=True)
        finally:
            chaos.stop()
        recomputed = client.scheduler_info()["tasks_recomputed"]
    print(f"{correct} of {args.runs} runs correct in {time.perf_counter() - started:.0f} s; "
          f"{chaos.kills} workers killed, {chaos.stops} stopped, {recomputed} tasks "
          "computed again", flush=True)
    return 0 if correct == args.runs else 1


def _bounded(fn):
    """``fn()`` in a thread; ``TimeoutError`` after ``RUN_LIMIT`` seconds (never hang)."""
    box: dict = {}

    def call() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(RUN_LIMIT)
    if thread.is_alive():
        raise TimeoutError(f"the run did not finish within {RUN_LIMIT:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


if __name__ == "__main__":
    raise SystemExit(main())
