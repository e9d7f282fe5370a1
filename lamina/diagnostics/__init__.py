"""Watching computations: progress bars through tqdm, and an offline HTML report.

    import lamina.diagnostics

    with lamina.diagnostics.progress():
        x.sum().compute()                 # a bar, embedded runner or cluster alike

    with lamina.diagnostics.report("run.html"):
        lamina.compute(x)                 # task stream, timings, memory, the plan

The bars come from ``tqdm.auto``, so a notebook shows its widget and a
terminal a text line.
"""

from typing import Any

from lamina.diagnostics.progress import PassBars, active_progress, progress

__all__ = ["PassBars", "active_progress", "progress", "report"]


def __getattr__(name: str) -> Any:
    # the report (psutil, HTML) is imported on first use: every compute()
    # imports this package for its progress bars, few write a report
    if name == "report":
        from lamina.diagnostics.html_report import report

        globals()["report"] = report
        return report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
