"""``check_frame_rule``: prove on random frames that dataframe rules keep results equal.

    from lamina.testing.frame_check import check_frame_rule
    check_frame_rule(my_rule, queries)     # queries: a strategy of FrameQuery

Each example is a lazy query and pandas' answer. The rules (and only they)
run through the engine; the harness checks that the plan is whole, that
the partitions are unchanged, that the optimized result equals the
unoptimized one and pandas', and that running the rules again changes
nothing. A rule that never fires fails the check, as in ``check_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.dataframe.core import wrap
from lamina.optimizer.engine import run_phases
from lamina.optimizer.options import Options
from lamina.optimizer.rule import Rule
from lamina.testing.check import CheckReport, check_plan


@dataclass(frozen=True)
class FrameQuery:
    """A lazy frame and the pandas object it must compute to."""

    frame: Any
    expected: Any


def assert_same(got: Any, want: Any) -> None:
    """Equal pandas objects (index type equivalence allowed) or equal values."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    else:
        assert got == want or (pd.isna(got) and pd.isna(want)), (got, want)


def check_frame_query(rules: list[Rule], query: FrameQuery,
                      report: CheckReport | None = None) -> None:
    """Run ``rules`` on one query and assert what ``check_frame_rule`` promises."""
    before = query.frame.layer
    roots, trace = run_phases([before], rules, Options())
    after = roots[0]
    check_plan(roots)
    assert after.npartitions == before.npartitions, (
        f"partitions changed: {before.npartitions} -> {after.npartitions}")
    optimized = wrap(after).compute(optimize_graph=False)
    plain = query.frame.compute(optimize_graph=False)
    assert_same(optimized, plain)
    assert_same(optimized, query.expected)
    again, _ = run_phases(roots, rules, Options())
    assert again[0].name == after.name, "not idempotent: a second run rewrote the plan"
    if report is not None:
        report.examples += 1
        report.fired += len(trace.rewrites)
        for step in trace.rewrites:
            report.by_rule[step.rule] = report.by_rule.get(step.rule, 0) + 1


def check_frame_rule(rules: Rule | Iterable[Rule], queries: st.SearchStrategy[FrameQuery],
                     max_examples: int = 20, min_fired: int = 1) -> CheckReport:
    """Check dataframe ``rules`` on random queries; see the module docstring."""
    chosen = [rules] if isinstance(rules, Rule) else list(rules)
    report = CheckReport([r.name for r in chosen])

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(queries)
    def prove(query: FrameQuery) -> None:
        check_frame_query(chosen, query, report)

    prove()
    if report.fired < min_fired:
        raise AssertionError(f"rules {report.rules} fired {report.fired} times on "
                             f"{report.examples} queries (wanted at least {min_fired})")
    return report
