"""Algebra of ``BasicSlice`` indices, shared by the slice and cull rules.

An index has one entry per input axis, plus ``None`` for new axes: an
``int`` (a position; drops the axis), a ``(start, stop, step)`` triple
with Python ``range`` semantics (keeps the axis), or ``None``::

    compose(((0, 100, 1), (0, 50, 1)), (5, (10, 20, 1)))  # x[:100][5, 10:20]
    # -> (5, (10, 20, 1))                                  # == x[5, 10:20]
"""

from __future__ import annotations

from typing import Any, Sequence

Index = tuple


def out_entries(index: Index) -> list[Any]:
    """The entries that make an output axis (triples and None), in order."""
    return [e for e in index if not isinstance(e, int)]


def is_identity(index: Index, shape: Sequence[int]) -> bool:
    """Whether ``x[index]`` is ``x`` itself."""
    return len(index) == len(shape) and all(
        isinstance(e, tuple) and e == (0, n, 1) for e, n in zip(index, shape))


def is_expand_only(index: Index, shape: Sequence[int]) -> bool:
    """Whether the index only inserts new axes (all others kept whole)."""
    axes = [e for e in index if e is not None]
    return all(isinstance(e, tuple) and e == (0, n, 1) for e, n in zip(axes, shape))


def entries_by_axis(index: Index) -> list[Any]:
    """The entries of the input axes (``None`` entries left out)."""
    return [e for e in index if e is not None]


def compose(inner: Index, outer: Index) -> Index | None:
    """The index of ``x[inner][outer]`` on ``x``, or None if it has no such form.

    (Selecting nothing from a new axis, ``x[None][1:]``, has no basic index.)
    """
    out: list[Any] = []
    pending = list(inner)
    pos = 0
    for entry in outer:
        if entry is None:
            out.append(None)
            continue
        while isinstance(pending[pos], int):
            out.append(pending[pos])
            pos += 1
        axis = pending[pos]
        pos += 1
        if axis is None:
            if isinstance(entry, tuple):
                if len(range(*entry)) != 1:
                    return None
                out.append(None)
            continue
        r = range(*axis)
        if isinstance(entry, int):
            out.append(r[entry])
        else:
            s = range(*entry)
            out.append(tight(range(r.start + r.step * s.start, r.start + r.step * s.stop,
                                   r.step * s.step)))
    out.extend(pending[pos:])
    return tuple(out)


def tight(r: range) -> tuple[int, int, int]:
    """The triple of ``r`` with the stop right after its last element (-1 when a
    negative step runs down to 0), so equal selections give equal triples."""
    if len(r) == 0:
        return (r.start, r.start, r.step) if r.start >= 0 else (0, 0, r.step)
    stop = r.start + len(r) * r.step
    return (r.start, stop if stop >= 0 else -1, r.step)


def to_python(entry: Any) -> Any:
    """A NumPy-style index entry (int, slice or None) for one normalized entry."""
    if not isinstance(entry, tuple):
        return entry
    r = range(*entry)
    if len(r) == 0:
        return slice(0, 0, 1)
    stop = r[-1] + (1 if r.step > 0 else -1)
    return slice(r[0], stop if stop >= 0 else None, r.step)
