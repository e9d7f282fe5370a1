# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled inner loops of placement and dispatch, run once per batch.

A worker's report is answered by choosing workers for the next ready tasks
and packing their inputs into a ``compute`` message. With NumPy each step
is a dozen small-array calls whose fixed cost, paid on every report,
outweighed the work on batches of tens of tasks; here each is one C loop::

    choice = by_inputs(ids, dep_ptr, dep_idx, where, readers, position, n_workers)
    ptr, keys, places = gather(ids, dep_ptr, dep_idx, task_keys, where)
    order, values, bounds = groups(owner)
"""

import numpy as np
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc


def by_inputs(ids, dep_ptr, dep_idx, where, readers, position, int64_t n_workers):
    """For each task of ``ids``, the worker position holding most of its inputs.

    An input counts ``1 / max(readers[input], 1)`` for the position
    ``position[where[input]]`` (skipped where either is negative or out of
    range); ties go to the lowest position; -1 where no input is located.
    """
    cdef const int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
    cdef const int64_t[::1] ptr = np.ascontiguousarray(dep_ptr, dtype=np.int64)
    cdef const int64_t[::1] idx = np.ascontiguousarray(dep_idx, dtype=np.int64)
    cdef const int64_t[::1] wh = np.ascontiguousarray(where, dtype=np.int64)
    cdef const int64_t[::1] rd = np.ascontiguousarray(readers, dtype=np.int64)
    cdef const int64_t[::1] pos = np.ascontiguousarray(position, dtype=np.int64)
    cdef int64_t n = sel.shape[0], n_pos = pos.shape[0], r, t, k, d, h, p, j, best
    out_arr = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] out = out_arr
    if n_workers <= 0:
        return out_arr
    cdef double* counts = <double*> malloc(n_workers * sizeof(double))
    if counts == NULL:
        raise MemoryError()
    try:
        with nogil:
            for r in range(n):
                t = sel[r]
                if ptr[t] == ptr[t + 1]:
                    continue
                for j in range(n_workers):
                    counts[j] = 0.0
                for k in range(ptr[t], ptr[t + 1]):
                    d = idx[k]
                    h = wh[d]
                    if h < 0 or h >= n_pos:
                        continue
                    p = pos[h]
                    if p < 0 or p >= n_workers:
                        continue
                    counts[p] += 1.0 / (rd[d] if rd[d] > 1 else 1)
                best = 0
                for j in range(1, n_workers):
                    if counts[j] > counts[best]:
                        best = j
                if counts[best] > 0:
                    out[r] = best
    finally:
        free(counts)
    return out_arr


def gather(ids, dep_ptr, dep_idx, keys, where):
    """The inputs of ``ids`` as a CSR: ``(ptr, keys of the inputs, their holders)``."""
    cdef const int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
    cdef const int64_t[::1] ptr = np.ascontiguousarray(dep_ptr, dtype=np.int64)
    cdef const int64_t[::1] idx = np.ascontiguousarray(dep_idx, dtype=np.int64)
    cdef const int64_t[::1] ky = np.ascontiguousarray(keys, dtype=np.int64)
    cdef const int64_t[::1] wh = np.ascontiguousarray(where, dtype=np.int64)
    cdef int64_t n = sel.shape[0], r, t, k, m = 0
    out_ptr_arr = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] out_ptr = out_ptr_arr
    out_ptr[0] = 0
    for r in range(n):
        t = sel[r]
        m += ptr[t + 1] - ptr[t]
        out_ptr[r + 1] = m
    keys_arr = np.empty(m, dtype=np.int64)
    where_arr = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] out_keys = keys_arr
    cdef int64_t[::1] out_where = where_arr
    with nogil:
        m = 0
        for r in range(n):
            t = sel[r]
            for k in range(ptr[t], ptr[t + 1]):
                out_keys[m] = ky[idx[k]]
                out_where[m] = wh[idx[k]]
                m += 1
    return out_ptr_arr, keys_arr, where_arr


def groups(owner):
    """Indices into ``owner`` grouped by value: ``(order, values, bounds)``.

    ``order[bounds[i]:bounds[i + 1]]`` are the indices holding ``values[i]``,
    ascending; the values rise.
    """
    owner_arr = np.ascontiguousarray(owner, dtype=np.int64)
    order_arr = np.argsort(owner_arr, kind="stable")
    cdef const int64_t[::1] own = owner_arr
    cdef const int64_t[::1] order = order_arr
    cdef int64_t n = own.shape[0], i, g = 0
    values_arr = np.empty(n, dtype=np.int64)
    bounds_arr = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] values = values_arr
    cdef int64_t[::1] bounds = bounds_arr
    for i in range(n):
        if i == 0 or own[order[i]] != own[order[i - 1]]:
            values[g] = own[order[i]]
            bounds[g] = i
            g += 1
    bounds[g] = n
    return order_arr, values_arr[:g], bounds_arr[:g + 1]
