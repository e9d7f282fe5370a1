"""The heartbeat watch, without sockets: who is silent, and when nobody is dropped."""

from __future__ import annotations

import asyncio
import time

import pytest

from lamina.scheduler.heartbeat import HeartbeatWatch
from lamina.scheduler.peers import WorkerState
from lamina.testing.inbox import Inbox


def _worker(wid: int, seen: float) -> WorkerState:
    ws = WorkerState(wid, f"inproc://w{wid}", 1, Inbox())
    ws.last_seen = seen
    return ws


def test_only_workers_silent_for_longer_than_the_timeout_are_silent():
    watch = HeartbeatWatch(interval=1.0, timeout=10.0)
    workers = [_worker(1, 100.0), _worker(2, 95.0), _worker(3, 89.9)]
    assert [ws.wid for ws in watch.silent(workers, now=100.0)] == [3]
    assert watch.silent(workers, now=99.9) == []


@pytest.mark.parametrize("interval, timeout", [(0.0, 1.0), (-1.0, 5.0), (1.0, 1.0),
                                               (2.0, 1.0)])
def test_options_that_would_drop_healthy_workers_are_refused(interval, timeout):
    with pytest.raises(ValueError, match="heartbeat_interval"):
        HeartbeatWatch(interval, timeout)


def test_watch_drops_a_silent_worker_and_keeps_a_talking_one():
    watch = HeartbeatWatch(interval=0.05, timeout=0.2)
    quiet, talking = _worker(1, time.monotonic()), _worker(2, time.monotonic())
    dropped: list[int] = []

    async def scenario() -> None:
        task = asyncio.ensure_future(watch.run(lambda: [quiet, talking],
                                               lambda ws: dropped.append(ws.wid)))
        for _ in range(20):
            talking.last_seen = time.monotonic()
            await asyncio.sleep(0.025)
        task.cancel()

    asyncio.run(scenario())
    assert dropped and set(dropped) == {1}


def test_a_round_that_wakes_up_late_drops_nobody():
    watch = HeartbeatWatch(interval=0.05, timeout=0.1)
    quiet = _worker(1, time.monotonic())
    dropped: list[int] = []

    async def scenario() -> None:
        task = asyncio.ensure_future(watch.run(lambda: [quiet],
                                               lambda ws: dropped.append(ws.wid)))
        await asyncio.sleep(0)
        time.sleep(0.3)  # noqa: ASYNC251 -- this event loop is held up, as by a long handler
        await asyncio.sleep(0.001)
        quiet.last_seen = time.monotonic()   # its queued messages are read at last
        await asyncio.sleep(0.03)
        task.cancel()

    asyncio.run(scenario())
    assert dropped == []
