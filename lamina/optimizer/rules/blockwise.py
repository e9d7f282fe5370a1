"""Blockwise fusion: chains of one-block-per-block layers become one task per block.

Elementwise and ``map_blocks`` layers, basic slices, transposes, the
first step of reductions and the block products of contractions, and the
sources under them (in-memory arrays, constants, random, zarr) each need
one block of each input per output block, so a chain of them can run as
one ``Fused`` layer: ``np.sin(x + 1) * 2`` over a random ``x`` is one task
per block, not four. The phase walks bottom-up, so each layer absorbs
inputs that have already absorbed theirs::

    Blockwise[mul](Blockwise[sin](Blockwise[add](RandomBlocks)))
    -> Fused[mul, sin, add, RandomBlocks]

An input is absorbed only if nothing else reads it and each of its blocks
feeds one block (not broadcast), or it is cheap to compute again
(``options.cheap_layers``: constants, in-memory arrays, slices); otherwise
it stays a separate layer whose blocks are computed once. A fusion whose projected memory per task (input blocks held, plus
the group's working set evaluated input by input) exceeds
``options.fuse_memory_limit`` is refused input by input, largest first,
and the trace says why.
"""

from __future__ import annotations

from lamina.layers.base import Layer
from lamina.layers.blockmaps import identity_map, normal_map
from lamina.layers.fused import Fused, max_block_bytes
from lamina.optimizer.rule import Context, Rule


def fusable(layer: Layer) -> bool:
    """Whether ``layer`` can join a ``Fused`` group: it is one (absorbed whole), or
    its type says at which block map it reads each dependency (sources read none)."""
    return (isinstance(layer, Fused)
            or layer.dependency_block_maps(identity_map(layer)) is not None)


def fan_out(node: Layer, dep: Layer) -> int:
    """How many blocks of ``node`` read each block of ``dep`` (1: none shared)."""
    identity = normal_map(node, identity_map(node))
    factor = 1
    for child, bmap in zip(node.dependencies, node.dependency_block_maps(identity)):
        if child.name != dep.name:
            continue
        used = {e[0] for e in bmap if isinstance(e, tuple)}
        shared = 1
        for o, nb in enumerate(node.numblocks):
            if o not in used:
                shared *= nb
        factor = max(factor, shared)
    return factor


def is_cheap(layer: Layer, cheap: frozenset[str]) -> bool:
    """Whether ``layer`` costs little enough to compute in several fused groups."""
    if isinstance(layer, Fused):
        return bool(layer.cheap)
    return any(c.__name__ in cheap for c in type(layer).__mro__)


def _unique(layers: tuple[Layer, ...]) -> list[Layer]:
    seen: set[str] = set()
    out = []
    for layer in layers:
        if layer.name not in seen:
            seen.add(layer.name)
            out.append(layer)
    return out


def _peak(child: Layer) -> int:
    """Working set of computing an absorbed input within the group."""
    if isinstance(child, Fused):
        return int(child.internal_bytes)
    return max_block_bytes(child)


def _projection(node: Layer, children: list[Layer], absorbed: set[str]) -> tuple[int, int]:
    """(input bytes held, internal working set) if ``absorbed`` inputs join ``node``."""
    inputs: dict[str, int] = {}
    acc = peak = 0
    for child in children:
        if child.name in absorbed:
            peak = max(peak, acc + _peak(child))
            acc += max_block_bytes(child)
            leaves = child.dependencies
        else:
            leaves = (child,)
        for leaf in leaves:
            inputs.setdefault(leaf.name, max_block_bytes(leaf))
    peak = max(peak, acc + max_block_bytes(node))
    return sum(inputs.values()), peak


def _inputs_of(parts: list[tuple[str, Layer, bool]]) -> tuple[tuple, tuple]:
    inputs: list[Layer] = []
    leaves: list[str] = []
    for _, layer, absorbed in parts:
        if not absorbed:
            pairs = [(layer, layer.name)]
        elif isinstance(layer, Fused):
            pairs = list(zip(layer.inputs, layer.leaves))
        else:
            pairs = [(d, d.name) for d in _unique(layer.dependencies)]
        for dep, leaf in pairs:
            if leaf not in leaves:
                leaves.append(leaf)
                inputs.append(dep)
    return tuple(inputs), tuple(leaves)


class BlockwiseFusion(Rule):
    """Absorb fusable inputs into a blockwise layer, one task per block."""

    name = "blockwise_fusion"
    phase = "fuse"
    on = ("Blockwise", "BasicSlice", "Transpose", "ReduceChunk", "Contraction")
    wants_original = True

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if not fusable(node):
            return None
        originals = _unique(node.dependencies)
        children = [ctx.rewritten(c) for c in originals]
        cheap = ctx.options.cheap_layers
        absorbed: set[str] = set()
        for original, child in zip(originals, children):
            if not fusable(child):
                continue
            readers = ctx.n_readers(child)
            if readers > 1 and not is_cheap(child, cheap):
                ctx.note(node, f"not fusing {child.label()}: it has {readers} readers and is "
                               "not cheap to compute again")
                continue
            shared = fan_out(node, original)
            if shared > 1 and not is_cheap(child, cheap):
                ctx.note(node, f"not fusing {child.label()}: each of its blocks is read by "
                               f"{shared} blocks and it is not cheap to compute again")
                continue
            absorbed.add(child.name)
        limit = ctx.options.fuse_memory_limit
        held, peak = _projection(node, children, absorbed)
        while absorbed and held + peak > limit:
            worst = max((c for c in children if c.name in absorbed), key=_peak)
            ctx.note(node, f"not fusing {worst.label()}: projected memory per task "
                           f"{_size(held + peak)} exceeds the limit {_size(limit)}")
            absorbed.discard(worst.name)
            held, peak = _projection(node, children, absorbed)
        if not absorbed:
            return None
        parts = [(o.name, c, c.name in absorbed) for o, c in zip(originals, children)]
        inputs, leaves = _inputs_of(parts)
        group_cheap = is_cheap(node, cheap) and all(
            is_cheap(c, cheap) for c in children if c.name in absorbed)
        return Fused(node, tuple(parts), inputs, leaves, peak, group_cheap)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


RULES = [BlockwiseFusion()]
