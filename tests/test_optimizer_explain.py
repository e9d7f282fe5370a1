"""``explain`` and ``visualize``: plans in words, layer graphs as DOT or pictures."""

from __future__ import annotations

import builtins
import importlib

import networkx as nx
import numpy as np
import pytest

import lamina
import lamina.array as la
import lamina.optimizer as lo

visualize_module = importlib.import_module("lamina.optimizer.visualize")


def test_explain_shows_both_plans_the_rules_and_the_task_counts():
    x = la.ones((100_000, 100_000), chunks=100)
    text = str(lamina.explain((x + 1)[0, :5]))
    assert "plan before: 3 layers, 3 tasks" in text
    assert "plan after: 1 layer, 1 task" in text
    assert "Blockwise[add]  shape=(100000, 100000) chunks=(100, 100) float64  1000000 blocks" \
        in text
    assert "Fused[Blockwise[add], Full]  shape=(5,) chunks=(5,) float64  1 block" in text
    for name in ("slice_through_elementwise", "slice_into_source", "blockwise_fusion"):
        assert f"  {name}" in text


def test_explain_reports_refused_fusions_shared_layers_and_hints():
    a = la.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
    s = a + 1
    explanation = lamina.explain(s, s.sum())
    text = str(explanation)
    assert "(shared) Blockwise[add]" in text
    assert "not fusing Fused[Blockwise[add], FromArray]: it has 2 readers" in text
    assert "speculative-dispatch hints:" in text
    assert explanation.tasks_before == 13 and explanation.tasks_after == 9


def test_explain_names_the_edges_a_cluster_dispatches_ahead():
    x = la.from_array(np.arange(12.0), chunks=3)
    with lo.set_options(disabled_rules={"blockwise_fusion"}):
        explanation = lamina.explain((x + 1).sum())
    edges = explanation.ahead_edges()
    assert explanation.plan.hints and len(edges) == len(explanation.plan.hints)
    assert any("FromArray -> Blockwise[add]  (4 blocks;" in line for line in edges)
    assert "dispatched ahead on a cluster" in str(explanation)


def test_visualize_returns_the_layer_graph():
    x = la.from_array(np.arange(6.0), chunks=2)
    y = np.sin(x) + x
    graph = lo.visualize(y)
    assert isinstance(graph, nx.DiGraph) and graph.number_of_nodes() == 3
    assert nx.is_directed_acyclic_graph(graph)
    labels = sorted(d["label"] for _, d in graph.nodes(data=True))
    assert labels == ["Blockwise[add]", "Blockwise[sin]", "FromArray"]
    optimized = lo.visualize(y, optimize=True)
    assert optimized.number_of_nodes() == 1


def test_visualize_writes_dot_without_graphviz(tmp_path):
    x = la.from_array(np.arange(6.0), chunks=2)
    path = tmp_path / "plan.dot"
    lo.visualize(x + 1, str(path))
    text = path.read_text()
    assert text.startswith("digraph lamina {") and "Blockwise[add]" in text and "->" in text


def test_rendering_without_graphviz_says_what_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("no graphviz")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    monkeypatch.setattr(visualize_module.shutil, "which", lambda name: None)
    x = la.from_array(np.arange(6.0), chunks=2)
    with pytest.raises(RuntimeError, match="needs Graphviz.*save as .dot"):
        lo.visualize(x, str(tmp_path / "plan.png"))


def test_visualize_refuses_unknown_formats(tmp_path):
    x = la.from_array(np.arange(6.0), chunks=2)
    with pytest.raises(ValueError, match="format 'bmp' is not supported"):
        lo.visualize(x, str(tmp_path / "plan.bmp"))
