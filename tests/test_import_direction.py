"""The import direction of docs/design.md holds at run time, not only at the top of files.

Each check runs in a fresh interpreter, so ``sys.modules`` shows exactly what
importing (and using) one part of lamina pulled in.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lamina

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))

# part -> the parts of lamina it may load (itself and the package root always)
BELOW_COLLECTIONS = {"tokenize", "layers", "optimizer", "comm", "scheduler", "worker"}
ALLOWED: dict[str, set[str]] = {
    "tokenize": set(),
    "layers": {"tokenize"},
    "comm": set(),
    "optimizer": {"tokenize", "layers"},
    "scheduler": {"tokenize", "layers", "comm"},
    "worker": {"tokenize", "layers", "comm"},
    "diagnostics": {"tokenize", "layers", "comm", "scheduler"},
    "hosting": {"tokenize", "layers", "comm", "scheduler", "worker"},
}
# every import statement of a part, inside functions too (the compute path,
# explain, the client, diagnostics and the command line may import everything)
STATEMENTS_ALLOWED: dict[str, set[str]] = {
    **{part: parts for part, parts in ALLOWED.items() if part != "diagnostics"},
    "array": {"tokenize", "layers", "compute", "random", "interop"},
    "dataframe": {"tokenize", "layers", "compute", "array"},
    "random": {"tokenize", "layers", "compute", "array"},
    "linalg": {"tokenize", "layers", "compute", "array", "random"},
    "testing": {"tokenize", "layers", "optimizer", "compute", "array", "random", "linalg",
                "dataframe"},
}
# what the scheduler process must never hold, whatever it was sent
NEVER_IN_SCHEDULER = ("optimizer", "array", "random", "linalg", "compute", "client", "worker",
                      "testing", "dataframe", "cli", "diagnostics")

WALK = """
import importlib, json, pkgutil, sys
part = sys.argv[1]
module = importlib.import_module("lamina." + part)
if hasattr(module, "__path__"):
    for info in pkgutil.walk_packages(module.__path__, "lamina." + part + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("lamina."))))
"""


def _python(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=120, **kwargs)


def _parts(modules: list[str]) -> set[str]:
    return {m.split(".")[1] for m in modules}


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_a_part_loads_only_what_it_may_import(part):
    out = _python(WALK, part)
    assert out.returncode == 0, out.stderr
    loaded = _parts(json.loads(out.stdout))
    assert loaded <= ALLOWED[part] | {part}, (
        f"importing lamina.{part} loaded {sorted(loaded - ALLOWED[part] - {part})}")


def _imported_parts(path: str) -> set[str]:
    """The parts of lamina that the file's import statements name."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "lamina":
                names += [f"lamina.{a.name}" for a in node.names]
            else:
                names.append(node.module)
    return {n.split(".")[1] for n in names if n.startswith("lamina.")}


@pytest.mark.parametrize("part", sorted(STATEMENTS_ALLOWED))
def test_no_import_statement_points_the_wrong_way(part):
    base = os.path.join(ROOT, "lamina", part)
    paths = [base + ".py"] if os.path.isfile(base + ".py") else [
        os.path.join(folder, name) for folder, _, names in os.walk(base)
        for name in names if name.endswith(".py")]
    assert paths
    allowed = STATEMENTS_ALLOWED[part] | {part}
    wrong = {os.path.relpath(p, ROOT): sorted(_imported_parts(p) - allowed) for p in paths}
    assert {p: w for p, w in wrong.items() if w} == {}


def test_the_package_root_loads_no_collection_until_asked():
    out = _python("import json, sys, lamina; "
                  "print(json.dumps(sorted(m for m in sys.modules if m.startswith('lamina.'))))")
    assert out.returncode == 0, out.stderr
    assert _parts(json.loads(out.stdout)) == set()


SCHEDULER = """
import asyncio, json, sys
from lamina.scheduler.server import Scheduler

def loaded():
    return sorted(m for m in sys.modules if m.startswith("lamina."))

async def main():
    scheduler = Scheduler()
    address = await scheduler.start("tcp://127.0.0.1:0")
    print(json.dumps({"before": loaded(), "address": address}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"after": loaded(), "tasks_done": scheduler.tasks_done}), flush=True)
    await scheduler.stop()

asyncio.run(main())
"""


def test_the_scheduler_process_never_loads_collections_optimizer_or_linalg():
    """Before and after a worker's handshake and a client's array and SVD runs."""
    import lamina.array as la
    import lamina.linalg
    from lamina.client import Client

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    scheduler = subprocess.Popen([sys.executable, "-c", SCHEDULER], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=env)
    worker = None
    try:
        first = json.loads(scheduler.stdout.readline())
        worker = subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", "worker",
                                   first["address"]], env=env, stdout=subprocess.DEVNULL)
        rng = np.random.default_rng(0)
        data = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 20))  # rank 3
        with Client(first["address"]) as client:
            client.wait_for_workers(1)
            x = la.from_array(data, chunks=(7, 9))
            got = (x.map_blocks(lambda b: b * 2) + 1).sum(axis=0).compute()
            np.testing.assert_allclose(got, (data * 2 + 1).sum(axis=0))
            _, s, _ = lamina.linalg.svd_compressed(x, k=3, n_power_iter=1, seed=0)
            np.testing.assert_allclose(np.asarray(s), np.linalg.svd(data)[1][:3], rtol=1e-6)
        scheduler.stdin.write("\n")
        scheduler.stdin.flush()
        second = json.loads(scheduler.stdout.readline())
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.kill()
                proc.wait()
    assert second["tasks_done"] > 0
    for when in ("before", "after"):
        forbidden = sorted(m for m in (first if when == "before" else second)[when]
                           if m.split(".")[1] in NEVER_IN_SCHEDULER)
        assert forbidden == [], f"the scheduler process loaded {forbidden} ({when} the runs)"
