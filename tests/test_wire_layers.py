"""Every layer type survives the wire: Hypothesis strategies per type.

For random instances of each layer type (built through the public array
API, or as ``lamina.linalg`` builds its passes), the worker-side decode
gives the same layers and the same computed blocks, and the
scheduler-side decode (no unpickling, function operands opaque) gives the
same block dependencies and the same task table. A walker fails when a
layer class in ``lamina.layers``, ``lamina.worker``, ``lamina.linalg`` or
``lamina.optimizer`` has no strategy here, and when one of them is not in
the trusted registry.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import importlib
import math
import os
import pkgutil
import shutil
import tempfile

import numpy as np
import pytest
import zarr
from frame_wire_strategies import FRAME_STRATEGIES, same_pandas
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
import lamina.layers
import lamina.linalg
import lamina.linalg as ll
import lamina.optimizer
import lamina.random
from lamina.array.core import Array
from lamina.comm.wire import dumps, loads
from lamina.layers.base import Layer
from lamina.layers.codec import LayerCodec
from lamina.layers.file_stamps import file_stamp, tree_stamp
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.sources import FrameSource
from lamina.layers.held import Held
from lamina.layers.linalg.combine import DEFAULT_SPLIT_EVERY, Drain, Pick, TreeSum, tree_sum
from lamina.layers.linalg.encode import EncodeBlocks, WriteZarr
from lamina.layers.linalg.pass_layers import BlockQtA, BlockW, BlockY, RowPass
from lamina.layers.linalg.pgen import PgenBlocks
from lamina.layers.linalg.plink import BedBlocks, VcfZarrBlocks
from lamina.layers.linalg.scaling import row_stats
from lamina.layers.linalg.sources import HoldPacked, Payloads
from lamina.layers.registry import Lowered, is_trusted
from lamina.layers.walk import topological
from lamina.scheduler.lowering import lower
from lamina.scheduler.runner import compute_blocks

_TMP = tempfile.mkdtemp(prefix="lamina-wire-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
_COUNTER = iter(range(10**9))


def same_value(a, b) -> bool:
    """Structural equality that also checks types (and array bytes)."""
    if isinstance(a, Layer) or isinstance(b, Layer):
        return type(a) is type(b) and a.name == b.name
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(same_value(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a))
    if isinstance(a, functools.partial):
        return (same_value(a.func, b.func) and same_value(a.args, b.args)
                and same_value(a.keywords, b.keywords))
    if same_pandas(a, b, same_value) is not None:
        return same_pandas(a, b, same_value)
    if hasattr(a, "__code__"):
        return a.__code__.co_code == b.__code__.co_code
    if hasattr(a, "value") and hasattr(a, "_token"):
        if hasattr(a.value, "__dask_graph__"):  # a Dask collection: named by what it is
            return type(a.value) is type(b.value) and a.value.name == b.value.name
        return same_value(a.value, b.value)
    return a == b


ABSTRACT = {FrameLayer, FrameSource}  # bases of the frame layers


# strategies ----------------------------------------------------------------------
@st.composite
def shapes_chunks(draw, min_ndim=1, max_ndim=3, min_side=1, max_side=9):
    ndim = draw(st.integers(min_ndim, max_ndim))
    shape = tuple(draw(st.integers(min_side, max_side)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, max(s, 1))) for s in shape)
    return shape, chunks


@st.composite
def arrays(draw, **kwargs):
    shape, chunks = draw(shapes_chunks(**kwargs))
    data = np.arange(math.prod(shape), dtype=np.float64).reshape(shape) - 3
    return la.from_array(data, chunks=chunks)


def double(block):
    return block * 2


@st.composite
def blockwise(draw):
    x = draw(arrays())
    kind = draw(st.sampled_from(["add", "ufunc", "map_blocks", "lambda", "where"]))
    if kind == "add":
        return (x + draw(st.integers(-3, 3))).layer
    if kind == "ufunc":
        return (np.sin(x) * x).layer
    if kind == "map_blocks":
        return la.map_blocks(double, x, dtype="f8").layer
    if kind == "lambda":
        return la.map_blocks(lambda b: b - 1, x, dtype="f8").layer
    return la.where(x > 0, x, -x).layer


@st.composite
def rechunk(draw):
    x = draw(arrays(min_side=2))
    new = [draw(st.integers(1, s)) for s in x.shape]
    new[0] = x.chunksize[0] % x.shape[0] + 1
    return x.rechunk(tuple(new)).layer


@st.composite
def basic_slice(draw):
    x = draw(arrays())
    index = []
    for s in x.shape:
        kind = draw(st.sampled_from(["slice", "int", "reverse"]))
        if kind == "int":
            index.append(draw(st.integers(0, s - 1)))
        elif kind == "reverse":
            index.append(slice(None, None, -draw(st.integers(1, 3))))
        else:
            start = draw(st.integers(0, s - 1))
            index.append(slice(start, draw(st.integers(start, s)), draw(st.integers(1, 3))))
    return x[tuple(index) + (None,)].layer


@st.composite
def take_axis(draw):
    x = draw(arrays())
    picks = draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6))
    picks += [picks[0], picks[0]]
    return x[np.array(picks)].layer


@st.composite
def transpose(draw):
    x = draw(arrays(min_ndim=2))
    perm = draw(st.permutations(range(x.ndim)))
    if list(perm) == list(range(x.ndim)):
        perm = list(range(x.ndim))[::-1]
    return x.transpose(tuple(perm)).layer


@st.composite
def reshape(draw):
    x = draw(arrays(min_ndim=2, max_ndim=2))
    return x.rechunk({1: -1}).reshape(-1).layer


@st.composite
def scan_carry(draw):
    x = draw(arrays(min_side=2))
    axis = draw(st.integers(0, x.ndim - 1))
    x = x.rechunk({axis: draw(st.integers(1, x.shape[axis] - 1))})
    return np.cumsum(x, axis=axis).layer


@st.composite
def block_points(draw):
    x = draw(arrays(min_ndim=2))
    rows = draw(st.lists(st.integers(0, x.shape[0] - 1), max_size=6))
    cols = [r % x.shape[1] for r in rows]
    return next(layer for layer in topological([x[rows, cols].layer])
                if type(layer).__name__ == "BlockPoints")


@st.composite
def concatenate(draw):
    x = draw(arrays())
    axis = draw(st.integers(0, x.ndim - 1))
    return la.concatenate([x, x + 1], axis=axis).layer


@st.composite
def contraction(draw):
    x = draw(arrays(min_ndim=2, max_ndim=2))
    return (x @ x.T).layer


@st.composite
def reduction(draw):
    x = draw(arrays(min_ndim=1, max_ndim=1, min_side=5))
    x = x.rechunk(draw(st.integers(1, 2)))
    op = draw(st.sampled_from(["sum", "mean", "max", "var", "argmin"]))
    return getattr(x, op)(axis=0, split_every=2).layer


@st.composite
def from_zarr(draw):
    shape, chunks = draw(shapes_chunks(max_ndim=2))
    path = f"{_TMP}/in-{next(_COUNTER)}.zarr"
    z = zarr.create_array(store=path, shape=shape, chunks=chunks, dtype="f8")
    z[...] = np.arange(math.prod(shape), dtype="f8").reshape(shape)
    return (la.from_zarr(path) * 2).layer


@st.composite
def store_zarr(draw):
    x = draw(arrays(max_ndim=2))
    path = f"{_TMP}/out-{next(_COUNTER)}.zarr"
    return la.to_zarr(x + 1, path, compute=False).layer


held = st.builds(
    lambda n, c: Held("cluster-1", 7, 0, ((c,) * n,), np.dtype("f8")),
    st.integers(1, 5), st.integers(1, 4))


@st.composite
def selections(draw, shape):
    """A basic index into ``shape``: an int, a slice (maybe reversed) per axis, a new axis."""
    index: list = []
    for side in shape:
        kind = draw(st.sampled_from(["int", "slice", "reverse"]))
        if kind == "int":
            index.append(draw(st.integers(0, side - 1)))
        elif kind == "reverse":
            index.append(slice(None, None, -draw(st.integers(1, 3))))
        else:
            start = draw(st.integers(0, side - 1))
            index.append(slice(start, draw(st.integers(start + 1, side)),
                               draw(st.integers(1, 3))))
    if all(e == slice(None, None, -1) or (isinstance(e, slice) and range(side)[e] == range(side))
           for e, side in zip(index, shape)):
        index[0] = 0  # a selection of everything leaves no region to push down
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), None)
    return tuple(index)


def optimized_region(x: Array, index: tuple, name: str) -> Layer:
    """The region source the optimizer makes of ``x[index]``."""
    (root,) = lamina.optimizer.optimize_layers([x[index].layer])
    regions = [l for l in topological([root]) if type(l).__name__ == name]
    assert regions, f"the optimizer made no {name} of {type(x.layer).__name__}[{index}]"
    return regions[0]


@st.composite
def zarr_region(draw):
    """``ZarrRegion``: a selection of a zarr array, pushed into its source."""
    shape, chunks = draw(shapes_chunks(max_ndim=2))
    path = f"{_TMP}/region-{next(_COUNTER)}.zarr"
    z = zarr.create_array(store=path, shape=shape, chunks=chunks, dtype="f8")
    z[...] = np.arange(math.prod(shape), dtype="f8").reshape(shape)
    return optimized_region(la.from_zarr(path), draw(selections(shape)), "ZarrRegion")


@st.composite
def random_region(draw):
    """``RandomRegion``: a selection of a random array drawing one value per draw."""
    shape, chunks = draw(shapes_chunks())
    rng = lamina.random.default_rng(draw(st.integers(0, 2**32)))
    method = draw(st.sampled_from(["random", "uniform"]))
    x = rng.random(shape, chunks=chunks) if method == "random" \
        else rng.uniform(-1, 1, shape, chunks=chunks)
    return optimized_region(x, draw(selections(shape)), "RandomRegion")


@st.composite
def fused(draw):
    optimizer = pytest.importorskip("lamina.optimizer")
    x = draw(arrays())
    (layer,) = optimizer.optimize_layers([((x + 1) * 2 - x).layer])
    return layer


# linear algebra ------------------------------------------------------------------
@st.composite
def genotype_codes(draw, max_value=2):
    """A small uint8 matrix of codes 0..max_value and a chunking of it."""
    shape, chunks = draw(shapes_chunks(min_ndim=2, max_ndim=2, min_side=2))
    seed = draw(st.integers(0, 1000))
    codes = np.random.default_rng(seed).integers(0, max_value + 1, shape).astype(np.uint8)
    return codes, chunks


@st.composite
def encoded_sources(draw):
    """An ``EncodedSource`` layer: generated, compressed in memory, or zarr."""
    codes, chunks = draw(genotype_codes())
    kind = draw(st.sampled_from(["generated", "2bit", "blosc", "zarr"]))
    if kind == "generated":
        return ll.genotype_matrix(codes.shape, chunks=chunks, seed=draw(st.integers(0, 99)),
                                  n_populations=draw(st.integers(1, 3))).layer
    if kind == "zarr":
        path = f"{_TMP}/codes-{next(_COUNTER)}.zarr"
        z = zarr.create_array(store=path, shape=codes.shape, chunks=chunks, dtype="u1")
        z[...] = codes
        return ll.open_zarr(path).layer
    return ll.persist_compressed(la.from_array(codes, chunks=chunks), codec=kind).layer


@st.composite
def pass_inputs(draw):
    """The payload layer a pass reads: plain blocks, 2-bit held, or encoded payloads."""
    kind = draw(st.sampled_from(["plain", "held packed", "payloads"]))
    if kind == "payloads":
        return Payloads(draw(encoded_sources()))
    codes, chunks = draw(genotype_codes())
    x = la.from_array(codes, chunks=chunks).layer
    return HoldPacked(x) if kind == "held packed" else x


@st.composite
def pass_setup(draw):
    """``(a, z, stats, dtype, scaler)`` as ``PassRunner`` gives them to the pass layers."""
    a = draw(pass_inputs())
    ncols = draw(st.integers(1, 3))
    dtype = np.dtype(draw(st.sampled_from(["f4", "f8"])))
    scaler = draw(st.sampled_from([None, "center", "patterson"]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    z = la.from_array(rng.standard_normal((a.shape[1], ncols)).astype(dtype),
                      chunks=(a.chunks[1], ncols)).layer
    stats = None
    if scaler is not None and draw(st.booleans()):
        sums = rng.integers(0, 2 * a.shape[1] + 1, a.shape[0]).astype(dtype)
        stats = la.from_array(row_stats(sums, a.shape[1], scaler, dtype),
                              chunks=(a.chunks[0], 2)).layer
    return a, z, stats, dtype, scaler


@st.composite
def row_passes(draw):
    a, z, stats, dtype, scaler = draw(pass_setup())
    want_y, want_w = draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    return RowPass(a, z, stats, dtype, scaler, want_y, want_w, draw(st.booleans()))


def first_pick(rp: RowPass) -> Pick:
    """``Y`` (or the ``Aᵀ Y`` partials) out of a ``RowPass``."""
    a, ncols = rp.a, rp.z.shape[1]
    if rp.want_y:
        return Pick(rp, 0, (a.chunks[0], (ncols,)), rp.compute_dtype)
    return Pick(rp, 1, ((1,) * a.numblocks[0], (a.shape[1],), (ncols,)), rp.compute_dtype, True)


@st.composite
def single_read_pass(draw):
    """The roots of one single-read pass, as ``PassRunner._single_read`` builds them."""
    rp = draw(row_passes())
    split = draw(st.sampled_from([2, 3, DEFAULT_SPLIT_EVERY]))
    a, ncols = rp.a, rp.z.shape[1]
    parts, groups, roots = [], [], {}
    if rp.want_y:
        y = Pick(rp, 0, (a.chunks[0], (ncols,)), rp.compute_dtype)
        if draw(st.booleans()):
            q, r = ll.tsqr(Array(y), split_every=split)
            parts.append(q.layer.blocks)
            roots.update(q=q.layer, r=r.layer)
        else:
            parts.append(y)
            roots["y"] = y
    if rp.want_w:
        partials = Pick(rp, 1, ((1,) * a.numblocks[0], (a.shape[1],), (ncols,)),
                        rp.compute_dtype, True)
        level0 = TreeSum(partials, 0, split)
        parts.append(partials)
        groups.append(level0)
        roots["w"] = tree_sum(level0, 0, split)
    if rp.scaler is not None and not isinstance(rp.stats, Layer):
        roots["stats"] = Pick(rp, 2, (a.chunks[0], (2,)), rp.compute_dtype)
        parts.append(roots["stats"])
    return Drain(tuple(parts), tuple(groups), split), roots


@st.composite
def split_pass(draw, kind):
    """One split pass (``BlockY``, ``BlockW`` or ``BlockQtA``), summed as ``PassRunner`` does."""
    a, z, stats, dtype, scaler = draw(pass_setup())
    if kind == "BlockY":
        layer = BlockY(a, z, dtype, scaler, draw(st.booleans()))
    else:
        rows = la.from_array(np.random.default_rng(1).random((a.shape[0], z.shape[1])),
                             chunks=(a.chunks[0], z.shape[1])).layer
        layer = (BlockW if kind == "BlockW" else BlockQtA)(a, rows, stats, dtype)
    return tree_sum(layer, 0, draw(st.integers(2, 3))) if draw(st.booleans()) else layer


@st.composite
def tall_matrices(draw):
    nrows, ncols = draw(st.integers(2, 14)), draw(st.integers(1, 3))
    data = np.random.default_rng(draw(st.integers(0, 1000))).standard_normal((nrows, ncols))
    return la.from_array(data, chunks=(draw(st.integers(1, nrows)), ncols))


@st.composite
def tsqr_graphs(draw):
    """``q`` (or ``u``) of a TSQR: block QR, stacked QR levels, the factors down the tree."""
    x = draw(tall_matrices())
    q, *_ = ll.tsqr(x, split_every=draw(st.integers(2, 3)), compute_svd=draw(st.booleans()))
    return q.layer


@st.composite
def short_fat(draw, what):
    """The exact SVD (``u``, with ``ColumnSigns``) or QR (``r``) of a one-row-block array."""
    nrows = draw(st.integers(1, 3))
    ncols = draw(st.integers(nrows + 1, 9))
    data = np.random.default_rng(draw(st.integers(0, 1000))).standard_normal((nrows, ncols))
    if what == "svd":
        return ll.svd(la.from_array(data, chunks=(nrows, draw(st.integers(1, ncols)))))[0].layer
    x = la.from_array(data, chunks=(nrows, draw(st.integers(nrows, ncols - 1))))
    return ll.qr(x)[1].layer


@st.composite
def encode_blocks(draw):
    codes, chunks = draw(genotype_codes(max_value=3))
    codec = draw(st.sampled_from(["2bit", "blosc"]))
    return EncodeBlocks(la.from_array(codes, chunks=chunks).layer, codec, draw(st.integers(1, 5)))


@st.composite
def write_zarr(draw):
    codes, chunks = draw(genotype_codes())
    path = f"{_TMP}/written-{next(_COUNTER)}.zarr"
    zarr.create_array(store=path, shape=codes.shape, chunks=chunks, dtype="u1")
    return WriteZarr(la.from_array(codes, chunks=chunks).layer, path)


GENOTYPE_SHAPE = (11, 12)


@functools.cache
def genotype_files() -> tuple[str, str]:
    """A small .bed fileset and a VCF Zarr ``call_genotype`` array, written once per test run."""
    import atexit
    import shutil
    import tempfile

    import zarr

    from lamina.linalg.readers import write_bed

    folder = tempfile.mkdtemp(prefix="lamina-wire-genotypes-")
    atexit.register(shutil.rmtree, folder, True)
    rng = np.random.default_rng(0)
    bed = write_bed(rng.integers(-1, 3, size=GENOTYPE_SHAPE).astype(np.int8),
                    os.path.join(folder, "cohort")) + ".bed"
    calls = rng.integers(-1, 2, size=(*GENOTYPE_SHAPE, 2)).astype(np.int8)
    url = os.path.join(folder, "cohort.vcz", "call_genotype")
    zarr.create_array(url, shape=calls.shape, dtype=np.int8, chunks=(4, 4, 2))[...] = calls
    return bed, url


@functools.cache
def pgen_file() -> str:
    """A .pgen of ``GENOTYPE_SHAPE`` written by pgenlib beside the other files (or a skip)."""
    pgenlib = pytest.importorskip("pgenlib", reason="pgenlib (optional) is not installed")
    path = genotype_files()[0][:-4] + ".pgen"
    rng = np.random.default_rng(1)
    writer = pgenlib.PgenWriter(path.encode(), GENOTYPE_SHAPE[1], GENOTYPE_SHAPE[0], False)
    for row in rng.integers(-1, 3, size=GENOTYPE_SHAPE):
        writer.append_biallelic(np.where(row < 0, -9, row).astype(np.int8))
    writer.close()
    return path


@st.composite
def genotype_chunks(draw) -> tuple:
    """Chunks of ``GENOTYPE_SHAPE``, sample blocks a multiple of 4 (whole .bed bytes)."""
    cuts = sorted(draw(st.sets(st.integers(1, GENOTYPE_SHAPE[0] - 1), max_size=3)))
    rows = tuple(np.diff([0, *cuts, GENOTYPE_SHAPE[0]]).tolist())
    cols = draw(st.sampled_from(((12,), (4, 8), (8, 4), (4, 4, 4))))
    return rows, cols


def _only(name: str) -> st.SearchStrategy:
    """Encoded sources of one type."""
    return encoded_sources().filter(lambda layer: type(layer).__name__ == name)


LINALG_STRATEGIES = {
    "RowPass": row_passes(),
    "Pick": row_passes().map(first_pick),
    "TreeSum": single_read_pass().filter(lambda p: "w" in p[1]).map(lambda p: p[1]["w"]),
    "Drain": single_read_pass().map(lambda p: p[0]),
    "BlockY": split_pass("BlockY"),
    "BlockW": split_pass("BlockW"),
    "BlockQtA": split_pass("BlockQtA"),
    "BlockQR": tsqr_graphs(),
    "StackQR": tsqr_graphs(),
    "TopFactor": tsqr_graphs(),
    "ChildFactor": tsqr_graphs(),
    "ApplyFactor": tsqr_graphs(),
    "ColumnSigns": short_fat("svd"),
    "FirstBlockQR": short_fat("qr"),
    "ShortFatR": short_fat("qr"),
    "GenotypeBlocks": _only("GenotypeBlocks"),
    "EncodedBlocks": _only("EncodedBlocks"),
    "ZarrBlocks": _only("ZarrBlocks"),
    "BedBlocks": genotype_chunks().map(
        lambda chunks: BedBlocks(genotype_files()[0], GENOTYPE_SHAPE, chunks,
                                 file_stamp(genotype_files()[0]))),
    "PgenBlocks": genotype_chunks().map(
        lambda chunks: PgenBlocks(pgen_file(), GENOTYPE_SHAPE, chunks, file_stamp(pgen_file()))),
    "VcfZarrBlocks": genotype_chunks().map(
        lambda chunks: VcfZarrBlocks(genotype_files()[1], chunks,
                                     tree_stamp(genotype_files()[1]))),
    "Payloads": encoded_sources().map(Payloads),
    "HoldPacked": genotype_codes(max_value=4).map(
        lambda c: HoldPacked(la.from_array(c[0], chunks=c[1]).layer)),
    "EncodeBlocks": encode_blocks(),
    "WriteZarr": write_zarr(),
}

LAYER_STRATEGIES = {
    "FromArray": arrays().map(lambda x: (x + 0).layer),
    "Full": shapes_chunks().flatmap(lambda sc: st.builds(
        lambda v: la.full(sc[0], v, chunks=sc[1]).layer, st.integers(-5, 5))),
    "Arange": st.tuples(st.integers(-5, 5), st.integers(1, 40), st.integers(1, 3),
                        st.integers(1, 7)).map(
        lambda a: la.arange(a[0], a[0] + a[1], a[2], chunks=a[3]).layer),
    "Linspace": st.tuples(st.integers(1, 30), st.integers(1, 7), st.booleans()).map(
        lambda a: la.linspace(0, 1, a[0], endpoint=a[2], chunks=a[1]).layer),
    "FromBlocks": arrays().map(lambda x: (lamina.persist(x)[0] + 1).layer),
    "FromDask": arrays().map(lambda x: (la.from_dask(x.to_dask()) + 1).layer),
    "RandomBlocks": shapes_chunks().flatmap(lambda sc: st.builds(
        lambda seed: lamina.random.default_rng(seed).random(sc[0], chunks=sc[1]).layer,
        st.integers(0, 2**32))),
    "Blockwise": blockwise(),
    "Rechunk": rechunk(),
    "BasicSlice": basic_slice(),
    "TakeAxis": take_axis(),
    "Transpose": transpose(),
    "Reshape": reshape(),
    "ScanCarry": scan_carry(),
    "BlockPoints": block_points(),
    "Concatenate": concatenate(),
    "Contraction": contraction(),
    "ReduceChunk": reduction(),
    "ReduceCombine": reduction(),
    "ReduceAggregate": reduction(),
    "UfuncReduceChunk": arrays().map(lambda x: next(
        layer for layer in topological([np.add.reduce(x, axis=None, where=x > 0,
                                                      initial=1).layer])
        if type(layer).__name__ == "UfuncReduceChunk")),
    "FromZarr": from_zarr(),
    "StoreZarr": store_zarr(),
    "Held": held,
    "Fused": fused(),
    "ZarrRegion": zarr_region(),
    "RandomRegion": random_region(),
    **LINALG_STRATEGIES,
    **FRAME_STRATEGIES,
}
# tests ---------------------------------------------------------------------------
def check_round_trip(root: Layer) -> None:
    """Worker side: same layers and values. Scheduler side: same dependencies."""
    frames = dumps({"roots": (root,)}, extension=LayerCodec())
    worker_root = loads(frames, extension=LayerCodec())["roots"][0]
    sched_root = loads(frames, load_blobs=False, extension=LayerCodec())["roots"][0]
    originals = topological([root])
    workers = {l.name: l for l in topological([worker_root])}
    scheds = {l.name: l for l in topological([sched_root])}
    assert set(workers) == set(scheds) == {l.name for l in originals}
    for layer in originals:
        w, s = workers[layer.name], scheds[layer.name]
        assert type(w) is type(layer)
        assert type(s) is (type(layer) if is_trusted(type(layer)) else Lowered)
        assert same_value(w.operands, layer.operands)
        assert w.chunks == s.chunks == layer.chunks and w.dtype == s.dtype == layer.dtype
        blocks = np.arange(layer.nblocks, dtype=np.int64)
        expected = layer.block_deps(blocks) if layer.dependencies else []
        for got in (w, s):
            deps = got.block_deps(blocks) if layer.dependencies else []
            assert len(deps) == len(expected)
            for (p1, i1), (p2, i2) in zip(deps, expected):
                np.testing.assert_array_equal(p1, p2)
                np.testing.assert_array_equal(i1, i2)
    table, sched_table = lower([root]), lower([sched_root])
    np.testing.assert_array_equal(table.dep_indptr, sched_table.dep_indptr)
    np.testing.assert_array_equal(table.dep_indices, sched_table.dep_indices)
    if not isinstance(root, Held):
        (got,), (expected,) = compute_blocks([worker_root], 1), compute_blocks([root], 1)
        assert len(got) == len(expected) == root.nblocks
        assert all(same_value(g, e) for g, e in zip(got, expected))


def test_held_block_lists_pickle_as_themselves():
    import pickle

    from lamina.layers.sources import hold_blocks

    held = hold_blocks([np.ones(1)])
    again = pickle.loads(pickle.dumps(held))
    assert type(again) is type(held)
    np.testing.assert_array_equal(again.value[0], np.ones(1))


@pytest.mark.parametrize("name", sorted(LAYER_STRATEGIES))
def test_every_layer_type_round_trips(name):
    @settings(max_examples=15, deadline=None)
    @given(LAYER_STRATEGIES[name])
    def run(root):
        found = {type(l).__name__ for l in topological([root])}
        assert name in found, f"strategy for {name} built {found}"
        check_round_trip(root)

    run()


def _lamina_layer_classes() -> set[type]:
    """Concrete layer classes (they define ``_meta``) of the packages a graph is built from."""
    for package in (lamina.layers, lamina.linalg, lamina.optimizer):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    out, stack = set(), [Layer]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub._meta is not Layer._meta and sub not in ABSTRACT and sub.__module__.startswith(
                    ("lamina.layers.", "lamina.worker.", "lamina.linalg.",
                     "lamina.optimizer.")):
                out.add(sub)
    return out


def test_every_layer_class_has_a_round_trip_strategy():
    missing = sorted(c.__name__ for c in _lamina_layer_classes()
                     if c.__name__ not in LAYER_STRATEGIES and c is not Lowered)
    assert not missing, f"add wire round-trip strategies for {missing} in tests/test_wire_layers.py"


def test_every_layer_class_is_trusted_so_it_travels_as_params():
    untrusted = sorted(c.__name__ for c in _lamina_layer_classes()
                       if not is_trusted(c) and c is not Lowered)
    assert not untrusted, (f"decorate {untrusted} with @trusted(version=1) "
                           "(lamina.layers.registry): their block_deps need only plain parameters")


