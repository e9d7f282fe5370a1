"""Watching computations: progress bars through tqdm.

    import lamina.diagnostics

    with lamina.diagnostics.progress():
        x.sum().compute()                 # a bar, embedded runner or cluster alike

The bars come from ``tqdm.auto``, so a notebook shows its widget and a
terminal a text line.
"""

from lamina.diagnostics.progress import PassBars, active_progress, progress

__all__ = ["PassBars", "active_progress", "progress"]
