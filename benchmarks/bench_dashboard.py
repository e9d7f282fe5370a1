"""What watching costs: ``bench_distributed``'s cluster run with the dashboard off,
and with it on and a page open and refreshing.

    python benchmarks/bench_dashboard.py                       # 10k and 100k chunks
    python benchmarks/bench_dashboard.py --chunks 100000 --repeat 5 --interval 0.2

For ``((x + 1) * 2).sum()`` on 2 worker processes x 1 thread (loopback),
runs alternate between two clusters: one started with no dashboard, one
with the dashboard and a headless chromium page of it (``/``, every
section, refreshing every ``--interval`` seconds; without chromium, a
thread fetching the same JSON snapshot as often stands in). Each row gives
the median end-to-end time of each, their ratio, the ratio of the
fastest runs, and the scheduler process's CPU seconds per run (medians):
what watching costs the scheduler itself, least sensitive to other load on
the machine.

Each row also gives the spread (fastest and slowest run of each) and the
median of the ratios of each on run to the off run just before it, which
drifts less with the machine's load than the ratio of medians.

Then the scheduler's memory per task: for each of ``--memory-chunks``, its
resident set before and after ``--memory-runs`` more runs (off and on
alternating, page open), and the growth per task run. It must stay near
zero once the ring of task records (a fixed size) has filled. Last, the
scheduler alone (in process, zero-work workers, ``bench_distributed.simulate``)
with and without task records in the reports, and what one look at the
dashboard costs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from bench_distributed import (  # noqa: E402
    lamina_cluster_run,
    lamina_expression,
    side_of,
    simulated,
)

from lamina.client import Client, LocalCluster  # noqa: E402
from lamina.scheduler.records import compact_tasks  # noqa: E402


class Watcher:
    """A dashboard page refreshing every ``interval`` s: headless chromium, else a poller."""

    def __init__(self, link: str, interval: float, browser: bool = True) -> None:
        self.driver = None
        self.halt = threading.Event()
        self.thread = None
        try:
            if not browser:
                raise RuntimeError("--poller")
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from browser_support import headless_chromium

            self.driver = headless_chromium()
            self.driver.get(f"{link}?interval={int(interval * 1000)}")
            self.kind = "chromium page"
        except BaseException as exc:     # pytest.skip raises a BaseException
            self.kind = f"JSON poller (no browser: {type(exc).__name__}: {exc})"
            self.thread = threading.Thread(target=self._poll, args=(link, interval), daemon=True)
            self.thread.start()

    def _poll(self, link: str, interval: float) -> None:
        cursor = 0
        while not self.halt.wait(interval):
            with urllib.request.urlopen(f"{link}api/status.json?since={cursor}") as r:
                cursor = json.load(r)["tasks"]["cursor"]

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the browser (every chromium process), 0 for the poller."""
        if self.driver is None:
            return 0.0
        total = 0.0
        for proc in psutil.Process(self.driver.service.process.pid).children(recursive=True):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def updates(self) -> int:
        if self.driver is None:
            return -1
        return int(self.driver.find_element("id", "updates").text)

    def close(self) -> None:
        self.halt.set()
        if self.driver is not None:
            self.driver.quit()


def rss(process: Any) -> float:
    return psutil.Process(process.pid).memory_info().rss / 2**20


def cpu_seconds(process: Any) -> float:
    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


def timed_run(cluster: LocalCluster, client: Client, side: int) -> tuple[dict[str, Any], float]:
    """One run, and the scheduler process's CPU seconds during it (less sensitive to
    other load on the machine than the wall time)."""
    before = cpu_seconds(cluster.scheduler_process)
    row = lamina_cluster_run(client, side)
    return row, cpu_seconds(cluster.scheduler_process) - before


