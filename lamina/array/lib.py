"""The NumPy ``lib`` paths that libraries reach through an array's namespace.

xarray's rolling windows call ``xp.lib.stride_tricks.sliding_window_view``
on the namespace of the array (``lamina.array`` here, since ``Array`` has
``__array_namespace__``).
"""

from __future__ import annotations

from types import SimpleNamespace

from lamina.array.windows import sliding_window_view

stride_tricks = SimpleNamespace(sliding_window_view=sliding_window_view)
