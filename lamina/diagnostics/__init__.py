"""Seeing what a computation did: ``report`` writes a self-contained HTML file.

    with lamina.diagnostics.report("run.html"):
        lamina.compute(x)
"""

from lamina.diagnostics.report import report

__all__ = ["report"]