def compare(args: argparse.Namespace, results: dict[str, Any]) -> None:
    print(f"\n== ((x + 1) * 2).sum(), 2 workers x 1 thread: dashboard off vs on with a page "
          f"refreshing every {args.interval} s ==")
    with LocalCluster(2, dashboard_address=None) as off, Client(off) as c_off, \
            LocalCluster(2, dashboard_address="127.0.0.1:0") as on, Client(on) as c_on:
        watcher = Watcher(on.dashboard_link, args.interval, not args.poller)
        print(f"watching with a {watcher.kind}")
        try:
            for client in (c_off, c_on):
                client.compute(lamina_expression(10)).result(60)
            print(f"{'chunks':>9} {'tasks':>9} {'off s':>8} {'on s':>8} {'on / off':>9} "
                  f"{'pairs':>6} {'best/best':>10} {'off min-max':>13} {'on min-max':>13} "
                  f"{'sched CPU':>8} {'sched CPU':>8} {'on / off':>8} {'browser':>8} "
                  f"{'page updates':>13}")
            print(f"{'':>9} {'':>9} {'(wall)':>8} {'(wall)':>8} {'(medians)':>9} "
                  f"{'median':>6} {'':>10} {'s':>13} {'s':>13} {'off s':>8} {'on s':>8} "
                  f"{'':>8} {'CPU s':>8}")
            for chunks in args.chunks:
                side = side_of(chunks)
                times: dict[str, list[float]] = {"off": [], "on": []}
                cpu: dict[str, list[float]] = {"off": [], "on": []}
                before = watcher.updates()
                browser: list[float] = []
                for _ in range(args.repeat):
                    for name, cluster, client in (("off", off, c_off), ("on", on, c_on)):
                        page_cpu = watcher.cpu_seconds()
                        row, used = timed_run(cluster, client, side)
                        times[name].append(row["total_s"])
                        cpu[name].append(used)
                        if name == "on":
                            browser.append(watcher.cpu_seconds() - page_cpu)
                off_s, on_s = statistics.median(times["off"]), statistics.median(times["on"])
                best = min(times["on"]) / min(times["off"])
                cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
                pairs = statistics.median(b / a for a, b in zip(times["off"], times["on"]))
                row = {"tasks": row["tasks"], "off_s": times["off"], "on_s": times["on"],
                       "ratio": on_s / off_s, "pair_ratio": pairs, "best_ratio": best,
                       "scheduler_cpu_off_s": cpu["off"], "scheduler_cpu_on_s": cpu["on"],
                       "cpu_ratio": cpu_on / cpu_off, "browser_cpu_s": browser,
                       "page_updates": watcher.updates() - before}
                results["compare"][chunks] = row
                spread = {k: f"{min(v):.2f}-{max(v):.2f}" for k, v in times.items()}
                print(f"{side * side:>9} {row['tasks']:>9} {off_s:>8.3f} {on_s:>8.3f} "
                      f"{on_s / off_s:>9.3f} {pairs:>6.3f} {best:>10.3f} {spread['off']:>13} "
                      f"{spread['on']:>13} {cpu_off:>8.3f} {cpu_on:>8.3f} "
                      f"{cpu_on / cpu_off:>8.3f} {statistics.median(browser):>8.2f} "
                      f"{row['page_updates']:>13}")
            memory(args, results, on, c_on, off, c_off)
        finally:
            watcher.close()


