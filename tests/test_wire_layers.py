"""Every layer type survives the wire: Hypothesis strategies per type.

For random instances of each layer type (built through the public array
API), the worker-side decode gives the same layers and the same computed
values, and the scheduler-side decode (no unpickling, function operands
opaque) gives the same block dependencies and the same task table. A
walker fails when a layer class in ``lamina.layers`` has no strategy here.
"""

from __future__ import annotations

import atexit
import importlib
import math
import pkgutil
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
import lamina.layers
import lamina.random
from lamina.array.core import Array
from lamina.comm.wire import dumps, loads
from lamina.layers.base import Layer
from lamina.layers.registry import Lowered
from lamina.scheduler.lowering import lower, topological_layers
from lamina.worker.held import Held

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
    if hasattr(a, "__code__"):
        return a.__code__.co_code == b.__code__.co_code
    if hasattr(a, "value") and hasattr(a, "_token"):
        return same_value(a.value, b.value)
    return a == b


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
    import zarr

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
def fused(draw):
    optimizer = pytest.importorskip("lamina.optimizer")
    x = draw(arrays())
    (layer,) = optimizer.optimize_layers([((x + 1) * 2 - x).layer])
    return layer


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
    "RandomBlocks": shapes_chunks().flatmap(lambda sc: st.builds(
        lambda seed: lamina.random.default_rng(seed).random(sc[0], chunks=sc[1]).layer,
        st.integers(0, 2**32))),
    "Blockwise": blockwise(),
    "Rechunk": rechunk(),
    "BasicSlice": basic_slice(),
    "TakeAxis": take_axis(),
    "Transpose": transpose(),
    "Reshape": reshape(),
    "Concatenate": concatenate(),
    "Contraction": contraction(),
    "ReduceChunk": reduction(),
    "ReduceCombine": reduction(),
    "ReduceAggregate": reduction(),
    "FromZarr": from_zarr(),
    "StoreZarr": store_zarr(),
    "Held": held,
    "Fused": fused(),
}
# tests ---------------------------------------------------------------------------
def check_round_trip(root: Layer) -> None:
    """Worker side: same layers and values. Scheduler side: same dependencies."""
    frames = dumps({"roots": (root,)})
    worker_root = loads(frames)["roots"][0]
    sched_root = loads(frames, load_blobs=False)["roots"][0]
    originals = topological_layers([root])
    workers = {l.name: l for l in topological_layers([worker_root])}
    scheds = {l.name: l for l in topological_layers([sched_root])}
    assert set(workers) == set(scheds) == {l.name for l in originals}
    for layer in originals:
        w, s = workers[layer.name], scheds[layer.name]
        assert type(w) is type(layer)
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
        np.testing.assert_array_equal(Array(worker_root).compute(), Array(root).compute())


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
        found = {type(l).__name__ for l in topological_layers([root])}
        assert name in found, f"strategy for {name} built {found}"
        check_round_trip(root)

    run()


def _lamina_layer_classes() -> set[type]:
    for info in pkgutil.walk_packages(lamina.layers.__path__, "lamina.layers."):
        importlib.import_module(info.name)
    importlib.import_module("lamina.worker.held")
    out, stack = set(), [Layer]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if "_parameters" in sub.__dict__ and sub.__module__.startswith(
                    ("lamina.layers.", "lamina.worker.")):
                out.add(sub)
    return out


def test_every_layer_class_has_a_round_trip_strategy():
    missing = sorted(c.__name__ for c in _lamina_layer_classes()
                     if c.__name__ not in LAYER_STRATEGIES and c is not Lowered)
    assert not missing, f"add wire round-trip strategies for {missing} in tests/test_wire_layers.py"


