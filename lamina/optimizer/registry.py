"""Phases and the rules registered into them, built-in and third-party.

The default pipeline runs four phases in order::

    simplify   fixpoint, top-down   slice fusion and pushdown, no-op removal, CSE
    fuse       once, bottom-up      blockwise fusion
    canonical  once, bottom-up      commutative arguments sorted again after fusion
    hints      once, bottom-up      speculative-dispatch hints

A package adds rules by naming them (a ``Rule``, a list of rules, or a
function returning either) under the ``lamina.rules`` entry-point group::

    [project.entry-points."lamina.rules"]
    my_rules = "my_package.rules:RULES"

or at run time with ``register(rule)``; ``register_phase`` adds a phase.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Iterable

from lamina.optimizer.plugin_scan import group_may_be_declared
from lamina.optimizer.rule import Rule

ENTRY_POINT_GROUP = "lamina.rules"


@dataclass(frozen=True)
class Phase:
    """A batch of rules: run ``once`` or to a ``fixpoint``, walking ``down`` or ``up``."""

    name: str
    strategy: str = "fixpoint"
    direction: str = "down"
    order: int = 100

    def __post_init__(self) -> None:
        if self.strategy not in ("once", "fixpoint"):
            raise ValueError(f"phase strategy {self.strategy!r} is not 'once' or 'fixpoint'")
        if self.direction not in ("down", "up"):
            raise ValueError(f"phase direction {self.direction!r} is not 'down' or 'up'")


_PHASES: dict[str, Phase] = {}
_RULES: dict[str, Rule] = {}
_PLUGINS: dict[str, Rule] = {}
_PLUGINS_LOADED = False
_LOCK = threading.Lock()


def register_phase(phase: Phase) -> Phase:
    """Add (or replace) a phase."""
    _PHASES[phase.name] = phase
    return phase


def register(*rules: Rule, replace: bool = False) -> None:
    """Add rules to the registry; a name may be taken only once unless ``replace``."""
    for r in _flatten(rules):
        _check(r)
        if r.name in _RULES and _RULES[r.name] is not r and not replace:
            raise ValueError(f"a rule named {r.name!r} is already registered: pick another "
                             "name or pass replace=True")
        _RULES[r.name] = r


def unregister(name: str) -> None:
    """Remove a rule registered at run time (plugins: switch them off by name)."""
    _RULES.pop(name, None)


def phases() -> list[Phase]:
    """Phases in the order they run."""
    return sorted(_PHASES.values(), key=lambda p: (p.order, p.name))


def all_rules(plugins: bool = True) -> list[Rule]:
    """Every registered rule, plugin rules included when ``plugins``."""
    import lamina.optimizer.rules  # noqa: F401  (registers the built-in rules)

    found = dict(_RULES)
    if plugins:
        for name, r in load_plugins().items():
            found.setdefault(name, r)
    return sorted(found.values(), key=lambda r: (r.order, r.name))


def get_rule(name: str) -> Rule:
    """The registered rule called ``name``."""
    for r in all_rules():
        if r.name == name:
            return r
    raise KeyError(f"no rule named {name!r}: registered are {[r.name for r in all_rules()]}")


def load_plugins(reload: bool = False) -> dict[str, Rule]:
    """Rules named by the ``lamina.rules`` entry points, loaded once.

    A plugin that fails to load is skipped with a warning naming it, so a
    broken package never stops a computation.
    """
    global _PLUGINS_LOADED
    with _LOCK:
        if _PLUGINS_LOADED and not reload:
            return _PLUGINS
        _PLUGINS.clear()
        declared = group_may_be_declared(ENTRY_POINT_GROUP)
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if declared else ():
            try:
                loaded = ep.load()
                if callable(loaded) and not isinstance(loaded, Rule):
                    loaded = loaded()
                for r in _flatten([loaded]):
                    _check(r)
                    _PLUGINS[r.name] = r
            except Exception as exc:
                warnings.warn(f"lamina rule plugin {ep.name!r} ({ep.value}) was not loaded: "
                              f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
        _PLUGINS_LOADED = True
        return _PLUGINS


def _flatten(items: Iterable[Any]) -> list[Rule]:
    out: list[Rule] = []
    for item in items:
        if isinstance(item, Rule):
            out.append(item)
        elif isinstance(item, type) and issubclass(item, Rule):
            out.append(item())
        elif isinstance(item, (list, tuple)):
            out.extend(_flatten(item))
        else:
            raise TypeError(f"{item!r} is not a lamina rule: make it with @rule or subclass Rule")
    return out


def _check(r: Rule) -> None:
    if not r.name:
        raise ValueError(f"rule {r!r} has no name")
    if r.phase not in _PHASES:
        raise ValueError(f"rule {r.name!r} names phase {r.phase!r}, which does not exist: "
                         f"use one of {[p.name for p in phases()]} or register_phase it")


register_phase(Phase("simplify", "fixpoint", "down", order=100))
register_phase(Phase("fuse", "once", "up", order=200))
register_phase(Phase("canonical", "once", "up", order=250))
register_phase(Phase("hints", "once", "up", order=300))
