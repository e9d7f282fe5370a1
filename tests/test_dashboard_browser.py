"""The live dashboard in a real (headless) browser, beside a running computation.

Each page is loaded while tasks run; the numbers it shows are checked
against the scheduler's own books and an independent lowering of the plan.
"""

import gc
import os
import sys
import time

import cloudpickle
import numpy as np
import psutil
import pytest

import lamina.array as la
from lamina.client import LocalCluster
from lamina.compute import optimized
from lamina.explain import explain
from lamina.scheduler.lowering import lower
from tests.browser_support import headless_chromium
from tests.distributed_support import WAIT, connected, erred_per_layer, wait_until

cloudpickle.register_pickle_by_value(sys.modules[__name__])

SLEEP = 0.02


def slow_double(block, gate, free_below=0.0):
    """Waits until the file ``gate`` exists (at most a minute; blocks whose values are
    all below ``free_below`` do not wait), then takes SLEEP seconds."""
    deadline = time.monotonic() + 60
    while (block.min() >= free_below and not os.path.exists(gate)
           and time.monotonic() < deadline):
        time.sleep(0.01)
    time.sleep(SLEEP)
    return block * 2


def fails_on_block(block, bad):
    """Raises on the block that starts with the value ``bad``."""
    if block.flat[0] == bad:
        raise ZeroDivisionError(f"block starting at {bad} is bad")
    return block + 1


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


def slow_sum(n_blocks: int, gate, free_blocks: int = 0):
    """A sum whose tasks (but the first ``free_blocks``) wait for ``gate`` to exist,
    and its value from NumPy."""
    data = np.arange(n_blocks * 6.0).reshape(n_blocks * 2, 3)
    x = la.from_array(data, chunks=(2, 3))
    y = la.map_blocks(slow_double, x, dtype=float, gate=str(gate),
                      free_below=6.0 * free_blocks).sum(axis=0)
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


STATES = ("waiting", "queued", "ahead", "running", "memory", "released", "erred")


def page_counts(browser, row):
    """Tasks per layer in each state, as the page shows them (one read)."""
    rows = browser.execute_script(
        "var states = arguments[1];"
        "return Array.from(document.querySelectorAll(arguments[0])).map(function (tr) {"
        " return states.map(function (s) {"
        "  var c = tr.querySelector('td.' + s); return c ? Number(c.textContent) : -1; }); });",
        row, list(STATES))
    return [list(r) for r in rows]


def scheduler_counts(client, rid):
    run = next(r for r in client.diagnostics(2 ** 62)["runs"] if r["id"] == rid)
    return [[layer.get(s, -1) for s in STATES] for layer in run["layers"]]


def test_progress_page_follows_the_run_and_ends_on_the_scheduler_counts(
        browser, cluster, client, tmp_path):
    gate = tmp_path / "go"
    y, expected = slow_sum(80, gate, free_blocks=30)
    table = lower(optimized([y.layer]))
    future = client.compute(y)
    open_page(browser, cluster, "status")
    rid = client.diagnostics()["runs"][0]["id"]
    row = f"tr.layer[data-run='{rid}']"
    per_layer = np.bincount(table.task_layer, minlength=len(table.layers)).tolist()
    running, done = STATES.index("running"), (STATES.index("memory"), STATES.index("released"))

    def in_flight():
        return sum(w["in_flight"] for w in client.scheduler_info()["workers"].values())

    def settled_mid_run():
        """The free blocks are done, the workers wait on gated ones: nothing moves,
        so the page must show exactly what the scheduler holds."""
        shown = page_counts(browser, row)
        return (shown == scheduler_counts(client, rid)
                and 0 < sum(r[running] for r in shown) == in_flight()
                and 0 < sum(r[i] for r in shown for i in done))

    wait_until(settled_mid_run, WAIT)
    shown = page_counts(browser, row)
    assert [sum(r) - r[STATES.index("erred")] for r in shown] == per_layer
    assert sum(r[i] for r in shown for i in done) < table.n_tasks
    browser.save_screenshot(str(tmp_path / "status-mid-run.png"))
    gate.touch()
    seen = set()
    while not future.done():
        seen.add(sum(cells(browser, row, "done")))
        time.sleep(0.05)
    np.testing.assert_allclose(future.result(), expected)
    assert len(seen) >= 2, f"the page did not update while tasks ran (saw {seen})"
    wait_until(lambda: browser.find_elements(
        "css selector", f"tr.layer[data-run='{rid}'][data-outcome='done']"), WAIT)
    assert cells(browser, row, "done") == per_layer
    assert cells(browser, row, "total") == per_layer
    ended = next(r for r in client.diagnostics()["runs"] if r["id"] == rid)
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
    records = client.diagnostics()["tasks"]
    lanes = {f"{w}:{t}" for w, t in zip(records["worker"], records["thread"])}
    assert set(canvas.get_attribute("data-lanes").split()) == lanes     # one per thread
    assert len(lanes) == sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    legend = read(browser, "#tasks .legend > span")
    table = lower(optimized([y.layer]))
    assert set(legend) >= {layer.label() for layer in table.layers}
    assert any("slow_double" in label for label in legend), legend
    swatches = browser.execute_script(
        "return Array.from(document.querySelectorAll('#tasks .legend .swatch'))"
        ".map(function (s) { return s.style.background; });")
    assert len(set(swatches)) == len(swatches), "two layers share a colour"
    browser.save_screenshot(str(tmp_path / "tasks.png"))
    assert (tmp_path / "tasks.png").stat().st_size > 1000


