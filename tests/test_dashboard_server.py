"""The scheduler's side of the dashboard, without a browser: the monitor's books
against the state machine, and the HTTP server's refusals."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

import lamina.array as la
from lamina.comm.wire import Packed, dumps
from lamina.layers.codec import LayerCodec
from lamina.scheduler.dashboard import DEFAULT_ADDRESS, Dashboard, parse_address
from lamina.scheduler.monitor import STATE_NAMES
from lamina.scheduler.records import compact_tasks
from lamina.scheduler.server import ClientState, Scheduler, WorkerState
from lamina.testing.inbox import Inbox
from tests.distributed_support import erred_per_layer


def started_run(scheduler: Scheduler, layer):
    client = ClientState(0, Inbox())
    scheduler.clients[0] = client
    frames = dumps({"roots": (layer,)}, extension=LayerCodec())
    asyncio.run(scheduler._submit(client, {"ref": 1, "graph": Packed(frames)}))
    return next(iter(scheduler.runs.values()))


def expected_counts(run) -> list[list[int]]:
    out = np.zeros((len(run.table.layers), 7), dtype=np.int64)
    np.add.at(out, (run.table.task_layer, run.state.states()), 1)
    return out.tolist()


@given(rows=st.lists(st.integers(1, 4), min_size=1, max_size=6),
       reports=st.lists(st.integers(1, 5), min_size=1, max_size=20),
       repeat=st.booleans())
@settings(max_examples=40, deadline=None)
def test_snapshot_counts_and_records_follow_the_workers_reports(rows, reports, repeat):
    scheduler = Scheduler()
    ws = WorkerState(1, "inproc://w1", 2, Inbox())
    scheduler.workers[1] = ws
    x = la.from_array(np.arange(float(sum(rows))), chunks=(tuple(rows),))
    run = started_run(scheduler, (x + 1).sum().layer)
    scheduler._schedule()
    reported: list[int] = []
    clock = 1000.0
    for size in reports:
        sent = [m for m in ws.out.take() if m["op"] == "compute"]
        pending = [t for m in sent for t in m["tasks"].tolist()]
        for i in range(0, len(pending), size):
            tasks = np.array(pending[i:i + size], dtype=np.int64)
            stops = clock + np.arange(1, len(tasks) + 1, dtype=float)
            msg = {"op": "done", "run": run.id, "tasks": tasks, "elapsed": 1e-5,
                   "began": clock, "thread": i % 2, "stops": stops}
            scheduler._worker_message(ws, msg)
            if repeat:
                scheduler._worker_message(ws, msg)      # a stale report: recorded once
            clock = stops[-1]
            reported += tasks.tolist()
            if run.id in scheduler.runs:
                snap = scheduler.snapshot()
                (live,) = snap["runs"]
                got = [[layer[s] for s in STATE_NAMES] for layer in live["layers"]]
                assert got == expected_counts(run)
        scheduler._schedule()
    snap = scheduler.snapshot()
    tasks = snap["tasks"]
    assert tasks["task"].tolist() == reported
    assert tasks["layer"].tolist() == run.table.task_layer[reported].tolist()
    assert set(tasks["worker"].tolist()) <= {1}
    assert np.all(tasks["start"] < tasks["stop"])
    assert snap["labels"][str(run.id)] == [layer.label() for layer in run.table.layers]
    if run.id not in scheduler.runs:
        (ended,) = snap["runs"]
        assert ended["outcome"] == "done"
        assert [layer["done"] for layer in ended["layers"]] == np.bincount(
            run.table.task_layer).tolist()


def test_plan_nodes_carry_the_rules_a_client_sent_and_nothing_else():
    scheduler = Scheduler()
    x = la.from_array(np.arange(12.0), chunks=3)
    layer = (x + 1).sum().layer
    client = ClientState(0, Inbox())
    scheduler.clients[0] = client
    frames = dumps({"roots": (layer,)}, extension=LayerCodec())
    names = [d.name for d in [layer, *layer.dependencies]]
    rules = {names[0]: ["rule_a", 7, "x" * 5000], names[1]: "not a list",
             "no-such-layer": ["rule_b"]}
    asyncio.run(scheduler._submit(client, {"ref": 1, "graph": Packed(frames), "rules": rules}))
    run = next(iter(scheduler.runs.values()))
    (live,) = scheduler.snapshot()["runs"]
    shown = {layer.name: node["rules"]
             for layer, node in zip(run.table.layers, live["plan"]["nodes"])}
    assert shown[names[0]] == ["rule_a", "x" * 1000]
    assert all(rules == [] for name, rules in shown.items() if name != names[0])


def test_a_run_ends_done_failed_or_cancelled_only():
    scheduler = Scheduler()
    run = started_run(scheduler, la.from_array(np.arange(4.0), chunks=2).sum().layer)
    with pytest.raises(ValueError, match="not 'stopped'"):
        scheduler.monitor.run_ended(run, "stopped")
    scheduler._fail_run(run, None, "", "somewhere", {"type": "KeyError", "message": "'k'",
                                                      "where": "somewhere"}, 0)
    (ended,) = scheduler.snapshot()["runs"]
    assert ended["outcome"] == "failed"
    assert ended["error"] == {"type": "KeyError", "message": "'k'", "where": "somewhere"}
    erred = [layer["erred"] for layer in ended["layers"]]
    assert erred == erred_per_layer(run.table, 0) and sum(erred) >= 2


def test_a_look_returns_at_most_max_records_and_the_ring_stays_its_size():
    scheduler = Scheduler()
    records = scheduler.monitor.records
    n = records.capacity + 1000
    records.add(1, np.arange(n), np.zeros(n), 1, 0, np.zeros(n), np.ones(n))
    snap = scheduler.snapshot(0, max_records=50)
    got = snap["tasks"]["task"]
    assert len(got) == 50 and got[-1] == n - 1 and np.all(np.diff(got) > 0)
    assert got[0] == n - 50 * 20      # an even sample of the last 20 x max_records
    assert snap["tasks"]["cursor"] == n and snap["tasks"]["dropped"] == n - 50
    small = scheduler.snapshot(n - 30, max_records=50)["tasks"]
    assert small["task"].tolist() == list(range(n - 30, n)) and small["dropped"] == 0
    assert len(scheduler.snapshot(n)["tasks"]["task"]) == 0
    assert records.capacity == len(records.since(0)[1]["task"])


@given(n=st.integers(0, 40), base=st.floats(1e9, 2e9), task0=st.integers(0, 2 ** 40))
@settings(max_examples=30, deadline=None)
def test_binary_records_decode_to_the_same_numbers_as_the_lists(n, base, task0):
    rng = np.random.default_rng(n)
    starts = base + np.cumsum(rng.random(n))
    tasks = {"cursor": 7, "dropped": 1, "run": np.full(n, 3), "task": task0 + np.arange(n),
             "layer": rng.integers(0, 5, n), "worker": rng.integers(1, 3, n),
             "thread": rng.integers(0, 4, n), "start": starts, "stop": starts + rng.random(n)}
    plain = compact_tasks(tasks)
    packed = compact_tasks(tasks, binary=True)
    assert packed["base"] == plain["base"] and packed["cursor"] == 7 and packed["dropped"] == 1
    for name in ("run", "task", "layer", "worker", "thread", "start", "stop"):
        decoded = np.frombuffer(base64.b64decode(packed[name]), "<f8")
        assert decoded.tolist() == plain[name] == np.asarray(plain[name]).tolist()
    micro = np.rint((tasks["stop"] - plain["base"]) * 1e6)
    assert plain["stop"] == micro.astype(np.int64).tolist()


def test_heartbeat_metrics_keep_plain_numbers_only():
    scheduler = Scheduler()
    ws = WorkerState(3, "inproc://w3", 1, Inbox())
    scheduler.workers[3] = ws
    scheduler._worker_message(ws, {"op": "heartbeat", "metrics": {
        "memory": 123, "cpu": 50.5, "evil": "<script>", "nested": {"a": 1}}})
    scheduler._worker_message(ws, {"op": "heartbeat", "metrics": "junk"})
    (worker,) = scheduler.snapshot()["workers"]
    assert worker["memory"] == 123 and worker["cpu"] == 50.5
    assert "evil" not in worker and "nested" not in worker
    assert [m for _, m in worker["history"]] == [123]
    scheduler._remove_worker(ws)
    assert scheduler.snapshot()["workers"] == [] and not scheduler.monitor.history


@pytest.mark.parametrize("text, expected", [(":8787", ("127.0.0.1", 8787)),
                                             ("0.0.0.0:0", ("0.0.0.0", 0)),
                                             ("[::1]:9000", ("::1", 9000)),
                                             ("8787", ("127.0.0.1", 8787))])
def test_dashboard_addresses_parse(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:http", ":70000", ":-1"])
def test_a_bad_dashboard_address_says_what_to_give(text):
    with pytest.raises(ValueError, match="give HOST:PORT"):
        parse_address(text)


def fetch(url: str, method: str = "GET", body: bytes | None = None):
    async def go():
        try:
            return await AsyncHTTPClient().fetch(url, method=method, body=body,
                                                 allow_nonstandard_methods=True)
        except HTTPClientError as exc:
            return exc.response
    return go()


def test_the_dashboard_serves_pages_and_json_on_localhost_and_refuses_the_rest():
    async def main() -> None:
        scheduler = Scheduler(dashboard_address="127.0.0.1:0")
        await scheduler.start("tcp://127.0.0.1:0")
        link = scheduler.dashboard_link
        assert link.startswith("http://127.0.0.1:") and scheduler.info()["dashboard"] == link
        try:
            for page in ("", "status", "tasks", "workers", "plan"):
                r = await fetch(link + page)
                assert r.code == 200 and b"/static/dashboard.js" in r.body
                assert r.headers["X-Frame-Options"] == "DENY"
                assert "default-src 'self'" in r.headers["Content-Security-Policy"]
            r = await fetch(link + "api/status.json?since=0")
            snap = json.loads(r.body)
            assert snap["workers"] == [] and snap["runs"] == [] and snap["tasks"]["cursor"] == 0
            assert r.headers["Content-Type"] == "application/json"
            for name in ("dashboard.js", "live.js", "dashboard.css"):
                assert (await fetch(link + "static/" + name)).code == 200
            assert (await fetch(link + "api/status.json?since=x")).code == 400
            assert (await fetch(link + "nothing")).code == 404
            assert (await fetch(link + "static/../dashboard.py")).code in (403, 404)
            assert (await fetch(link + "static/%2e%2e/dashboard.py")).code in (403, 404)
            for method in ("POST", "PUT", "DELETE"):
                r = await fetch(link + "api/status.json", method, b"{}")
                assert r.code == 405
        finally:
            await scheduler.stop()

    asyncio.run(main())


def test_by_default_the_dashboard_listens_on_loopback_only():
    import argparse

    from lamina.client import LocalCluster
    from lamina.distributed_cli import add_scheduler_parser

    parser = argparse.ArgumentParser()
    add_scheduler_parser(parser.add_subparsers())
    given = parser.parse_args(["scheduler"]).dashboard_address
    assert parse_address(given)[0] == parse_address(DEFAULT_ADDRESS)[0] == "127.0.0.1"
    with LocalCluster(0, timeout=60) as cluster:            # every default
        port = int(cluster.dashboard_link.rstrip("/").rsplit(":", 1)[1])
        listening = [c.laddr for c in psutil.Process(cluster.scheduler_process.pid)
                     .net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert [a.ip for a in listening if a.port == port] == ["127.0.0.1"]


UNKNOWN = ["nothing", "api", "api/", "api/status", "api/other.json", "static", "static/",
           "static/../dashboard.py", "static/%2e%2e/dashboard.py", "static/..%2fmonitor.py",
           "static/nothing.js", "status/..", "plan/1", ".git/config", "%00"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_paths_are_refused(path):
    async def main() -> int:
        dashboard = Dashboard(lambda cursor: {"tasks": {}})
        link = await dashboard.start("127.0.0.1:0")
        try:
            return (await fetch(link + path)).code
        finally:
            await dashboard.stop()

    assert asyncio.run(main()) in (403, 404)


def test_nothing_served_runs_code_but_the_dashboard_s_own_scripts():
    """Only the shipped page, its stylesheet and its scripts (HTML, CSS, JS) exist to
    serve; the JSON snapshot is data with a JSON type that browsers must not sniff."""
    from lamina.scheduler.dashboard import STATIC

    assert sorted(os.listdir(STATIC)) == ["dashboard.css", "dashboard.js", "index.html",
                                          "live.js", "report.js"]

    async def main() -> None:
        scheduler = Scheduler(dashboard_address="127.0.0.1:0")
        await scheduler.start("tcp://127.0.0.1:0")
        link = scheduler.dashboard_link
        try:
            page = await fetch(link)
            scripts = re.findall(rb"<script[^>]*>", page.body)
            assert scripts == [b'<script src="/static/dashboard.js">',
                               b'<script src="/static/live.js">']
            assert b"on" + b"click" not in page.body and b"javascript:" not in page.body
            r = await fetch(link + "api/status.json")
            assert r.headers["Content-Type"] == "application/json"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            csp = r.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "script-src" not in csp
            assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split(";")[0]
            for name in ("dashboard.js", "live.js"):
                js = (await fetch(link + "static/" + name)).body
                assert b"eval(" not in js and b"innerHTML" not in js
                assert b"new Function" not in js and b"insertAdjacentHTML" not in js
        finally:
            await scheduler.stop()

    asyncio.run(main())


def test_a_busy_dashboard_port_falls_back_to_a_free_one():
    async def main() -> None:
        first = Dashboard(lambda cursor: {})
        link = await first.start("127.0.0.1:0")
        second = Dashboard(lambda cursor: {})
        try:
            other = await second.start(link.rstrip("/").rsplit("/", 1)[1])
            assert other != link and other.startswith("http://127.0.0.1:")
        finally:
            await first.stop()
            await second.stop()

    asyncio.run(main())


def test_no_dashboard_unless_asked():
    async def main() -> None:
        scheduler = Scheduler()
        await scheduler.start("tcp://127.0.0.1:0")
        assert scheduler.dashboard_link is None and scheduler.info()["dashboard"] is None
        await scheduler.stop()

    asyncio.run(main())


def test_the_command_line_refuses_a_bad_dashboard_address(capsys):
    from lamina.distributed_cli import main

    with pytest.raises(SystemExit) as info:
        main(["scheduler", "--dashboard-address", "localhost:web"])
    assert info.value.code == 2
    assert "give HOST:PORT" in capsys.readouterr().err
