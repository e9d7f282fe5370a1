"""One path from expression to result: the embedded runner and a cluster run the
same optimized plan.

Every computation goes through ``lamina.compute.run``, which optimizes once
(``lamina.compute.optimized``) and hands the plan to the embedded runner or
to a client. Here the plan each runner receives is recorded: for the same
expression it is the same list of layers, whether it came from
``lamina.compute``/``persist``/``compute_blocks`` (embedded or inside
``with client:``) or from the ``Client`` methods, with the optimizer on,
off by keyword, or off by setting. Results equal NumPy.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from distributed_support import WAIT

import lamina
import lamina.array as la
import lamina.optimizer as lo
from lamina.array.core import Array
from lamina.client import Client
from lamina.compute import optimized
from lamina.explain import explain as explain_function
from lamina.layers.base import Layer
from lamina.layers.fused import Fused
from lamina.layers.held import Held
from lamina.layers.walk import topological
from lamina.scheduler import runner

DATA = np.arange(60.0).reshape(6, 10)


def expression() -> tuple[Array, np.ndarray]:
    x = la.from_array(DATA, chunks=(3, 5))
    return ((x + 1) * 2)[1:, ::2].sum(axis=0), ((DATA + 1) * 2)[1:, ::2].sum(axis=0)


class Plans:
    """Records the root layers the embedded runner and the cluster are given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.embedded: list[list[Layer]] = []
        self.cluster: list[list[Layer]] = []
        compute_blocks, submit = runner.compute_blocks, Client._submit

        def run_here(roots, *args, **kwargs):
            self.embedded.append(list(roots))
            return compute_blocks(roots, *args, **kwargs)

        def send(client, layers, *args, **kwargs):
            self.cluster.append(list(layers))
            return submit(client, layers, *args, **kwargs)

        monkeypatch.setattr(runner, "compute_blocks", run_here)
        monkeypatch.setattr(Client, "_submit", send)


@pytest.mark.parametrize("optimize_graph", [True, False])
def test_compute_embedded_and_on_a_cluster_run_the_same_plan(cluster, client, monkeypatch,
                                                             optimize_graph):
    y, expected = expression()
    plans = Plans(monkeypatch)
    (here,) = lamina.compute(y, optimize_graph=optimize_graph)
    with Client(cluster):
        (there,) = lamina.compute(y, optimize_graph=optimize_graph)
    direct = client.compute(y, optimize_graph=optimize_graph).result(WAIT)
    assert plans.embedded == [optimized([y.layer], optimize_graph)]
    assert plans.cluster == plans.embedded * 2
    assert (plans.embedded[0] == [y.layer]) == (not optimize_graph)
    for value in (here, there, direct):
        np.testing.assert_array_equal(value, expected)


def test_blocks_and_persist_embedded_and_on_a_cluster_run_the_same_plan(client, monkeypatch):
    y, expected = expression()
    plans = Plans(monkeypatch)
    (here,) = lamina.compute_blocks(y)
    there = client.compute_blocks(y, timeout=WAIT)
    kept_here = y.persist()
    kept_there = client.persist(y, timeout=WAIT)
    assert plans.embedded == plans.cluster == [optimized([y.layer])] * 2
    np.testing.assert_array_equal(np.concatenate(here), expected)
    assert [b.tolist() for b in here] == [b.tolist() for b in there[0]]
    assert kept_here.chunks == kept_there.chunks == y.chunks
    np.testing.assert_array_equal(kept_here.compute(), expected)
    np.testing.assert_array_equal(client.compute(kept_there).result(WAIT), expected)


def test_optimizer_settings_apply_to_both_runners(client, monkeypatch):
    y, expected = expression()
    plans = Plans(monkeypatch)
    with lo.set_options(enabled=False):
        (here,) = lamina.compute(y)
        there = client.compute(y).result(WAIT)
    assert plans.embedded == plans.cluster == [[y.layer]]
    np.testing.assert_array_equal(here, expected)
    np.testing.assert_array_equal(there, expected)


def test_several_outputs_and_other_values_come_back_in_order_from_both_runners(cluster):
    y, expected = expression()
    x = la.from_array(DATA, chunks=(3, 5))
    here = lamina.compute(y, "label", x + 1)
    with Client(cluster):
        there = lamina.compute(y, "label", x + 1)
    for values in (here, there):
        np.testing.assert_array_equal(values[0], expected)
        assert values[1] == "label"
        np.testing.assert_array_equal(values[2], DATA + 1)


def test_blocks_held_on_a_cluster_are_never_fused():
    held = Array(Held("cluster", 1, 0, ((3, 3), (5, 5)), np.dtype("f8")))
    plan = optimized([((held + 1) * 2).layer])
    assert Held in {type(layer) for layer in topological(plan)}
    assert not any(isinstance(layer, Fused) for layer in topological(plan))
    x = la.from_array(DATA, chunks=(3, 5))
    assert isinstance(optimized([((x + 1) * 2).layer])[0], Fused)


def test_client_methods_refuse_what_is_not_an_array_or_layer(client):
    with pytest.raises(TypeError, match="Client.compute takes lamina collections or Layers"):
        client.compute(np.ones(3))
    with pytest.raises(TypeError, match="Client.persist takes lamina collections or Layers"):
        client.persist([1, 2])


def test_import_lamina_loads_neither_collections_nor_optimizer_nor_client():
    code = ("import sys, lamina, lamina.compute; "
            "assert callable(lamina.compute) and lamina.compute.__module__ == 'lamina.compute'; "
            "print(sorted(m for m in sys.modules if m.startswith('lamina.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    for package in ("lamina.array", "lamina.optimizer", "lamina.linalg", "lamina.client"):
        assert f"'{package}" not in loaded


def test_lazy_names_of_the_package_are_what_they_name():
    from lamina.array.core import Array as ArrayClass
    from lamina.client import LocalCluster

    assert lamina.Array is ArrayClass and lamina.Client is Client
    assert lamina.LocalCluster is LocalCluster and lamina.explain is explain_function
    assert {"Array", "Client", "compute", "optimize"} <= set(dir(lamina))
    with pytest.raises(AttributeError, match="no attribute 'Arrray'"):
        lamina.Arrray
