"""The quick scan for an entry-point group agrees with ``importlib.metadata``."""

import importlib
import importlib.machinery
import sys
from importlib import metadata

import pytest

from lamina.optimizer.plugin_scan import group_may_be_declared


def skip_where_a_finder_answers_for_its_distributions() -> None:
    """Checked when the test runs: other tests or an editable install may have added
    a finder of distributions, which the scan leaves to importlib (answering True)."""
    if any(hasattr(f, "find_distributions") and f is not importlib.machinery.PathFinder
           for f in sys.meta_path):
        pytest.skip("a finder of distributions other than PathFinder is on sys.meta_path")


def test_a_foreign_distribution_finder_is_left_to_importlib(monkeypatch):
    class Finder:
        def find_distributions(self, context=None):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    assert group_may_be_declared("lamina.no-such-group-anywhere") is True


def test_a_group_no_distribution_declares_is_not_found():
    skip_where_a_finder_answers_for_its_distributions()
    group = "lamina.no-such-group-anywhere"
    assert not list(metadata.entry_points(group=group))
    assert group_may_be_declared(group) is False


def test_a_group_that_an_installed_distribution_declares_is_found():
    assert list(metadata.entry_points(group="console_scripts"))
    assert group_may_be_declared("console_scripts") is True


def test_a_distribution_added_to_the_path_is_seen(tmp_path, monkeypatch):
    skip_where_a_finder_answers_for_its_distributions()
    dist = tmp_path / "extra_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[lamina.test-scan]\nr = extra_rules:RULES\n")
    assert group_may_be_declared("lamina.test-scan") is False
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert group_may_be_declared("lamina.test-scan") is True
    assert [ep.name for ep in metadata.entry_points(group="lamina.test-scan")] == ["r"]