BLOCK_ROWS, COLS, N_BLOCKS = 50, 500, 12
LIMIT = 2 * BLOCK_ROWS * COLS * 8       # each worker holds about a third of its blocks


@pytest.fixture(scope="module")
def limited():
    """A cluster whose workers spill: every counter of the workers page moves."""
    with LocalCluster(2, dashboard_address="127.0.0.1:0", memory_limit=LIMIT,
                      timeout=WAIT) as c:
        with connected(c) as client:
            yield c, client


def workers_shown(browser):
    """Each worker row's exact numbers (``data-value``), by address."""
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('tr.worker')).map(function (tr) {"
        " var out = {address: tr.querySelector('td.address').textContent};"
        " tr.querySelectorAll('td[data-value]').forEach(function (td) {"
        "  out[td.className.split(' ').pop()] = Number(td.getAttribute('data-value')); });"
        " return out; });")
    return {r["address"]: r for r in rows}


OWN_NAMES = {"keys": "n_keys", "spilled_bytes": "disk_bytes",
             "bytes_received": "bytes_received", "bytes_sent": "bytes_sent"}


def test_workers_page_shows_each_worker_s_own_counters_live(browser, limited, tmp_path):
    cluster, client = limited
    open_page(browser, cluster, "workers")
    pids = {p.address: p.proc.pid for p in cluster.processes[1:]}

    def agrees():
        """The page's counters equal each worker's own (asked of it directly)."""
        shown = workers_shown(browser)
        own = {w["address"]: w for w in client.worker_info()}
        return set(shown) == set(own) == set(pids) and all(
            shown[a].get(page) == own[a][name] for a in own for page, name in OWN_NAMES.items())

    wait_until(agrees, WAIT)
    before = workers_shown(browser)
    assert sum(w["keys"] for w in before.values()) == 0
    data = np.random.default_rng(7).random((BLOCK_ROWS * N_BLOCKS, COLS))
    y = client.persist(la.from_array(data, chunks=(BLOCK_ROWS, COLS)) * 2 + 1, timeout=WAIT)
    whole = client.compute(y.rechunk((BLOCK_ROWS * N_BLOCKS, COLS)) - 1)   # peer fetches
    np.testing.assert_array_equal(whole.result(WAIT), data * 2 + 1 - 1)
    wait_until(agrees, WAIT)
    shown = workers_shown(browser)
    assert sum(w["keys"] for w in shown.values()) == N_BLOCKS
    assert sum(w["spilled_bytes"] for w in shown.values()) > 0
    assert sum(w["bytes_received"] - before[a]["bytes_received"]
               for a, w in shown.items()) > 0
    for address, w in shown.items():
        rss = psutil.Process(pids[address]).memory_info().rss
        assert 0.5 * rss < w["memory"] < 2 * rss, (w["memory"], rss)
        assert 0 <= w["cpu"] <= 100 * psutil.cpu_count()
    assert int(text(browser, "worker-count")) == len(shown) == 2
    browser.save_screenshot(str(tmp_path / "workers.png"))
    del y
    gc.collect()
    wait_until(lambda: agrees() and all(
        w["keys"] == 0 and w["spilled_bytes"] == 0 for w in workers_shown(browser).values()),
        WAIT)


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
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(function (g) {"
        " return Array.from(g.querySelectorAll('tspan.rule')).map(function (t) {"
        "  return t.textContent; }); });", f"#plan-{rid} g.node")
    made_by = explain(y).rules_per_layer()
    assert shown == [list(made_by[layer.name]) for layer in table.layers]
    assert any(shown), "no rule fired: the test would prove nothing"
    edges = read(browser, f"#plan-{rid} line")
    assert len(edges) == len({(d.name, layer.name) for layer in table.layers
                              for d in layer.dependencies})
    gate.touch()
    np.testing.assert_allclose(future.result(WAIT), expected)
    browser.save_screenshot(str(tmp_path / "plan.png"))
    assert (tmp_path / "plan.png").stat().st_size > 1000


def test_a_failed_run_shows_failed_with_its_error_and_erred_tasks_per_layer(
        browser, cluster, client, tmp_path):
    data = np.arange(16 * 6.0).reshape(32, 3)
    x = la.from_array(data, chunks=(2, 3))
    bad = 6.0 * 5                                     # block 5 raises
    y = la.map_blocks(fails_on_block, x, dtype=float, bad=bad).sum(axis=0)
    table = lower(optimized([y.layer]))
    (failing,) = [t for t in range(table.n_tasks) if table.task_layer[t] == 0
                  and table.task_block[t] == 5]
    open_page(browser, cluster, "status")
    future = client.compute(y)
    with pytest.raises(ZeroDivisionError, match="block starting at 30.0 is bad"):
        future.result(WAIT)
    rid = max(r["id"] for r in client.diagnostics()["runs"])
    row = f"tr.layer[data-run='{rid}']"
    wait_until(lambda: browser.find_elements("css selector",
                                             f"{row}[data-outcome='failed']"), WAIT)
    assert set(read(browser, row, "td:first-child")) == {f"{rid} (failed)"}
    error = f"tr.error[data-run='{rid}']"
    assert read(browser, error, ".error-type") == ["ZeroDivisionError"]
    assert read(browser, error, ".error-message") == ["block starting at 30.0 is bad"]
    assert "block (5, 0)" in read(browser, error, ".error-where")[0]
    expected = erred_per_layer(table, failing)
    assert cells(browser, row, "erred") == expected and sum(expected) >= 2
    ended = next(r for r in client.diagnostics()["runs"] if r["id"] == rid)
    assert [layer["erred"] for layer in ended["layers"]] == expected
    browser.save_screenshot(str(tmp_path / "failed.png"))


def test_a_cancelled_run_shows_cancelled(browser, cluster, client, tmp_path):
    gate = tmp_path / "go"
    y, _ = slow_sum(10, gate)
    other = connected(cluster)
    other.compute(y)
    open_page(browser, cluster, "status")
    wait_until(lambda: client.scheduler_info()["runs"] == 1, WAIT)
    rid = max(r["id"] for r in client.diagnostics()["runs"])
    other.close()                     # a client that leaves has its runs cancelled
    gate.touch()
    row = f"tr.layer[data-run='{rid}']"
    wait_until(lambda: browser.find_elements("css selector",
                                             f"{row}[data-outcome='cancelled']"), WAIT)
    assert set(read(browser, row, "td:first-child")) == {f"{rid} (cancelled)"}
    assert not browser.find_elements("css selector", f"tr.error[data-run='{rid}']")


MARKUP = '<img src=x onerror="window.pwned=1">'


def plus_one(block):
    return block + 1


plus_one.__name__ = plus_one.__qualname__ = MARKUP     # a label that is markup


def test_labels_with_markup_are_shown_as_text_and_never_run(browser, cluster, client):
    x = la.from_array(np.arange(12.0), chunks=3)
    y = la.map_blocks(plus_one, x, dtype=float).sum()
    assert client.compute(y).result(WAIT) == np.arange(12.0).sum() + 12
    for page in ("", "status", "tasks", "plan"):
        open_page(browser, cluster, page)
        wait_until(lambda: browser.execute_script(
            "return document.querySelector('main').textContent.indexOf(arguments[0]) >= 0;",
            MARKUP), WAIT)
        assert browser.execute_script("return window.pwned === undefined")
        assert not browser.find_elements("css selector", "main img")


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
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('#report-plan-0 g.node')).map("
        " function (g) { return Array.from(g.querySelectorAll('tspan.rule')).map("
        "  function (t) { return t.textContent; }); });")
    made_by = explain(y).rules_per_layer()
    assert shown == [list(made_by[layer.name]) for layer in table.layers] and any(shown)
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 1000
