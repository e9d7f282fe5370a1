"""The live dashboard in a real (headless) browser, beside a running computation.

Each page is loaded while tasks run; the numbers it shows are checked
against the scheduler's own books and an independent lowering of the plan.
"""

import os
import sys
import time

import cloudpickle
import numpy as np
import pytest

import lamina.array as la
from lamina.client import LocalCluster
from lamina.compute import optimized
from lamina.scheduler.lowering import lower
from tests.browser_support import headless_chromium
from tests.distributed_support import WAIT, connected, wait_until

cloudpickle.register_pickle_by_value(sys.modules[__name__])

SLEEP = 0.02


def slow_double(block, gate):
    """Waits until the file ``gate`` exists (at most a minute), then takes SLEEP seconds."""
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(SLEEP)
    return block * 2


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(2, dashboard_address="127.0.0.1:0", timeout=WAIT) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with connected(cluster) as c:
        yield c


def slow_sum(n_blocks: int, gate):
    """A sum whose tasks wait for ``gate`` to exist, and its value from NumPy."""
    data = np.arange(n_blocks * 6.0).reshape(n_blocks * 2, 3)
    x = la.from_array(data, chunks=(2, 3))
    y = la.map_blocks(slow_double, x, dtype=float, gate=str(gate)).sum(axis=0)
    return y, (data * 2).sum(axis=0)


def read(browser, selector, cell=None):
    """The text of each element matching ``selector`` (of its ``cell`` inside), read in
    one script so that a redraw between two reads cannot mix two snapshots."""
    return browser.execute_script(
        "var sel = arguments[0], cell = arguments[1];"
        "return Array.from(document.querySelectorAll(sel)).map(function (e) {"
        " var c = cell ? e.querySelector(cell) : e;"
        " return c ? c.textContent : null; });", selector, cell)


def cells(browser, selector, cls):
    return [int(v) for v in read(browser, selector, "td." + cls)]


def text(browser, element_id):
    return read(browser, "#" + element_id)[0]


def open_page(browser, cluster, page):
    browser.get(cluster.dashboard_link + page + "?interval=200")
    wait_until(lambda: int(text(browser, "updates")) >= 1, WAIT)


def test_links_name_the_same_dashboard(cluster, client):
    assert cluster.dashboard_link.startswith("http://127.0.0.1:")
    assert client.dashboard_link == cluster.dashboard_link


def test_progress_page_follows_the_run_and_ends_on_the_scheduler_counts(
        browser, cluster, client, tmp_path):
    gate = tmp_path / "go"
    y, expected = slow_sum(80, gate)
    table = lower(optimized([y.layer]))
    future = client.compute(y)
    open_page(browser, cluster, "status")
    run = client.diagnostics()["runs"][0]
    row = f"tr.layer[data-run='{run['id']}']"
    per_layer = np.bincount(table.task_layer, minlength=len(table.layers)).tolist()

    def in_flight():
        return sum(w["in_flight"] for w in client.scheduler_info()["workers"].values())

    # gated: the tasks sent to workers stay RUNNING, so both sides hold still
    wait_until(lambda: 0 < sum(cells(browser, row, "running")) == in_flight(), WAIT)
    assert cells(browser, row, "done") == [0] * len(table.layers)
    states = [cells(browser, row, s) for s in ("waiting", "queued", "ahead", "running")]
    assert [sum(c) for c in zip(*states)] == per_layer
    browser.save_screenshot(str(tmp_path / "status-waiting.png"))
    gate.touch()
    seen = set()
    while not future.done():
        seen.add(sum(cells(browser, row, "done")))
        time.sleep(0.05)
    browser.save_screenshot(str(tmp_path / "status-running.png"))
    np.testing.assert_allclose(future.result(), expected)
    assert len(seen) >= 2, f"the page did not update while tasks ran (saw {seen})"
    wait_until(lambda: browser.find_elements(
        "css selector", f"tr.layer[data-run='{run['id']}'][data-outcome='done']"), WAIT)
    assert cells(browser, row, "done") == per_layer
    assert cells(browser, row, "total") == per_layer
    ended = next(r for r in client.diagnostics()["runs"] if r["id"] == run["id"])
    assert [layer["done"] for layer in ended["layers"]] == per_layer
    labels = read(browser, row, "td:nth-child(2)")
    assert labels == [layer.label() for layer in table.layers]
    assert int(text(browser, "worker-count")) == len(client.scheduler_info()["workers"]) == 2
    browser.save_screenshot(str(tmp_path / "status.png"))
    assert (tmp_path / "status.png").stat().st_size > 1000


