# cython: language_level=3, boundscheck=False, wraparound=False
"""The compiled inner loop that runs a batch of ready tasks.

Per task: gather input values from the store by the dependency CSR, call the
layer's kernel with ``(flat block id, inputs)``, store the result. Kept in
C so that trivial tasks cost about a microsecond of overhead.
"""

from cpython.list cimport PyList_New, PyList_SET_ITEM, PyList_GET_ITEM
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t, int32_t
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


def now():
    """Seconds since the epoch, by the clock ``run_batch`` stamps tasks with."""
    return _now()


def run_batch(const int64_t[::1] ids, list kernels, const int32_t[::1] task_layer,
              const int64_t[::1] task_block, const int64_t[::1] dep_ptr,
              const int64_t[::1] dep_idx, list store, double[::1] stops=None):
    """Run ``ids`` in order; return ``(n_ok, error)``.

    ``n_ok`` tasks succeeded; when ``error`` is not None it was raised by task
    ``ids[n_ok]`` and the rest of the batch did not run. ``stops``, when
    given (one entry per id), receives the time each task ended (``now``):
    the diagnostics' task records.
    """
    cdef bint stamp = stops is not None
    cdef Py_ssize_t i, k, start, stop, j
    cdef int64_t t
    cdef object value
    cdef list inputs
    for i in range(ids.shape[0]):
        t = ids[i]
        start = dep_ptr[t]
        stop = dep_ptr[t + 1]
        inputs = PyList_New(stop - start)
        j = 0
        for k in range(start, stop):
            value = <object>PyList_GET_ITEM(store, dep_idx[k])
            Py_INCREF(value)
            PyList_SET_ITEM(inputs, j, value)
            j += 1
        try:
            store[t] = kernels[task_layer[t]](task_block[t], inputs)
        except BaseException as exc:
            return i, exc
        if stamp:
            stops[i] = _now()
    return ids.shape[0], None


def release(list store, const int64_t[::1] ids):
    """Drop stored values that no task needs any more."""
    cdef Py_ssize_t i
    for i in range(ids.shape[0]):
        store[ids[i]] = None
