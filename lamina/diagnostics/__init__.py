"""Watching computations: progress bars through tqdm, and an offline HTML report.

    import lamina.diagnostics

    with lamina.diagnostics.progress():
        x.sum().compute()                 # a bar, embedded runner or cluster alike

    with lamina.diagnostics.report("run.html"):
        lamina.compute(x)                 # task stream, timings, memory, the plan

The bars come from ``tqdm.auto``, so a notebook shows its widget and a
terminal a text line.
"""

from lamina.diagnostics.progress import PassBars, active_progress, progress
from lamina.diagnostics.report import report

__all__ = ["PassBars", "active_progress", "progress", "report"]
