"""A third-party rule package, loaded through its ``lamina.rules`` entry point.

The example package in ``tests/plugin_example`` is made visible the way an
installed distribution is: a ``*.dist-info`` folder whose
``entry_points.txt`` is written from the package's own ``pyproject.toml``,
on ``sys.path`` beside the package source. Nothing is installed into the
environment, so the tests run from a fresh clone, offline.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib

import lamina.array as la
import lamina.optimizer as lo
from lamina.testing import array_expressions, check_rule, raw_compute

PROJECT = Path(__file__).parent / "plugin_example"


def write_dist_info(project: Path, where: Path) -> None:
    """What ``pip install`` records for ``project``: METADATA and entry points."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    dist = where / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    lines = []
    for group, entries in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def example_plugin(tmp_path, monkeypatch):
    write_dist_info(PROJECT, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PROJECT))
    importlib.invalidate_caches()
    lo.load_plugins(reload=True)
    yield lo.get_rule("double_negation")
    monkeypatch.undo()
    sys.modules.pop("lamina_double_negation", None)
    importlib.invalidate_caches()
    lo.load_plugins(reload=True)


def test_the_entry_point_registers_the_rule(example_plugin):
    assert example_plugin.phase == "simplify"
    assert "double_negation" in {r.name for r in lo.all_rules()}
    assert "double_negation" not in {r.name for r in lo.all_rules(plugins=False)}


def test_the_plugin_rule_runs_in_every_optimization(example_plugin):
    x = la.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
    (y,) = lo.optimize(-(-x) + 1, disabled_rules={"blockwise_fusion"})
    assert y.layer == (x + 1).layer
    np.testing.assert_array_equal(raw_compute(y), np.arange(12.0).reshape(3, 4) + 1)


def test_the_plugin_rule_can_be_switched_off_by_name(example_plugin):
    x = la.from_array(np.arange(4.0), chunks=2)
    with lo.set_options(disabled_rules={"double_negation", "blockwise_fusion"}):
        (y,) = lo.optimize(-(-x))
    assert y.layer == (-(-x)).layer


def test_the_plugin_rule_passes_check_rule(example_plugin):
    negations = array_expressions(ops=("unary", "binary", "slice"),
                                  finish=("unary:negative", "unary:negative"))
    report = check_rule(example_plugin, max_examples=25, expressions=negations)
    assert report.by_rule["double_negation"] >= 25


def test_without_the_package_the_rule_is_gone(example_plugin, monkeypatch):
    monkeypatch.undo()
    sys.modules.pop("lamina_double_negation", None)
    importlib.invalidate_caches()
    assert "double_negation" not in lo.load_plugins(reload=True)
