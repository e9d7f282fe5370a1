"""``report``: one HTML file with what the computations inside a block did.

    with lamina.diagnostics.report("run.html"):
        u, s, v = lamina.compute(*lamina.linalg.svd_compressed(x, k=10))

The file holds the task stream (each thread, what ran when, coloured by
layer), time per layer, memory over time, progress per layer and each plan
(``lamina.explain``'s text and graph). It needs nothing else to open: the
dashboard's own scripts and the data are inlined, so it can be attached to
a bug report. It works for the embedded runner (task records from its
threads, this process's memory sampled meanwhile) and on a cluster (the
scheduler's task records and the workers' memory, from the client of the
innermost ``with client:`` block or ``client=``). It is written even when
the block raises.
"""

from __future__ import annotations

import html
import json
import os
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import psutil

from lamina.layers.walk import topological
from lamina.scheduler._records import FIELDS
from lamina.scheduler.monitor import STATE_NAMES
from lamina.scheduler.records import Recorder, compact_tasks, plan_graph, watched

if TYPE_CHECKING:
    from lamina.client import Client

STATIC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scheduler", "static")
MEMORY_SECONDS = 0.1
SKIP_CURSOR = 2 ** 62


class _MemorySampler(threading.Thread):
    """This process's resident memory every ``interval`` seconds, until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="lamina-report-memory", daemon=True)
        self.interval = interval
        self.samples: list[list[float]] = []
        self.halt = threading.Event()
        self.process = psutil.Process()

    def run(self) -> None:
        while True:
            self.samples.append([time.time(), float(self.process.memory_info().rss)])
            if self.halt.wait(self.interval):
                break

    def stop(self) -> list[list[float]]:
        self.halt.set()
        self.join()
        self.samples.append([time.time(), float(self.process.memory_info().rss)])
        return self.samples


@contextmanager
def report(filename: str | os.PathLike, client: Client | None = None,
           memory_interval: float = MEMORY_SECONDS, title: str | None = None) -> Iterator[None]:
    """Write ``filename``: an HTML report of every computation run inside the block.

    ``client``: whose cluster to ask for task records (default: the active
    client, if any). ``memory_interval``: seconds between samples of this
    process's memory (workers report theirs once a second).
    """
    if not float(memory_interval) > 0:
        raise ValueError(f"memory_interval must be a positive number of seconds, "
                         f"got {memory_interval!r}")
    if client is None:
        from lamina.client import active_client

        client = active_client()
    cursor = int(client.diagnostics(SKIP_CURSOR)["tasks"]["cursor"]) if client else 0
    started = time.time()
    recorder = Recorder()
    sampler = _MemorySampler(float(memory_interval))
    sampler.start()
    try:
        with watched(recorder):
            yield
    finally:
        memory = sampler.stop()
        cluster = client.diagnostics(cursor) if client is not None else None
        data = report_data(recorder, memory, cluster, started, title or str(filename))
        with open(filename, "w", encoding="utf-8") as f:
            f.write(render(data))


def report_data(recorder: Recorder, memory: list[list[float]], cluster: dict | None,
                started: float, title: str) -> dict[str, Any]:
    """The report's data: a dashboard snapshot plus the plans' explanations.

    Runs of the embedded runner get negative ids, so they never meet a
    cluster's run ids.
    """
    _, local = recorder.records.since(0)
    local["run"] = -local["run"]
    tasks = {k: np.asarray(local[k]) for k in FIELDS}
    labels = {str(-rid): run["layers"] for rid, run in recorder.runs.items()}
    workers: list[dict[str, Any]] = [{
        "id": 0, "address": "this process", "memory": memory[-1][1] if memory else None,
        "history": memory}]
    runs = [_local_run(-rid, run, local) for rid, run in recorder.runs.items()]
    dropped = recorder.records.dropped
    if cluster is not None:
        remote = cluster["tasks"]
        dropped += int(remote["dropped"])
        tasks = {k: np.concatenate([tasks[k], np.asarray(remote[k])]) for k in FIELDS}
        labels.update({str(k): v for k, v in cluster["labels"].items()})
        for w in cluster["workers"]:
            w = dict(w)
            w["history"] = [p for p in w.get("history", []) if p[0] >= started]
            workers.append(w)
        runs += [r for r in cluster["runs"] if r["submitted"] >= started]
    return {
        "title": title, "started": started, "time": time.time(),
        "tasks_done": int(len(tasks["task"])), "workers": workers, "runs": runs,
        "tasks": compact_tasks({"cursor": int(len(tasks["task"])),
                                "dropped": dropped, **tasks}),
        "labels": labels,
        "explain": [_explained(plan) for plan in recorder.plans],
    }


def _local_run(rid: int, run: dict[str, Any], local: dict[str, np.ndarray]) -> dict[str, Any]:
    """An embedded run in the dashboard's shape: its counts per layer and state when it
    ended (tasks done per layer from its records if it never did), and how it ended."""
    sizes = run["sizes"]
    counts = run.get("counts")
    if counts is None:
        done = np.bincount(local["layer"][local["run"] == rid], minlength=len(sizes))
        counts = [[total - d, 0, 0, d, 0, 0, 0] for total, d in zip(sizes, done.tolist())]
    layers = []
    for label, total, row in zip(run["layers"], sizes, counts):
        layer = {"label": label, "total": total, **dict(zip(STATE_NAMES, row))}
        layer["done"] = layer["memory"] + layer["released"]
        layers.append(layer)
    summary = {"id": rid, "n_tasks": run["n_tasks"], "submitted": run["started"],
               "done": sum(layer["done"] for layer in layers), "layers": layers,
               "outcome": run.get("outcome", "running"), "plan": None}
    if run.get("error"):
        summary["error"] = run["error"]
    return summary


def _explained(plan: Any) -> dict[str, Any]:
    """``lamina.explain`` of the plan a computation ran: its text, and the optimized
    plan's graph with the rules that made each layer."""
    from lamina.explain import Explanation, count_tasks

    try:
        explanation = Explanation(plan, count_tasks(plan.before), count_tasks(plan.layers))
        return {"text": str(explanation),
                "plan": plan_graph(topological(list(plan.layers)),
                                   explanation.rules_per_layer())}
    except Exception as exc:
        return {"text": f"could not explain this plan: {type(exc).__name__}: {exc}", "plan": None}


def render(data: dict[str, Any]) -> str:
    """The report page: the dashboard's stylesheet and script inlined beside the data."""
    def read(name: str) -> str:
        with open(os.path.join(STATIC, name), encoding="utf-8") as f:
            return f.read()

    payload = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
    return _PAGE.format(title=html.escape(data["title"]), css=read("dashboard.css"),
                        script=read("dashboard.js"), report=read("report.js"), data=payload)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lamina report: {title}</title>
<style>
{css}
</style>
</head>
<body>
<header>
  <strong>lamina report</strong> <span>{title}</span>
  <span class="summary">workers <b id="worker-count">0</b> · tasks <b id="tasks-done">0</b>
    <span id="updates" hidden>0</span></span>
</header>
<main id="dashboard"></main>
<script type="application/json" id="report-data">{data}</script>
<script>
{script}
</script>
<script>
{report}
</script>
</body>
</html>
"""
