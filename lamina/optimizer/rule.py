"""The rule API: a rule is a small named object that rewrites one node.

A rule looks at one layer (and, through the context, at who reads it) and
returns a replacement with the same chunks and dtype, or ``None``. It never
walks the tree: the engine decides the order, repeats to a fixpoint, shares
work between equal subtrees and records every rewrite. Two equal forms::

    from lamina.optimizer import Rule, rule

    @rule(phase="simplify", on="Transpose")
    def drop_identity_transpose(node, ctx):
        if tuple(node.axes) == tuple(range(node.ndim)):
            return node.x
        return None

    class DropIdentityTranspose(Rule):
        name = "drop_identity_transpose"
        phase = "simplify"
        on = ("Transpose",)

        def apply(self, node, ctx):
            ...

``on`` names the layer types the rule looks at (class names, matched
along the class hierarchy; ``None``: every layer). ``order`` sorts rules
within a phase (smaller first; ties by name). In a bottom-up phase a rule
normally sees the node rebuilt over its rewritten inputs; a rule with
``wants_original = True`` sees the node as it stood, reads the rewritten
inputs with ``ctx.rewritten(dep)``, and so spares the rebuild when it
replaces the node anyway (blockwise fusion does this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from lamina.layers.base import Layer

if TYPE_CHECKING:
    from lamina.optimizer.options import Options
    from lamina.optimizer.trace import Trace


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class Rule:
    """Base class of rules; subclasses set the class attributes and ``apply``."""

    name: str = ""
    phase: str = "simplify"
    on: tuple[str, ...] | None = None
    order: int = 100
    description: str = ""
    wants_original: bool = False

    def apply(self, node: Layer, ctx: "Context") -> Layer | None:
        """Return a replacement for ``node`` (same chunks and dtype) or None."""
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.name:
            cls.name = _snake(cls.__name__)
        if not cls.description:
            cls.description = (cls.__doc__ or "").strip().split("\n")[0]

    def __repr__(self) -> str:
        return f"<rule {self.name} phase={self.phase} order={self.order}>"

    @property
    def types(self) -> frozenset[str] | None:
        """Names of the layer types this rule looks at (None: all)."""
        if self.on is None:
            return None
        on = (self.on,) if isinstance(self.on, (str, type)) else self.on
        return frozenset(t if isinstance(t, str) else t.__name__ for t in on)


class FunctionRule(Rule):
    """A rule made from a function by the ``rule`` decorator."""

    def __init__(self, func: Callable[[Layer, "Context"], Layer | None], name: str,
                 phase: str, on: Any, order: int) -> None:
        self.func = func
        self.name = name
        self.phase = phase
        self.on = on
        self.order = order
        self.description = (func.__doc__ or "").strip().split("\n")[0]
        self.__wrapped__ = func

    def apply(self, node: Layer, ctx: "Context") -> Layer | None:
        return self.func(node, ctx)

    def __call__(self, node: Layer, ctx: "Context") -> Layer | None:
        return self.func(node, ctx)


def rule(name: str | None = None, *, phase: str = "simplify",
         on: str | type | Iterable[str | type] | None = None,
         order: int = 100) -> Callable[[Callable], FunctionRule]:
    """Decorator: turn ``f(node, ctx) -> Layer | None`` into a named rule."""
    def make(func: Callable) -> FunctionRule:
        return FunctionRule(func, name or func.__name__, phase, on, order)
    return make


class Context:
    """What a rule may know besides the node: readers, phase, options.

    ``dependents(layer)`` are the layers that read ``layer`` in the plan the
    current pass started from (a layer made by a rewrite in this pass
    reports those of the layer it replaced); ``is_output`` says whether the
    caller asked for the layer itself.
    """

    def __init__(self, phase: str, options: "Options", trace: "Trace",
                 readers: Callable[[], dict[str, list[Layer]]], outputs: set[str],
                 origin: dict[str, str], rewritten: dict[str, Layer] | None = None,
                 layers: Callable[[], list[Layer]] | None = None) -> None:
        self.phase = phase
        self._layers = layers
        self.options = options
        self.trace = trace
        self._readers = readers
        self._outputs = outputs
        self._origin = origin
        self._rewritten = rewritten if rewritten is not None else {}
        self.rule: Rule | None = None

    def rewritten(self, layer: Layer) -> Layer:
        """The current version of ``layer`` in this pass (itself if not rewritten yet)."""
        return self._rewritten.get(layer.name, layer)

    def _original(self, layer: Layer) -> str:
        name = layer.name
        if name in self._outputs or name in self._readers():
            return name
        return self._origin.get(name, name)

    def plan_layers(self) -> list[Layer]:
        """Every layer of the plan the current pass started from, inputs first (for
        rules that relate distant layers, such as two reads of one dataset)."""
        return list(self._layers()) if self._layers is not None else []

    def dependents(self, layer: Layer) -> tuple[Layer, ...]:
        """Layers that read ``layer``."""
        return tuple(self._readers().get(self._original(layer), ()))

    def is_output(self, layer: Layer) -> bool:
        """Whether ``layer`` is one of the results asked for."""
        return self._original(layer) in self._outputs

    def n_readers(self, layer: Layer) -> int:
        """Dependents, plus one if the caller also wants ``layer`` itself."""
        name = self._original(layer)
        return len(self._readers().get(name, ())) + (name in self._outputs)

    def note(self, node: Layer, message: str) -> None:
        """Record in the trace why the current rule left ``node`` alone."""
        self.trace.note(self.rule.name if self.rule else "?", self.phase, node, message)

    def hint(self, producer: Layer, consumer: Layer, reason: str) -> None:
        """Mark the edge producer -> consumer for speculative dispatch."""
        self.trace.hint(self.rule.name if self.rule else "?", producer, consumer, reason)