def test_task_stream_page_draws_every_record_of_the_scheduler(browser, cluster, client, tmp_path):
    gate = tmp_path / "go"
    y, expected = slow_sum(60, gate)
    future = client.compute(y)
    open_page(browser, cluster, "tasks")
    before = int(text(browser, "task-count").split()[0])
    gate.touch()
    counts = {before}
    while not future.done():
        counts.add(int(text(browser, "task-count").split()[0]))
        time.sleep(0.05)
    np.testing.assert_allclose(future.result(), expected)
    assert len(counts) >= 2, f"the task stream did not grow while tasks ran (saw {counts})"
    total = int(client.diagnostics()["tasks"]["cursor"])
    wait_until(lambda: int(text(browser, "task-count").split()[0]) == total, WAIT)
    canvas = browser.find_element("css selector", "#tasks canvas")
    assert canvas.size["height"] >= 16 * 2
    legend = read(browser, "#tasks .legend > span")
    assert any("slow_double" in label for label in legend), legend
    browser.save_screenshot(str(tmp_path / "tasks.png"))
    assert (tmp_path / "tasks.png").stat().st_size > 1000


def test_workers_page_lists_each_worker_with_its_metrics(browser, cluster, client, tmp_path):
    gate = tmp_path / "go"
    y, expected = slow_sum(30, gate)
    future = client.compute(y)
    open_page(browser, cluster, "workers")
    info = client.scheduler_info()["workers"]
    wait_until(lambda: len(read(browser, "tr.worker")) == len(info), WAIT)
    addresses = sorted(read(browser, "tr.worker", "td.address"))
    assert addresses == sorted(w["address"] for w in info.values())
    wait_until(lambda: all(m.endswith("B") for m in read(browser, "tr.worker", "td.memory")),
               WAIT)
    gate.touch()
    np.testing.assert_allclose(future.result(WAIT), expected)
    assert int(text(browser, "worker-count")) == len(info)
    browser.save_screenshot(str(tmp_path / "workers.png"))
    assert (tmp_path / "workers.png").stat().st_size > 1000


def test_plan_page_draws_the_run_plan_as_a_graph(browser, cluster, client, tmp_path):
    gate = tmp_path / "go"
    y, expected = slow_sum(30, gate)
    table = lower(optimized([y.layer]))
    future = client.compute(y)
    open_page(browser, cluster, "plan")
    rid = client.diagnostics()["runs"][0]["id"]
    wait_until(lambda: browser.find_elements("id", f"plan-{rid}"), WAIT)
    titles = read(browser, f"#plan-{rid} g.node", "title")
    assert titles == [layer.label() for layer in table.layers]
    edges = read(browser, f"#plan-{rid} line")
    assert len(edges) == len({(d.name, layer.name) for layer in table.layers
                              for d in layer.dependencies})
    gate.touch()
    np.testing.assert_allclose(future.result(WAIT), expected)
    browser.save_screenshot(str(tmp_path / "plan.png"))
    assert (tmp_path / "plan.png").stat().st_size > 1000


def test_offline_report_opens_from_a_file_with_every_task(browser, tmp_path):
    import lamina
    import lamina.diagnostics

    x = la.from_array(np.arange(600.0).reshape(20, 30), chunks=(3, 7))
    y = (x * 2).sum(axis=0)
    path = tmp_path / "run.html"
    with lamina.diagnostics.report(path):
        (got,) = lamina.compute(y, nthreads=2)
    np.testing.assert_allclose(got, (np.arange(600.0).reshape(20, 30) * 2).sum(axis=0))
    table = lower(optimized([y.layer]))
    browser.get(path.as_uri())
    wait_until(lambda: read(browser, "#task-count"), WAIT)
    assert text(browser, "task-count") == f"{table.n_tasks} task records"
    assert read(browser, "tr.timing", "td:nth-child(2)") != []
    timed = dict(zip(read(browser, "tr.timing", "td.label"),
                     map(int, read(browser, "tr.timing", "td:nth-child(2)"))))
    per_layer = np.bincount(table.task_layer, minlength=len(table.layers)).tolist()
    assert timed == {layer.label(): n for layer, n in zip(table.layers, per_layer)}
    assert len(read(browser, "pre.explain")) == 1
    assert read(browser, "#report-plan-0 g.node", "title") == [
        layer.label() for layer in table.layers]
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 1000
