"""``check_rule``: prove on random expressions that rules keep results equal.

    from lamina.testing import check_rule
    report = check_rule(my_rule)            # raises AssertionError with a
    report.fired                            # shrunk failing expression

For each expression the rules (and only they) are run through the engine,
then the harness checks that

* the plan is whole: every layer's ``block_deps`` gives one table per
  dependency, with block ids inside the dependency's grid;
* shape, dtype and chunks of the result are unchanged;
* values equal the unoptimized plan's (bit for bit unless ``exact=False``:
  same dtype, same shape, same bytes; see ``bit_equal``) and NumPy's (to a
  tolerance for the dtype);
* hints name edges of the plan;
* running the rules again changes nothing (``once`` phases are
  idempotent, ``fixpoint`` phases reached their fixpoint).

A rule that never fires on the expressions proves nothing, so by default
``check_rule`` fails unless the rules fired at least once; pass
``expressions=`` a strategy that builds the pattern the rule looks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.layers.base import Layer
from lamina.layers.walk import topological
from lamina.optimizer.engine import run_phases
from lamina.optimizer.options import Options
from lamina.optimizer.rule import Rule
from lamina.testing.strategies import Expression, array_expressions, raw_compute


@dataclass
class CheckReport:
    """How many expressions were checked and how often the rules fired."""

    rules: list[str]
    examples: int = 0
    fired: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def check_plan(roots: Sequence[Layer]) -> None:
    """Assert that every layer of a plan answers ``block_deps`` consistently."""
    for layer in topological(roots):
        deps = layer.dependencies
        if not deps or layer.nblocks == 0:
            continue
        csrs = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))
        assert len(csrs) == len(deps), (
            f"{layer.label()}.block_deps gave {len(csrs)} tables for {len(deps)} dependencies")
        for dep, (indptr, flat) in zip(deps, csrs):
            assert len(indptr) == layer.nblocks + 1 and indptr[-1] == len(flat), (
                f"{layer.label()}.block_deps gave a malformed table for {dep.label()}")
            assert np.all((flat >= 0) & (flat < dep.nblocks)), (
                f"{layer.label()} reads blocks outside the grid of {dep.label()}")


def bit_equal(a: Any, b: Any) -> bool:
    """Whether two results are equal bit for bit, NaNs aside.

    Dtype, shape and every bit must agree, so ``-0.0`` differs from ``0.0``
    (``x + 0 -> x`` is not a valid rule for floats) and ``inf`` from
    ``nan``. NaNs are the one allowance: any NaN equals any NaN, whatever
    its sign and payload, because IEEE 754 leaves the NaN an operation
    returns to the hardware (``a + b`` and ``b + a`` may return different
    NaNs of two NaN operands), so a rule that merely reorders commutative
    arguments must not fail for it.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "c":
        return bit_equal(a.real, b.real) and bit_equal(a.imag, b.imag)
    if a.dtype.kind != "f":
        return a.tobytes() == b.tobytes()
    bits = np.dtype(f"u{a.dtype.itemsize}")
    same = np.ascontiguousarray(a).view(bits) == np.ascontiguousarray(b).view(bits)
    return bool(np.all(same | (np.isnan(a) & np.isnan(b))))


def _tolerance(dtype: np.dtype) -> dict[str, float]:
    if dtype in (np.float16, np.float32, np.complex64):
        return {"rtol": 1e-4, "atol": 1e-5}
    return {"rtol": 1e-9, "atol": 1e-12}


def check_expression(rules: Sequence[Rule], expr: Expression, exact: bool = True,
                     options: Options | None = None, report: CheckReport | None = None) -> None:
    """Run ``rules`` on one expression and assert everything ``check_rule`` promises."""
    opts = options or Options()
    before = expr.array.layer
    roots, trace = run_phases([before], rules, opts)
    after = roots[0]
    check_plan(roots)
    assert after.chunks == before.chunks, f"chunks changed: {before.chunks} -> {after.chunks}"
    assert after.dtype == before.dtype, f"dtype changed: {before.dtype} -> {after.dtype}"
    from lamina.array.core import Array

    got, base = raw_compute(Array(after)), raw_compute(expr.array)
    assert np.shape(got) == np.shape(base) == np.shape(expr.expected), (
        f"shapes differ: optimized {np.shape(got)}, unoptimized {np.shape(base)}, "
        f"NumPy {np.shape(expr.expected)}")
    if exact:
        assert bit_equal(got, base), (
            f"optimized values differ from unoptimized ones (bit for bit):\n{got!r}\n!=\n{base!r}")
    else:
        np.testing.assert_allclose(got, base, **_tolerance(np.asarray(got).dtype))
    np.testing.assert_allclose(got, expr.expected, equal_nan=True,
                               **_tolerance(np.asarray(got).dtype))
    names = {layer.name: layer for layer in topological(roots)}
    for hint in trace.hints:
        assert hint.consumer in names and any(
            d.name == hint.producer for d in names[hint.consumer].dependencies), (
            f"hint {hint.producer} -> {hint.consumer} is not an edge of the plan")
    again, _ = run_phases(roots, rules, opts)
    assert again[0].name == after.name, (
        f"not idempotent: a second run rewrote {after.label()} into {again[0].label()}")
    if report is not None:
        report.examples += 1
        report.fired += len(trace.rewrites) + len(trace.hints)
        for step in [*trace.rewrites, *trace.hints]:
            report.by_rule[step.rule] = report.by_rule.get(step.rule, 0) + 1


def check_rule(rules: Rule | Iterable[Rule], *, max_examples: int = 30,
               expressions: st.SearchStrategy[Expression] | None = None, exact: bool = True,
               min_fired: int = 1, options: Options | None = None,
               derandomize: bool = True) -> CheckReport:
    """Check ``rules`` (one or several) on random expressions; see the module docstring.

    ``derandomize`` makes the examples the same on every run (for CI);
    ``exact=False`` allows rules that reorder floating-point arithmetic.
    """
    chosen = [rules] if isinstance(rules, Rule) else list(rules)
    report = CheckReport([r.name for r in chosen])
    strategy = expressions if expressions is not None else array_expressions()

    @settings(max_examples=max_examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(strategy)
    def prove(expr: Any) -> None:
        check_expression(chosen, expr, exact, options, report)

    prove()
    if report.fired < min_fired:
        raise AssertionError(
            f"rules {report.rules} fired {report.fired} times on {report.examples} expressions "
            f"(wanted at least {min_fired}): give expressions= a strategy that builds what "
            "they rewrite")
    return report
