# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""A ring buffer of task records, in C arrays: no Python object per task.

Each record is (run, task, layer, worker, thread, start, stop), times in
seconds since the epoch. The scheduler feeds it from the workers' reports,
the embedded runner from its threads; the dashboard and the offline report
read what is new since their last look::

    records = TaskRecords(100_000)
    records.add(run, tasks, layers, worker, thread, starts, stops)
    records.add_report(run, tasks, task_layer, worker, thread, began, stops)
    cursor, recent = records.since(0)     # recent: dict of NumPy arrays

When full, the oldest records are overwritten: memory stays fixed however
many tasks run.
"""

import numpy as np
from libc.stdint cimport int32_t, int64_t

FIELDS = ("run", "task", "layer", "worker", "thread", "start", "stop")


cdef class TaskRecords:
    """A fixed-size ring of task records; ``total`` counts every record ever added."""

    cdef int64_t[::1] _run
    cdef int64_t[::1] _task
    cdef int32_t[::1] _layer
    cdef int32_t[::1] _worker
    cdef int32_t[::1] _thread
    cdef double[::1] _start
    cdef double[::1] _stop
    cdef readonly int64_t capacity
    cdef readonly int64_t total
    cdef object _arrays

    def __init__(self, int64_t capacity=100_000):
        if capacity < 1:
            raise ValueError(f"capacity must be 1 or more records, got {capacity}")
        self.capacity = capacity
        self.total = 0
        self._run = np.zeros(capacity, dtype=np.int64)
        self._task = np.zeros(capacity, dtype=np.int64)
        self._layer = np.zeros(capacity, dtype=np.int32)
        self._worker = np.zeros(capacity, dtype=np.int32)
        self._thread = np.zeros(capacity, dtype=np.int32)
        self._start = np.zeros(capacity, dtype=np.float64)
        self._stop = np.zeros(capacity, dtype=np.float64)
        self._arrays = (self._run.base, self._task.base, self._layer.base, self._worker.base,
                        self._thread.base, self._start.base, self._stop.base)

    def add(self, int64_t run, tasks, layers, int32_t worker, int32_t thread, starts, stops):
        """Append one record per task; ``layers``, ``starts``, ``stops`` match ``tasks``."""
        cdef const int64_t[::1] tk = np.ascontiguousarray(tasks, dtype=np.int64)
        cdef const int32_t[::1] ly = np.ascontiguousarray(layers, dtype=np.int32)
        cdef const double[::1] st = np.ascontiguousarray(starts, dtype=np.float64)
        cdef const double[::1] sp = np.ascontiguousarray(stops, dtype=np.float64)
        cdef int64_t n = tk.shape[0], i, pos
        if ly.shape[0] != n or st.shape[0] != n or sp.shape[0] != n:
            raise ValueError(f"layers ({ly.shape[0]}), starts ({st.shape[0]}) and stops "
                             f"({sp.shape[0]}) must have one entry per task ({n})")
        with nogil:
            for i in range(n):
                pos = self.total % self.capacity
                self._run[pos] = run
                self._task[pos] = tk[i]
                self._layer[pos] = ly[i]
                self._worker[pos] = worker
                self._thread[pos] = thread
                self._start[pos] = st[i]
                self._stop[pos] = sp[i]
                self.total += 1

    def add_report(self, int64_t run, tasks, task_layer, int32_t worker, int32_t thread,
                   double began, stops):
        """Append a worker's report of tasks run back to back on one thread: each
        starts when the previous one stopped (the first at ``began``), and its layer
        is ``task_layer[task]``. One C loop: what the scheduler pays per report."""
        cdef const int64_t[::1] tk = np.ascontiguousarray(tasks, dtype=np.int64)
        cdef const int32_t[::1] tl = np.ascontiguousarray(task_layer, dtype=np.int32)
        cdef const double[::1] sp = np.ascontiguousarray(stops, dtype=np.float64)
        cdef int64_t n = tk.shape[0], n_layer = tl.shape[0], i, pos, t
        if sp.shape[0] != n:
            raise ValueError(f"stops ({sp.shape[0]}) must have one entry per task ({n})")
        with nogil:
            for i in range(n):
                t = tk[i]
                if t < 0 or t >= n_layer:
                    with gil:
                        raise IndexError(f"task {t} is not a task of this run")
                pos = self.total % self.capacity
                self._run[pos] = run
                self._task[pos] = t
                self._layer[pos] = tl[t]
                self._worker[pos] = worker
                self._thread[pos] = thread
                self._start[pos] = began if i == 0 else sp[i - 1]
                self._stop[pos] = sp[i]
                self.total += 1

    def since(self, int64_t cursor):
        """``(new cursor, records added at or after cursor)`` still in the ring, oldest first."""
        cdef int64_t first = max(cursor, self.total - self.capacity, 0)
        cdef int64_t n = max(self.total - first, 0)
        index = (np.arange(first, first + n, dtype=np.int64) % self.capacity)
        return self.total, {name: a[index] for name, a in zip(FIELDS, self._arrays)}

    @property
    def dropped(self):
        """Records overwritten before anyone read them all (the oldest ones)."""
        return max(self.total - self.capacity, 0)