def memory(args: argparse.Namespace, results: dict[str, Any], on: LocalCluster,
           c_on: Client, off: LocalCluster, c_off: Client) -> None:
    if args.memory_runs <= 0:
        return
    print(f"\n== scheduler resident memory, {args.memory_runs} more runs of each size "
          f"(off and on alternating, page open) ==")
    print(f"{'chunks':>9} {'tasks':>9} {'off MiB':>8} {'off MiB':>8} {'off':>8} "
          f"{'on MiB':>8} {'on MiB':>8} {'on':>8}")
    print(f"{'':>9} {'run':>9} {'before':>8} {'after':>8} {'B/task':>8} "
          f"{'before':>8} {'after':>8} {'B/task':>8}")
    for chunks in args.memory_chunks:
        side = side_of(chunks)
        start = {"off": rss(off.scheduler_process), "on": rss(on.scheduler_process)}
        tasks = 0
        for _ in range(args.memory_runs):
            tasks += lamina_cluster_run(c_off, side)["tasks"]
            lamina_cluster_run(c_on, side)
        end = {"off": rss(off.scheduler_process), "on": rss(on.scheduler_process)}
        per_task = {k: (end[k] - start[k]) * 2**20 / tasks for k in start}
        results["memory"].append({"chunks": chunks, "tasks": tasks, "before_mib": start,
                                  "after_mib": end, "bytes_per_task": per_task})
        print(f"{side * side:>9} {tasks // max(args.memory_runs, 1):>9} {start['off']:>8.1f} "
              f"{end['off']:>8.1f} {per_task['off']:>8.2f} {start['on']:>8.1f} "
              f"{end['on']:>8.1f} {per_task['on']:>8.2f}")


async def _alone(side: int, records: bool, looks: int) -> dict[str, float]:
    scheduler, workers = await simulated(side, 2)
    n_tasks = next(iter(scheduler.runs.values())).table.n_tasks
    look_every = max(n_tasks // max(looks, 1), 1)
    look_s: list[float] = []
    done = 0
    start = time.perf_counter()
    while scheduler.runs:
        scheduler._schedule()
        for ws in workers:
            for msg in ws.out.take():
                if msg["op"] != "compute":
                    continue
                tasks = msg["tasks"]
                report = {"run": msg["run"], "tasks": tasks, "elapsed": 1e-6 * len(tasks)}
                if records:
                    now = time.time()
                    report.update(began=now, thread=0,
                                  stops=now + 1e-6 * np.arange(1, len(tasks) + 1))
                scheduler._task_done(ws, report)
                done += len(tasks)
                if looks and done // look_every > len(look_s) and scheduler.runs:
                    t0 = time.perf_counter()
                    snap = scheduler.snapshot(0)
                    snap["tasks"] = compact_tasks(snap["tasks"], binary=True)
                    json.dumps(snap, default=lambda a: a.tolist())
                    look_s.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start - sum(look_s)
    return {"tasks": n_tasks, "tasks_per_s": n_tasks / elapsed,
            "look_ms": 1e3 * statistics.median(look_s) if look_s else float("nan")}


def alone(args: argparse.Namespace, results: dict[str, Any]) -> None:
    print("\n== the scheduler alone, zero-work workers, unoptimized graph ==")
    print(f"{'chunks':>9} {'tasks':>9} {'no records':>12} {'records':>12} {'ratio':>6} "
          f"{'one look (JSON), ms':>20}")
    for chunks in args.alone_chunks:
        side = side_of(chunks)
        plain = asyncio.run(_alone(side, False, 0))
        kept = asyncio.run(_alone(side, True, 5))
        row = {"tasks": plain["tasks"], "plain_tasks_per_s": plain["tasks_per_s"],
               "records_tasks_per_s": kept["tasks_per_s"], "look_ms": kept["look_ms"]}
        results["alone"][chunks] = row
        print(f"{side * side:>9} {plain['tasks']:>9} {plain['tasks_per_s']:>12,.0f} "
              f"{kept['tasks_per_s']:>12,.0f} {kept['tasks_per_s'] / plain['tasks_per_s']:>6.2f} "
              f"{kept['look_ms']:>20.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between page refreshes (the page's default: 1)")
    parser.add_argument("--poller", action="store_true",
                        help="watch with a thread fetching the JSON instead of a browser page "
                        "(the scheduler's cost alone, without the browser's CPU)")
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--memory-chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--alone-chunks", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="sizes for the scheduler alone (none: skip it)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {"compare": {}, "memory": [], "alone": {}}
    compare(args, results)
    alone(args, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
