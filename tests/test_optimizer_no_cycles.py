"""Optimizing leaves no reference cycle holding the plan's layers.

A persisted block on a cluster is released when the last collection
holding its layer goes; a cycle would keep it until the next cyclic
collection, which may come minutes later.
"""
import gc
import weakref

import numpy as np

import lamina
import lamina.array as la


def test_layers_go_with_their_collection_without_cyclic_collection():
    gc.collect()
    gc.disable()
    try:
        x = la.from_array(np.arange(40.0), chunks=7)
        y = ((x + 1) * 2)[3:31].sum()
        assert lamina.compute(y) == ((np.arange(40.0) + 1) * 2)[3:31].sum()
        refs = [weakref.ref(y.layer), weakref.ref(x.layer)]
        del x, y
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()
