"""The compiled placement loops against the NumPy code they replace, on random inputs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.scheduler._placement import by_inputs, gather, groups
from test_state_machine import csr

from lamina.layers.registry import take_rows
from lamina.scheduler.placement import split_by


def by_inputs_reference(ids, ptr, idx, where, readers, position, n_workers):
    """The NumPy weighing ``choose_workers`` used before it was compiled."""
    choice = np.full(len(ids), -1, dtype=np.int64)
    has = ptr[ids + 1] > ptr[ids]
    if not has.any():
        return choice
    rows_with = np.flatnonzero(has)
    sub_ptr, deps = take_rows(ptr, idx, ids[rows_with])
    holder = where[deps]
    known = (holder >= 0) & (holder < len(position))
    holder = np.where(known, position[np.where(known, holder, 0)], -1)
    rows = np.repeat(np.arange(len(rows_with)), np.diff(sub_ptr))
    valid = holder >= 0
    weight = 1.0 / np.maximum(readers[deps[valid]], 1)
    counts = np.bincount(rows[valid] * n_workers + holder[valid], weights=weight,
                         minlength=len(rows_with) * n_workers).reshape(-1, n_workers)
    located = counts.max(axis=1) > 0
    choice[rows_with[located]] = counts.argmax(axis=1)[located]
    return choice


@st.composite
def placements(draw):
    n = draw(st.integers(1, 30))
    deps = [sorted(set(draw(st.lists(st.integers(0, t - 1), max_size=4)))) if t else []
            for t in range(n)]
    n_workers = draw(st.integers(2, 4))
    wids = np.array(sorted(draw(st.sets(st.integers(1, 9), min_size=n_workers,
                                        max_size=n_workers))), dtype=np.int64)
    open_ = np.array(draw(st.lists(st.booleans(), min_size=n_workers, max_size=n_workers)))
    where = np.array(draw(st.lists(st.sampled_from([-1, 0, 3, 12] + wids.tolist()),
                                   min_size=n, max_size=n)), dtype=np.int64)
    readers = np.array(draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n)),
                       dtype=np.int64)
    ids = np.array(draw(st.lists(st.integers(0, n - 1), max_size=n)), dtype=np.int64)
    return deps, n_workers, wids, open_, where, readers, ids


@settings(deadline=None, max_examples=200)
@given(placements())
def test_by_inputs_matches_the_numpy_weighing(case):
    deps, n_workers, wids, open_, where, readers, ids = case
    ptr, idx = csr(deps)
    position = np.full(int(wids.max()) + 1, -1, dtype=np.int64)
    position[wids[open_]] = np.flatnonzero(open_)
    got = by_inputs(ids, ptr, idx, where, readers, position, n_workers)
    assert got.tolist() == by_inputs_reference(ids, ptr, idx, where, readers, position,
                                               n_workers).tolist()


@settings(deadline=None, max_examples=100)
@given(placements())
def test_gather_matches_take_rows(case):
    deps, _, _, _, where, _, ids = case
    ptr, idx = csr(deps)
    keys = np.arange(100, 100 + len(deps), dtype=np.int64)
    got_ptr, got_keys, got_where = gather(ids, ptr, idx, keys, where)
    ref_ptr, ref_deps = take_rows(ptr, idx, ids)
    assert got_ptr.tolist() == ref_ptr.tolist()
    assert got_keys.tolist() == keys[ref_deps].tolist()
    assert got_where.tolist() == where[ref_deps].tolist()


@given(st.lists(st.integers(-3, 5)))
def test_groups_list_each_value_once_with_its_indices_in_order(owner):
    owner = np.array(owner, dtype=np.int64)
    expected = {}
    for i, value in enumerate(owner.tolist()):
        expected.setdefault(value, []).append(i)
    got = split_by(owner)
    assert [v for v, _ in got] == sorted(expected)
    assert all(index.tolist() == expected[v] for v, index in got)
    order, values, bounds = groups(owner)
    assert len(bounds) == len(values) + 1 and bounds[-1] == len(owner)
