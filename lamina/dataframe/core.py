"""``DataFrame``, ``Series``, ``Index`` and ``Scalar``: thin handles on a frame layer.

Each holds one frame layer (``lamina.layers.frame``) and nothing else;
every method builds a new layer, checked against the layer's ``meta`` (an
empty pandas object) so that a bad column or an unsupported operation fails
at once, with pandas' exception. ``compute()`` returns pandas::

    import lamina.dataframe as ld
    df = ld.from_pandas(pdf, npartitions=4)
    df[df.x > 0].y.sum().compute()
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import pandas as pd

from lamina.layers.frame.base import FrameLayer, is_pandas
from lamina.layers.frame.partitionwise import MapPartitions


class Frame:
    """What DataFrame, Series, Index and Scalar share: a layer and computing it."""

    __slots__ = ("layer",)

    def __init__(self, layer: FrameLayer) -> None:
        if not isinstance(layer, FrameLayer):
            raise TypeError(f"{type(self).__name__} wraps a frame layer, got "
                            f"{type(layer).__name__}")
        self.layer = layer

    @property
    def _meta(self) -> Any:
        return self.layer.meta

    @property
    def npartitions(self) -> int:
        return self.layer.npartitions

    @property
    def divisions(self) -> tuple:
        return self.layer.divisions

    @property
    def known_divisions(self) -> bool:
        return all(d is not None for d in self.divisions)

    def compute(self, **kwargs: Any) -> Any:
        """The pandas object (or value) this expression stands for."""
        from lamina.compute import compute

        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> Any:
        """The same frame with its partitions computed and kept (on the cluster of an
        enclosing ``with client:``, else here): divisions and meta stay as they were."""
        from lamina.compute import persist

        return persist(self, **kwargs)[0]

    def __repr__(self) -> str:
        return (f"lamina.{type(self).__name__}<{self.layer.label()}, "
                f"npartitions={self.npartitions}>")

    def __bool__(self) -> bool:
        raise TypeError(f"the truth value of a lazy {type(self).__name__} is not known: "
                        "call .compute() first")

    # partition-wise building block ----------------------------------------------
    def map_partitions(self, func: Callable, *args: Any, meta: Any = None,
                       **kwargs: Any) -> Any:
        """``func(partition, *args, **kwargs)`` on every partition.

        Frame arguments are aligned partition by partition; ``meta`` (an
        empty pandas object or a sample value) says what ``func`` returns
        when running it on empty partitions cannot.
        """
        return partitionwise(func, self, *args, meta=meta, **kwargs)


def _unwrap_meta(value: Any) -> Any:
    if isinstance(value, Scalar):
        return value._meta
    return value._meta if isinstance(value, Frame) else value


def partitionwise(func: Callable, *args: Any, meta: Any = None, fname: str | None = None,
                  keep_divisions: bool = True, **kwargs: Any) -> Any:
    """A new collection from ``func`` applied partition by partition to ``args``.

    Scalars (reduction results) are read whole by every partition; frames
    must have the same partitions (same count and divisions).
    """
    frames = [a for a in args if isinstance(a, Frame) and not isinstance(a, Scalar)]
    if meta is None:
        meta = func(*[_unwrap_meta(a) for a in args], **kwargs)
    check_aligned(frames)
    layers = tuple(a.layer if isinstance(a, Frame) else a for a in args)
    deps = [a for a in args if isinstance(a, Frame)]
    broadcast = tuple(k for k, a in enumerate(deps) if isinstance(a, Scalar))
    divisions = frames[0].divisions if frames and keep_divisions else None
    layer = MapPartitions(func, layers, tuple(sorted(kwargs.items())), meta,
                          divisions or (None,) * ((frames[0].npartitions if frames else 1) + 1),
                          broadcast, fname)
    return wrap(layer)


def check_aligned(frames: list) -> None:
    """Raise ValueError unless frames have the same partitions."""
    if len(frames) < 2:
        return
    first = frames[0]
    for other in frames[1:]:
        if other.npartitions != first.npartitions or other.divisions != first.divisions:
            raise ValueError(
                f"frames are not aligned: {first.npartitions} partitions with divisions "
                f"{_short(first.divisions)} and {other.npartitions} with "
                f"{_short(other.divisions)}; repartition one like the other "
                "(other.repartition(npartitions=...)) or set_index on both")


def _short(divisions: tuple) -> str:
    text = repr(divisions)
    return text if len(text) < 50 else text[:47] + "..."


def wrap(layer: FrameLayer) -> Any:
    """The collection type for a layer's meta."""
    meta = layer.meta
    if isinstance(meta, pd.DataFrame):
        from lamina.dataframe.frame import DataFrame

        return DataFrame(layer)
    if isinstance(meta, pd.Series):
        from lamina.dataframe.series import Series

        return Series(layer)
    if isinstance(meta, pd.Index):
        return Index(layer)
    return Scalar(layer)


class Index(Frame):
    """The index of a DataFrame or Series, partition by partition."""

    __slots__ = ()

    @property
    def dtype(self) -> Any:
        return self._meta.dtype

    @property
    def name(self) -> Any:
        return self._meta.name


class Scalar(Frame):
    """One value computed from a frame (a reduction), usable in frame arithmetic."""

    __slots__ = ()

    def _binary(self, other: Any, op: Callable, reflect: bool = False) -> Any:
        args = (other, self) if reflect else (self, other)
        return partitionwise(op, *args, fname=op.__name__)


def _binary_method(op: Callable, reflect: bool = False) -> Callable:
    def method(self: Any, other: Any) -> Any:
        return self._binary(other, op, reflect)

    method.__name__ = f"__{'r' if reflect else ''}{op.__name__.strip('_')}__"
    return method


ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "truediv": operator.truediv, "floordiv": operator.floordiv,
              "mod": operator.mod, "pow": operator.pow}
COMPARISONS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
               "gt": operator.gt, "ge": operator.ge}
LOGICAL = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}


def add_operators(cls: type) -> type:
    """Give ``cls`` the arithmetic, comparison and logical operators via ``_binary``."""
    for name, op in {**ARITHMETIC, **LOGICAL}.items():
        setattr(cls, f"__{name}__", _binary_method(op))
        setattr(cls, f"__r{name}__", _binary_method(op, reflect=True))
    for name, op in COMPARISONS.items():
        setattr(cls, f"__{name}__", _binary_method(op))
    cls.__hash__ = None  # == builds an expression, so instances are not hashable
    return cls


add_operators(Scalar)
add_operators(Index)


def is_collection(value: Any) -> bool:
    return isinstance(value, Frame) or is_pandas(value)
