"""Operands too large to hash are named by ``identity_token``, never by ``id``:
a later object at a freed object's address gets a new name, so two
different computations can never merge."""

from __future__ import annotations

import gc
import pickle

import numpy as np
import zarr

import lamina.array as la
from lamina.layers.sources import HASH_LIMIT_BYTES, hold_blocks, wrap_array
from lamina.layers.zarr_io import ZarrByIdentity
from lamina.tokenize import identity_token

BIG = HASH_LIMIT_BYTES // 8 + 100  # float64 elements: above the hashing limit


class Thing:
    pass


def test_an_object_keeps_its_name_while_it_lives():
    thing = Thing()
    assert identity_token(thing) == identity_token(thing)
    assert identity_token(thing) != identity_token(Thing())


def test_a_dead_object_leaves_no_name_behind_for_its_address():
    from lamina import tokenize

    thing = Thing()
    key = id(thing)
    identity_token(thing)
    assert key in tokenize._identity_names
    del thing
    gc.collect()
    assert key not in tokenize._identity_names


def test_a_large_array_at_a_reused_address_gets_another_token():
    data = np.empty(BIG + 1)
    tokens_by_id: dict[int, dict[int, str]] = {}
    for i in range(200):
        view = data[i % 2:BIG + i % 2]  # same shape and dtype, another start
        tokens_by_id.setdefault(id(view), {})[i % 2] = wrap_array(view)._token
        del view
    reused = [names for names in tokens_by_id.values() if len(names) == 2]
    assert reused, "no view reused a freed view's address"
    for names in reused:
        assert names[0] != names[1]


def test_equal_slices_of_one_large_array_get_equal_tokens():
    data = np.zeros(BIG)
    assert wrap_array(data[5:])._token == wrap_array(data[5:])._token
    assert wrap_array(data[5:])._token != wrap_array(data[6:])._token
    assert wrap_array(data)._token != wrap_array(np.zeros(BIG))._token


def test_results_of_freed_large_arrays_are_not_mixed_up():
    sums = []
    for value in (1.0, 2.0, 3.0):
        data = np.full(BIG, value)
        sums.append(float(la.from_array(data, chunks=BIG // 2).sum().compute()))
        del data
        gc.collect()
    assert sums == [BIG * 1.0, BIG * 2.0, BIG * 3.0]


def test_held_blocks_and_zarr_arrays_are_named_apart():
    assert hold_blocks([np.ones(2)])._token != hold_blocks([np.ones(2)])._token
    z1, z2 = zarr.zeros((4,), chunks=(2,)), zarr.zeros((4,), chunks=(2,))
    assert ZarrByIdentity(z1)._token == ZarrByIdentity(z1)._token
    assert ZarrByIdentity(z1)._token != ZarrByIdentity(z2)._token


def test_a_pickled_operand_keeps_its_name():
    wrapped = wrap_array(np.zeros(BIG))
    assert pickle.loads(pickle.dumps(wrapped))._token == wrapped._token
