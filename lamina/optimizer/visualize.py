"""``lamina.visualize``: the layer graph as a networkx graph, DOT, PNG or SVG.

    g = lamina.visualize(y)                       # a networkx.DiGraph, nothing written
    lamina.visualize(y, "plan.dot")               # Graphviz DOT text, no extra software
    lamina.visualize(y, "plan.svg", optimize=True)  # rendered with Graphviz

Nodes are layers (label, shape, block size, dtype, number of blocks);
edges run from a layer to the layers that read it. Rendering PNG, SVG or
PDF needs Graphviz: the ``graphviz`` Python package, or the ``dot``
program on the PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Any, Sequence

from lamina.layers.base import Layer, layer_of
from lamina.layers.walk import topological

RENDERED = ("png", "svg", "pdf")

if TYPE_CHECKING:
    import networkx as nx


def layer_graph(roots: Sequence[Layer]) -> nx.DiGraph:
    """The layers reachable from ``roots`` as a directed graph (input -> reader)."""
    import networkx as nx

    graph = nx.DiGraph()
    outputs = {r.name for r in roots}
    for layer in topological(roots):
        chunksize = tuple(max(c) if c else 0 for c in layer.chunks)
        graph.add_node(layer.name, label=layer.label(), shape=layer.shape, chunksize=chunksize,
                       dtype=str(layer.dtype), nblocks=layer.nblocks,
                       output=layer.name in outputs)
        for dep in layer.dependencies:
            graph.add_edge(dep.name, layer.name)
    return graph


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT text for a graph made by ``layer_graph``."""
    ids = {name: f"n{i}" for i, name in enumerate(graph.nodes)}
    lines = ["digraph lamina {", "  rankdir=BT;", '  node [shape=box, fontname="Helvetica"];']
    for name, data in graph.nodes(data=True):
        text = (f"{data['label']}\\n{data['shape']} {data['dtype']}\\n"
                f"chunks {data['chunksize']}, {data['nblocks']} blocks")
        style = ", style=bold" if data.get("output") else ""
        lines.append(f'  {ids[name]} [label="{_escape(text)}"{style}];')
    for a, b in graph.edges:
        lines.append(f"  {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def visualize(*collections: Any, filename: str | None = None, format: str | None = None,
              optimize: bool = False) -> nx.DiGraph:
    """Draw the layer graph of ``collections``; return it as a networkx graph.

    ``filename`` may also be given as the last positional argument. The
    format comes from ``format`` or the file's extension: ``dot``/``gv``
    (text), or ``png``, ``svg``, ``pdf`` (needs Graphviz). With
    ``optimize=True`` the optimized plan is drawn.
    """
    items = list(collections)
    if items and isinstance(items[-1], (str, os.PathLike)):
        filename = os.fspath(items.pop())
    layers = [layer_of(c) for c in items]
    if not layers or any(x is None for x in layers):
        raise TypeError("visualize takes lamina collections (or layers), then a filename")
    if optimize:
        from lamina.optimizer.pipeline import optimize_plan

        layers = list(optimize_plan(layers).layers)
    graph = layer_graph(layers)
    if filename is None:
        return graph
    fmt = (format or os.path.splitext(filename)[1].lstrip(".") or "dot").lower()
    dot = to_dot(graph)
    if fmt in ("dot", "gv"):
        with open(filename, "w") as f:
            f.write(dot)
    elif fmt in RENDERED:
        _render(dot, filename, fmt)
    else:
        raise ValueError(f"format {fmt!r} is not supported: use dot, gv, png, svg or pdf")
    return graph


def _render(dot: str, filename: str, fmt: str) -> None:
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        data = graphviz.Source(dot).pipe(format=fmt)
    elif shutil.which("dot"):
        data = subprocess.run(["dot", f"-T{fmt}"], input=dot.encode(), capture_output=True,
                              check=True).stdout
    else:
        raise RuntimeError(
            f"rendering {fmt.upper()} needs Graphviz, which is not installed: install the "
            "'graphviz' Python package or the Graphviz 'dot' program (apt install graphviz, "
            "conda install graphviz), or save as .dot")
    with open(filename, "wb") as f:
        f.write(data)


def _escape(text: str) -> str:
    return text.replace('"', '\\"')
