"""The trusted-layer registry: built-in types register where they are defined.

A scheduler rebuilds trusted layers from their params after importing only
``lamina.layers``, so every built-in layer type must live there and be
registered by its definition, and the scheduler and worker processes must
not load the optimizer, the collections or the linear-algebra algorithms.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import lamina.layers
from lamina.layers import registry
from lamina.layers.base import Layer, one_to_one
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.sources import FrameSource
from lamina.layers.registry import (
    Lowered,
    is_trusted,
    register,
    signature,
    trust_of,
    trusted,
    trusted_class,
)

# the scheduler's stand-in for a lowered layer, and the abstract bases of frame layers
NOT_TRUSTED = {Lowered, FrameLayer, FrameSource}


def _layer_classes_of_lamina_layers() -> set[type]:
    for info in pkgutil.walk_packages(lamina.layers.__path__, "lamina.layers."):
        importlib.import_module(info.name)
    out, stack = set(), [Layer]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("lamina.layers.") and "_meta" in _defined(cls):
            out.add(cls)
    return out


def _defined(cls: type) -> set[str]:
    """Names defined by ``cls`` or its bases below ``Layer``."""
    return {name for c in cls.__mro__ if c is not Layer and issubclass(c, Layer)
            for name in vars(c)}


def test_every_concrete_layer_type_in_lamina_layers_is_trusted_or_deliberately_not():
    classes = _layer_classes_of_lamina_layers()
    assert len(classes) > 40
    missing = sorted(c.__name__ for c in classes if not is_trusted(c) and c not in NOT_TRUSTED)
    assert not missing, f"decorate {missing} with @trusted(version=1)"
    assert not any(is_trusted(c) for c in NOT_TRUSTED)


def test_every_registered_built_in_type_is_defined_in_lamina_layers():
    for name in signature():
        assert trusted_class(name).__module__.startswith("lamina.layers."), name


@pytest.fixture
def fresh_registry(monkeypatch):
    """Registrations made by a test are forgotten after it."""
    signature()
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))


def _doubling_type(version: int) -> type:
    @trusted(version=version)
    class DoubleBlocks(Layer):
        """Third-party layer: each block of ``x`` doubled."""

        _parameters = ("x",)

        def _meta(self):
            return self.x.chunks, self.x.dtype

        def block_deps(self, out_blocks):
            return [one_to_one(out_blocks)]

        def kernel(self):
            return lambda block, inputs: inputs[0] * 2

    return DoubleBlocks


def test_a_third_party_type_registers_by_decorator(fresh_registry):
    cls = _doubling_type(version=3)
    assert trusted_class("DoubleBlocks") is cls
    assert is_trusted(cls)
    assert signature()["DoubleBlocks"] == (3, ("x",))


def test_register_trusts_a_type_defined_without_the_decorator(fresh_registry):
    class Plain(Layer):
        _parameters = ("x",)

    assert not is_trusted(Plain)
    register(Plain, version=2)
    assert is_trusted(Plain) and signature()["Plain"] == (2, ("x",))


def test_peers_trust_a_type_only_when_their_entries_agree(fresh_registry):
    from lamina.layers.sources import FromArray

    cls = _doubling_type(version=1)
    source = FromArray(np.ones(4), ((2, 2),))
    layer = cls(source)
    remote = dict(signature())
    assert trust_of(remote)(layer)
    remote["DoubleBlocks"] = (2, ("x",))
    assert not trust_of(remote)(layer)
    assert trust_of(remote)(source)


def test_a_namesake_from_another_module_is_refused(fresh_registry):
    namesake = type("Blockwise", (Layer,), {"__module__": "elsewhere", "_parameters": ()})
    with pytest.raises(ValueError, match="already registered"):
        register(namesake)


def test_only_layer_classes_can_be_trusted():
    with pytest.raises(TypeError, match="Layer subclasses"):
        register(int)


FORBIDDEN = ("lamina.optimizer", "lamina.array", "lamina.random", "lamina.linalg",
             "lamina.compute", "lamina.client")


@pytest.mark.parametrize("module", ["lamina.scheduler.server", "lamina.worker.worker",
                                    "lamina.layers", "lamina.layers.registry"])
def test_scheduler_side_imports_know_every_type_without_collections_or_optimizer(module):
    script = (f"import json, sys, {module}\n"
              "from lamina.layers.registry import signature\n"
              "names = sorted(signature())\n"
              "loaded = sorted(m for m in sys.modules if m.startswith('lamina'))\n"
              "print(json.dumps([names, loaded]))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    names, loaded = json.loads(out.strip().splitlines()[-1])
    assert names == sorted(signature())
    wrong = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert not wrong, f"{module} loads {wrong}"
