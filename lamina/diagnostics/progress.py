"""Progress bars for computations, drawn by tqdm.

``progress()`` is a context: every computation started inside it (through
``lamina.compute.run``, the one path of the embedded runner and of a
cluster client) gets a bar. Outside one, nothing is asked for: the runner
calls no callback and a cluster's scheduler sends no progress messages.

Updates arrive once per task batch (embedded runner) or at most ten times a
second (cluster); a bar redraws at most every ``mininterval`` seconds, so
the cost per task is nil and per update a comparison.

``PassBars`` is the labelled form the multi-pass algorithms take
(``progress(label, done, total)``): one bar per pass, as ``lamina svd``
draws them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator, TextIO

_ACTIVE: list["_Settings"] = []


class _Settings:
    """What a ``progress()`` block asked for."""

    def __init__(self, file: TextIO | None, mininterval: float, tqdm_kwargs: dict) -> None:
        self.file, self.mininterval, self.tqdm_kwargs = file, mininterval, tqdm_kwargs
        self.count = 0

    def bar(self, label: str | None = None) -> "Bar":
        self.count += 1
        return Bar(label or f"compute {self.count}", self.file, self.mininterval,
                   self.tqdm_kwargs)


class Bar:
    """One computation's bar; call it with ``(done, total)``, from any thread.

    The tqdm bar opens on the first call (so a computation that fails before
    any task finishes draws nothing) and closes when ``done == total``.
    """

    def __init__(self, label: str, file: TextIO | None = None, mininterval: float = 0.1,
                 tqdm_kwargs: dict | None = None) -> None:
        self.label, self.file, self.mininterval = label, file, mininterval
        self.tqdm_kwargs = tqdm_kwargs or {}
        self.lock = threading.Lock()
        self.tqdm: Any = None
        self.last = 0.0
        self.closed = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.mininterval:
            return
        with self.lock:
            if self.closed:
                return
            self.last = now
            if self.tqdm is None:
                self.tqdm = _new_tqdm(self.label, total, self.file, self.tqdm_kwargs)
            self.tqdm.total = total
            self.tqdm.n = done
            self.tqdm.refresh()
            if done >= total:
                self._close()

    def _close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()
            self.tqdm = None
        self.closed = True

    def close(self) -> None:
        """Close the bar where it stands (a computation that stopped early)."""
        with self.lock:
            self._close()


def _new_tqdm(label: str, total: int, file: TextIO | None, kwargs: dict) -> Any:
    if file is None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm  # a given stream is a text stream, never a widget
    return tqdm(total=total, desc=label, unit="task", file=file, leave=True,
                dynamic_ncols=file is None, **kwargs)


@contextlib.contextmanager
def progress(file: TextIO | None = None, mininterval: float = 0.1,
             **tqdm_kwargs: Any) -> Iterator[None]:
    """Draw a tqdm bar for each computation started inside this block.

    ``file``: the stream to draw on (default: tqdm's, stderr or the
    notebook's widget). Further keywords go to ``tqdm`` (``colour``,
    ``ncols``, ...). Covers ``compute``, ``persist``, ``compute_blocks``,
    ``.compute()`` and ``Client.compute``, on the embedded runner and on a
    cluster; an ``on_progress`` given explicitly takes precedence.
    """
    settings = _Settings(file, mininterval, tqdm_kwargs)
    _ACTIVE.append(settings)
    try:
        yield
    finally:
        _ACTIVE.remove(settings)


def active_progress(label: str | None = None) -> Callable[[int, int], None] | None:
    """A fresh bar of the innermost ``progress()`` block, or None outside one."""
    return _ACTIVE[-1].bar(label) if _ACTIVE else None


class PassBars:
    """``(label, done, total)`` progress: one bar per label, the last one closed when
    the next label starts (or at ``close``). What ``lamina svd`` draws per pass."""

    def __init__(self, file: TextIO | None = None, mininterval: float = 0.1) -> None:
        self.file, self.mininterval = file, mininterval
        self.lock = threading.Lock()
        self.bar: Bar | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        with self.lock:
            if self.bar is None or self.bar.label != label:
                if self.bar is not None:
                    self.bar.close()
                self.bar = Bar(label, self.file, self.mininterval)
            bar = self.bar
        bar(done, total)

    def close(self) -> None:
        with self.lock:
            if self.bar is not None:
                self.bar.close()
            self.bar = None
