# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled task state machine, on integer task ids.

It does no I/O and calls no user code: a driver (the embedded runner, or
later the network server) asks it for ready tasks, tells it which finished
or failed, and frees what it says is no longer needed::

    state = GraphState(dep_indptr, dep_indices, priority, keep)
    ids = state.pop_ready(8)          # highest priority first, now RUNNING
    freed = state.finish(ids)         # ids whose values may be dropped
    done, freed = state.finish_on(ids, where, wid)   # a worker's report, in one pass
    erred = state.fail(task_id)       # the task and all its dependents
    again = state.lose(ids)           # their worker left: ids that must run again
    state.ahead(ids)                  # sent ahead: they wait on their worker (AHEAD)
    promoted = state.promoted()       # AHEAD tasks whose inputs are all done: RUNNING

Every table is a NumPy int64/uint8 array; every transition is a C loop.
"""

import numpy as np
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memset

WAITING = 0
READY = 1
RUNNING = 2
DONE = 3
RELEASED = 4
ERRED = 5
AHEAD = 6

cdef enum:
    S_WAITING = 0
    S_READY = 1
    S_RUNNING = 2
    S_DONE = 3
    S_RELEASED = 4
    S_ERRED = 5
    S_AHEAD = 6


def dependents_of(dep_indptr, dep_indices):
    """Transpose a dependency CSR into the dependents CSR."""
    cdef int64_t[::1] ip = np.ascontiguousarray(dep_indptr, dtype=np.int64)
    cdef int64_t[::1] ix = np.ascontiguousarray(dep_indices, dtype=np.int64)
    cdef int64_t n = ip.shape[0] - 1
    cdef int64_t m = ix.shape[0]
    out_ptr_arr = np.zeros(n + 1, dtype=np.int64)
    out_idx_arr = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] optr = out_ptr_arr
    cdef int64_t[::1] oidx = out_idx_arr
    cdef int64_t t, k, d, pos
    for k in range(m):
        optr[ix[k] + 1] += 1
    for t in range(n):
        optr[t + 1] += optr[t]
    fill_arr = out_ptr_arr[:-1].copy()
    cdef int64_t[::1] fill = fill_arr
    for t in range(n):
        for k in range(ip[t], ip[t + 1]):
            d = ix[k]
            pos = fill[d]
            oidx[pos] = t
            fill[d] = pos + 1
    return out_ptr_arr, out_idx_arr


def depth_first_priority(dep_indptr, dep_indices, roots):
    """Post-order ranks from a depth-first walk of the roots' dependencies.

    A task's inputs get ranks just before it, so running the lowest rank
    first finishes one output before starting many: memory stays bounded
    by what one branch holds.
    """
    cdef int64_t[::1] ip = np.ascontiguousarray(dep_indptr, dtype=np.int64)
    cdef int64_t[::1] ix = np.ascontiguousarray(dep_indices, dtype=np.int64)
    cdef int64_t[::1] rt = np.ascontiguousarray(roots, dtype=np.int64)
    cdef int64_t n = ip.shape[0] - 1
    prio_arr = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] prio = prio_arr
    stack_arr = np.empty(n + 1, dtype=np.int64)
    pos_arr = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] stack = stack_arr
    cdef int64_t[::1] spos = pos_arr
    seen_arr = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] seen = seen_arr
    cdef int64_t counter = 0, top, node, child, r, i
    for i in range(rt.shape[0] + n):
        r = rt[i] if i < rt.shape[0] else i - rt.shape[0]
        if seen[r]:
            continue
        seen[r] = 1
        top = 0
        stack[0] = r
        spos[0] = ip[r]
        while top >= 0:
            node = stack[top]
            if spos[top] < ip[node + 1]:
                child = ix[spos[top]]
                spos[top] += 1
                if not seen[child]:
                    seen[child] = 1
                    top += 1
                    stack[top] = child
                    spos[top] = ip[child]
            else:
                prio[node] = counter
                counter += 1
                top -= 1
    return prio_arr


cdef class GraphState:
    """Task states, unfinished-dependency counts and a ready heap."""

    cdef int64_t[::1] dep_ptr
    cdef int64_t[::1] dep_idx
    cdef int64_t[::1] dpt_ptr
    cdef int64_t[::1] dpt_idx
    cdef int64_t[::1] waiting
    cdef int64_t[::1] holders
    cdef int64_t[::1] priority
    cdef uint8_t[::1] keep
    cdef uint8_t[::1] _state
    cdef int64_t[::1] heap
    cdef readonly int64_t n_tasks
    cdef readonly int64_t n_ready
    cdef readonly int64_t n_running
    cdef readonly int64_t n_done
    cdef readonly int64_t n_erred
    cdef readonly int64_t n_released
    cdef object _arrays
    # speculative dispatch: tasks sent ahead, promoted when their inputs finish
    cdef readonly int64_t n_ahead
    cdef int64_t[::1] _promoted
    cdef int64_t n_promoted
    cdef object _visit
    cdef int64_t _stamp

    def __init__(self, dep_indptr, dep_indices, priority, keep):
        dep_indptr = np.ascontiguousarray(dep_indptr, dtype=np.int64)
        dep_indices = np.ascontiguousarray(dep_indices, dtype=np.int64)
        priority = np.ascontiguousarray(priority, dtype=np.int64)
        keep = np.ascontiguousarray(keep, dtype=np.uint8)
        n = dep_indptr.shape[0] - 1
        if priority.shape[0] != n or keep.shape[0] != n:
            raise ValueError(
                f"priority ({priority.shape[0]}) and keep ({keep.shape[0]}) "
                f"must have one entry per task ({n})"
            )
        if dep_indices.shape[0] and (dep_indices.min() < 0 or dep_indices.max() >= n):
            raise ValueError("dependency ids must lie in [0, n_tasks)")
        dpt_indptr, dpt_indices = dependents_of(dep_indptr, dep_indices)
        waiting = (dep_indptr[1:] - dep_indptr[:-1]).astype(np.int64)
        holders = (dpt_indptr[1:] - dpt_indptr[:-1]).astype(np.int64)
        state = np.zeros(n, dtype=np.uint8)
        heap = np.empty(n, dtype=np.int64)
        self._arrays = (dep_indptr, dep_indices, dpt_indptr, dpt_indices, priority, keep)
        self.dep_ptr = dep_indptr
        self.dep_idx = dep_indices
        self.dpt_ptr = dpt_indptr
        self.dpt_idx = dpt_indices
        self.priority = priority
        self.keep = keep
        self.waiting = waiting
        self.holders = holders
        self._state = state
        self.heap = heap
        self.n_tasks = n
        self.n_ready = 0
        self.n_running = 0
        self.n_done = 0
        self.n_erred = 0
        self.n_released = 0
        self.n_ahead = 0
        self._promoted = np.empty(n, dtype=np.int64)
        self.n_promoted = 0
        cdef int64_t t
        for t in range(n):
            if self.waiting[t] == 0:
                self._push(t)

    # heap ---------------------------------------------------------------
    cdef inline void _push(self, int64_t t) noexcept nogil:
        cdef int64_t i = self.n_ready, parent
        self._state[t] = S_READY
        self.n_ready += 1
        while i > 0:
            parent = (i - 1) >> 1
            if self.priority[self.heap[parent]] <= self.priority[t]:
                break
            self.heap[i] = self.heap[parent]
            i = parent
        self.heap[i] = t

    cdef inline int64_t _pop(self) noexcept nogil:
        cdef int64_t top = self.heap[0]
        cdef int64_t last, i = 0, child, n
        self.n_ready -= 1
        n = self.n_ready
        if n > 0:
            last = self.heap[n]
            while True:
                child = 2 * i + 1
                if child >= n:
                    break
                if child + 1 < n and self.priority[self.heap[child + 1]] < self.priority[self.heap[child]]:
                    child += 1
                if self.priority[self.heap[child]] >= self.priority[last]:
                    break
                self.heap[i] = self.heap[child]
                i = child
            self.heap[i] = last
        return top

    # transitions ----------------------------------------------------------
    def pop_ready(self, int64_t max_n):
        """Up to ``max_n`` ready tasks, best priority first; they become RUNNING."""
        cdef int64_t k = min(max_n, self.n_ready), i, t
        out_arr = np.empty(k, dtype=np.int64)
        cdef int64_t[::1] out = out_arr
        with nogil:
            for i in range(k):
                t = self._pop()
                self._state[t] = S_RUNNING
                out[i] = t
            self.n_running += k
        return out_arr

    def finish(self, ids):
        """Mark tasks DONE; return the ids whose values can now be freed."""
        cdef int64_t[::1] done = np.ascontiguousarray(ids, dtype=np.int64)
        freed_arr = np.empty(self.dep_idx.shape[0] + done.shape[0], dtype=np.int64)
        cdef int64_t[::1] freed = freed_arr
        cdef int64_t nfreed = 0, i
        with nogil:
            for i in range(done.shape[0]):
                if self._state[done[i]] == S_RUNNING:
                    nfreed = self._finish_one(done[i], freed, nfreed)
        return freed_arr[:nfreed]

    def finish_on(self, ids, where, int64_t wid):
        """``finish`` the ``ids`` RUNNING on worker ``wid`` (``where``), in order, in one
        pass: a worker's report. Returns ``(the ids finished, the ids to free)``.

        An AHEAD task listed after its last input is promoted when that input
        finishes, so it finishes too; other ids (stale, elsewhere) are ignored.
        """
        cdef int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
        cdef const int64_t[::1] wh = where
        self._check_ids(sel)
        freed_arr = np.empty(self.dep_idx.shape[0] + sel.shape[0], dtype=np.int64)
        done_arr = np.empty(sel.shape[0], dtype=np.int64)
        cdef int64_t[::1] freed = freed_arr
        cdef int64_t[::1] done = done_arr
        cdef int64_t nfreed = 0, ndone = 0, i, t
        with nogil:
            for i in range(sel.shape[0]):
                t = sel[i]
                if wh[t] == wid and self._state[t] == S_RUNNING:
                    nfreed = self._finish_one(t, freed, nfreed)
                    done[ndone] = t
                    ndone += 1
        return done_arr[:ndone], freed_arr[:nfreed]

    cdef int64_t _finish_one(self, int64_t t, int64_t[::1] freed, int64_t nfreed) noexcept nogil:
        """RUNNING task ``t`` is DONE: count it off its dependents and inputs."""
        cdef int64_t k, d
        self._state[t] = S_DONE
        self.n_running -= 1
        self.n_done += 1
        for k in range(self.dpt_ptr[t], self.dpt_ptr[t + 1]):
            d = self.dpt_idx[k]
            self.waiting[d] -= 1
            if self.waiting[d] == 0 and self._state[d] == S_WAITING:
                self._push(d)
            elif self.waiting[d] == 0 and self._state[d] == S_AHEAD:
                self._promote(d)
        for k in range(self.dep_ptr[t], self.dep_ptr[t + 1]):
            d = self.dep_idx[k]
            self.holders[d] -= 1
            if self.holders[d] == 0 and not self.keep[d] and self._state[d] == S_DONE:
                self._state[d] = S_RELEASED
                self.n_released += 1
                freed[nfreed] = d
                nfreed += 1
        if self.holders[t] == 0 and not self.keep[t]:
            self._state[t] = S_RELEASED
            self.n_released += 1
            freed[nfreed] = t
            nfreed += 1
        return nfreed

    def fail(self, int64_t task):
        """Mark a task and every task depending on it ERRED; return their ids."""
        if self._state[task] == S_RUNNING:
            self.n_running -= 1
        out = []
        stack = [task]
        cdef int64_t t, k, d
        while stack:
            t = stack.pop()
            if self._state[t] == S_ERRED:
                continue
            if self._state[t] == S_READY:
                self._remove_ready(t)
            elif self._state[t] == S_AHEAD:
                self.n_ahead -= 1
            self._state[t] = S_ERRED
            self.n_erred += 1
            out.append(t)
            for k in range(self.dpt_ptr[t], self.dpt_ptr[t + 1]):
                d = self.dpt_idx[k]
                if self._state[d] != S_ERRED:
                    stack.append(d)
        return np.asarray(out, dtype=np.int64)

    def lose(self, ids):
        """Forget the work and results of ``ids`` (their worker left); return what runs again.

        A RUNNING task among ``ids`` goes back to WAITING, or READY when its
        inputs are all DONE. A DONE one is still needed (an unfinished
        dependent reads it, or it is kept), so it goes back too, and its
        READY dependents wait for it again. Any task that must run again
        needs its inputs: RELEASED ones run again as well, and so on down
        the graph. Ids that are WAITING, READY, RELEASED or ERRED are left
        as they are (there is nothing to forget), so a repeated or late
        report is harmless.

        Counts stay exact afterwards: a waiting task counts its inputs that
        are not DONE, a value counts its dependents that have not finished.
        A RUNNING dependent elsewhere is left RUNNING: it either already has
        the input (and finishes) or reports it missing (and is lost in turn).
        Returns the ids that must run again (now WAITING or READY).
        """
        cdef int64_t[::1] lost = np.ascontiguousarray(ids, dtype=np.int64)
        cdef int64_t n = self.n_tasks
        self._check_ids(lost)
        # mark: 1 = runs again, 2 = waits again for a result that went back
        mark_arr = np.zeros(n, dtype=np.uint8)
        again_arr = np.empty(n, dtype=np.int64)
        recount_arr = np.empty(n, dtype=np.int64)
        cdef uint8_t[::1] mark = mark_arr
        cdef int64_t[::1] again = again_arr
        cdef int64_t[::1] recount = recount_arr
        cdef int64_t n_again = 0, n_recount = 0, head = 0, i, k, t, p, c
        cdef uint8_t s
        cdef bint demoted = False
        with nogil:
            for i in range(lost.shape[0]):
                t = lost[i]
                s = self._state[t]
                if (s == S_RUNNING or s == S_DONE or s == S_AHEAD) and not mark[t]:
                    mark[t] = 1
                    again[n_again] = t
                    n_again += 1
            while head < n_again:
                t = again[head]
                head += 1
                s = self._state[t]
                if s == S_DONE or s == S_RELEASED:
                    for k in range(self.dep_ptr[t], self.dep_ptr[t + 1]):
                        self.holders[self.dep_idx[k]] += 1
                    for k in range(self.dpt_ptr[t], self.dpt_ptr[t + 1]):
                        c = self.dpt_idx[k]
                        if not mark[c] and (self._state[c] == S_WAITING
                                            or self._state[c] == S_READY):
                            mark[c] = 2
                            recount[n_recount] = c
                            n_recount += 1
                for k in range(self.dpt_ptr[t], self.dpt_ptr[t + 1]):
                    c = self.dpt_idx[k]
                    if self._state[c] == S_AHEAD and not mark[c]:
                        mark[c] = 1
                        again[n_again] = c
                        n_again += 1
                for k in range(self.dep_ptr[t], self.dep_ptr[t + 1]):
                    p = self.dep_idx[k]
                    if self._state[p] == S_RELEASED and not mark[p]:
                        mark[p] = 1
                        again[n_again] = p
                        n_again += 1
            for i in range(n_again):
                t = again[i]
                s = self._state[t]
                if s == S_RUNNING:
                    self.n_running -= 1
                elif s == S_AHEAD:
                    self.n_ahead -= 1
                else:
                    self.n_done -= 1
                    if s == S_RELEASED:
                        self.n_released -= 1
                self._state[t] = S_WAITING
            for i in range(n_recount):
                t = recount[i]
                if self._state[t] == S_READY:
                    self._state[t] = S_WAITING
                    demoted = True
            if demoted:
                k = 0
                for i in range(self.n_ready):
                    if self._state[self.heap[i]] == S_READY:
                        self.heap[k] = self.heap[i]
                        k += 1
                self.n_ready = 0
                for i in range(k):
                    t = self.heap[i]
                    self._push(t)
            for i in range(n_again + n_recount):
                t = again[i] if i < n_again else recount[i - n_again]
                c = 0
                for k in range(self.dep_ptr[t], self.dep_ptr[t + 1]):
                    if self._state[self.dep_idx[k]] != S_DONE:
                        c += 1
                self.waiting[t] = c
                if c == 0:
                    self._push(t)
        return again_arr[:n_again].copy()

    cdef int _check_ids(self, int64_t[::1] ids) except -1:
        cdef int64_t i
        for i in range(ids.shape[0]):
            if ids[i] < 0 or ids[i] >= self.n_tasks:
                raise ValueError(f"task id {ids[i]} is not in [0, {self.n_tasks})")
        return 0

    cdef void _remove_ready(self, int64_t t):
        cdef int64_t i, j = 0, n = self.n_ready
        keep = []
        for i in range(n):
            if self.heap[i] != t:
                keep.append(self.heap[i])
        self.n_ready = 0
        for i in keep:
            self._push(i)

    # speculative dispatch -------------------------------------------------
    cdef inline void _promote(self, int64_t t) noexcept nogil:
        self._state[t] = S_RUNNING
        self.n_ahead -= 1
        self.n_running += 1
        self._promoted[self.n_promoted] = t
        self.n_promoted += 1

    def ahead(self, ids):
        """Mark WAITING ``ids`` as sent ahead (AHEAD); return those marked.

        An AHEAD task waits on its worker for its inputs. When the last of
        them finishes it becomes RUNNING (see ``promoted``) without passing
        through the ready heap; ``lose`` sends it back to WAITING.
        """
        cdef int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
        self._check_ids(sel)
        out_arr = np.empty(sel.shape[0], dtype=np.int64)
        cdef int64_t[::1] out = out_arr
        cdef int64_t i, t, k = 0
        with nogil:
            for i in range(sel.shape[0]):
                t = sel[i]
                if self._state[t] == S_WAITING and self.waiting[t] > 0:
                    self._state[t] = S_AHEAD
                    self.n_ahead += 1
                    out[k] = t
                    k += 1
        return out_arr[:k]

    def send_ahead(self, frontier, int64_t wid, where, task_layer, hinted, int64_t n_layers,
                   int64_t depth, int64_t budget, blocked, int64_t max_inputs=-1):
        """Choose dependents of ``frontier`` to send ahead to worker ``wid``; mark them AHEAD.

        Walks up to ``depth`` levels of dependents along hinted layer edges
        (``hinted``: sorted codes ``producer layer * n_layers + consumer
        layer``), through tasks already AHEAD there. A WAITING task goes
        when every input is DONE, RUNNING or AHEAD on ``wid`` (``where``,
        set in place for the tasks chosen), ``blocked`` is 0 for it and it has
        at most ``max_inputs`` inputs (-1: any number); at most ``budget`` go.
        Returns their ids, nearest first.
        """
        cdef int64_t[::1] fr = np.ascontiguousarray(frontier, dtype=np.int64)
        cdef int64_t[::1] wh = where
        cdef int64_t[::1] lay = np.ascontiguousarray(task_layer, dtype=np.int64)
        cdef int64_t[::1] hc = np.ascontiguousarray(hinted, dtype=np.int64)
        cdef uint8_t[::1] blk = blocked
        self._check_ids(fr)
        if self._visit is None:
            self._visit = np.zeros(self.n_tasks, dtype=np.int64)
        self._stamp += 1
        cdef int64_t[::1] visit = self._visit
        cdef int64_t stamp = self._stamp
        queue_arr = np.empty(0, dtype=np.int64)
        level_arr = np.empty(0, dtype=np.int64)
        out = []
        cdef int64_t[::1] queue
        cdef int64_t[::1] level
        cdef int64_t head = 0, tail = 0, i, k, j, t, c, d, code, lo, hi, mid
        cdef uint8_t sd
        cdef bint ok
        if budget <= 0 or depth <= 0 or hc.shape[0] == 0:
            return np.empty(0, dtype=np.int64)
        cap = fr.shape[0] + budget + 64
        queue_arr = np.empty(cap, dtype=np.int64)
        level_arr = np.empty(cap, dtype=np.int64)
        queue = queue_arr
        level = level_arr
        for i in range(fr.shape[0]):
            if visit[fr[i]] != stamp:
                visit[fr[i]] = stamp
                queue[tail] = fr[i]
                level[tail] = 0
                tail += 1
        while head < tail and budget > 0:
            t = queue[head]
            if level[head] >= depth:
                head += 1
                continue
            for k in range(self.dpt_ptr[t], self.dpt_ptr[t + 1]):
                c = self.dpt_idx[k]
                if visit[c] == stamp:
                    continue
                code = lay[t] * n_layers + lay[c]
                lo = 0
                hi = hc.shape[0]
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if hc[mid] < code:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo == hc.shape[0] or hc[lo] != code:
                    continue
                sd = self._state[c]
                if sd == S_AHEAD and wh[c] == wid:
                    ok = True
                elif (sd == S_WAITING and not blk[c] and budget > 0
                      and (max_inputs < 0 or self.dep_ptr[c + 1] - self.dep_ptr[c] <= max_inputs)):
                    ok = True
                    for j in range(self.dep_ptr[c], self.dep_ptr[c + 1]):
                        d = self.dep_idx[j]
                        if wh[d] != wid or not (self._state[d] == S_DONE
                                                or self._state[d] == S_RUNNING
                                                or self._state[d] == S_AHEAD):
                            ok = False
                            break
                    if ok:
                        self._state[c] = S_AHEAD
                        self.n_ahead += 1
                        wh[c] = wid
                        budget -= 1
                        out.append(c)
                else:
                    ok = False
                if not ok:
                    continue
                visit[c] = stamp
                if tail == queue.shape[0]:
                    queue_arr = np.concatenate([queue_arr, np.empty(tail, dtype=np.int64)])
                    level_arr = np.concatenate([level_arr, np.empty(tail, dtype=np.int64)])
                    queue = queue_arr
                    level = level_arr
                queue[tail] = c
                level[tail] = level[head] + 1
                tail += 1
            head += 1
        return np.asarray(out, dtype=np.int64)

    def promoted(self):
        """The AHEAD tasks that became RUNNING since the last call, in order."""
        out = np.asarray(self._promoted[:self.n_promoted]).copy()
        self.n_promoted = 0
        return out

    def claim(self, ids):
        """Take READY ``ids`` out of the ready heap as RUNNING; return those taken.

        For tasks placed by a decision other than priority order (a steal
        hands them to the thief).
        """
        cdef int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
        self._check_ids(sel)
        out_arr = np.empty(sel.shape[0], dtype=np.int64)
        cdef int64_t[::1] out = out_arr
        cdef int64_t i, t, k = 0, m = 0
        with nogil:
            for i in range(sel.shape[0]):
                t = sel[i]
                if self._state[t] == S_READY:
                    self._state[t] = S_RUNNING
                    out[k] = t
                    k += 1
            if k:
                for i in range(self.n_ready):
                    if self._state[self.heap[i]] == S_READY:
                        self.heap[m] = self.heap[i]
                        m += 1
                self.n_ready = 0
                for i in range(m):
                    self._push(self.heap[i])
                self.n_running += k
        return out_arr[:k]

    # inspection -----------------------------------------------------------
    @property
    def finished(self):
        """True when no task can make progress any more."""
        return self.n_ready == 0 and self.n_running == 0

    @property
    def complete(self):
        """True when every task is DONE or RELEASED."""
        return self.n_done == self.n_tasks

    def states_of(self, ids):
        """The states of ``ids``, as a uint8 array."""
        cdef int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
        self._check_ids(sel)
        out_arr = np.empty(sel.shape[0], dtype=np.uint8)
        cdef uint8_t[::1] out = out_arr
        cdef int64_t i
        for i in range(sel.shape[0]):
            out[i] = self._state[sel[i]]
        return out_arr

    def counts(self):
        """Copies of the per-task counts: (unfinished inputs, unfinished dependents).

        The first is exact for WAITING and READY tasks, the second for every
        task not ERRED; a value is freed when its second count reaches zero.
        """
        return np.asarray(self.waiting).copy(), np.asarray(self.holders).copy()

    def dependents_left(self, ids):
        """For each of ``ids``, how many of its dependents have not finished."""
        cdef int64_t[::1] sel = np.ascontiguousarray(ids, dtype=np.int64)
        self._check_ids(sel)
        return np.asarray(self.holders)[np.asarray(sel)].copy()

    def readers(self):
        """Per task, how many of its dependents have not finished: a read-only view of
        the live counts (no copy), for placement on every report."""
        view = np.asarray(self.holders)
        view.flags.writeable = False
        return view

    def state_of(self, int64_t task):
        return self._state[task]

    def states(self):
        return np.asarray(self._state).copy()

    # diagnostics: counts per layer and state (read by the dashboard) ----------
    def layer_counts(self, layer_offsets):
        """Tasks per (layer, state): an ``(n_layers, 7)`` int64 table, one C pass.

        Layer ``i`` owns tasks ``layer_offsets[i]:layer_offsets[i + 1]`` (as
        the lowering numbers them). Computed when asked, so that watching
        costs the transitions nothing.
        """
        cdef const int64_t[::1] off = np.ascontiguousarray(layer_offsets, dtype=np.int64)
        cdef Py_ssize_t n_layers = off.shape[0] - 1
        if (n_layers < 0 or off[0] != 0 or off[n_layers] != self.n_tasks
                or np.any(np.diff(np.asarray(off)) < 0)):
            raise ValueError(f"layer_offsets must rise from 0 to the number of tasks "
                             f"({self.n_tasks})")
        out_arr = np.zeros((n_layers, 7), dtype=np.int64)
        cdef int64_t[:, ::1] out = out_arr
        cdef int64_t c[4][8]
        cdef int64_t t, s, lo, hi
        cdef Py_ssize_t layer
        cdef const uint8_t* st = &self._state[0] if self.n_tasks else NULL
        with nogil:
            for layer in range(n_layers):
                memset(c, 0, sizeof(c))
                lo = off[layer]
                hi = off[layer + 1]
                t = lo
                while t + 4 <= hi:      # four histograms: no wait on the last increment
                    c[0][st[t] & 7] += 1
                    c[1][st[t + 1] & 7] += 1
                    c[2][st[t + 2] & 7] += 1
                    c[3][st[t + 3] & 7] += 1
                    t += 4
                while t < hi:
                    c[0][st[t] & 7] += 1
                    t += 1
                for s in range(7):
                    out[layer, s] = c[0][s] + c[1][s] + c[2][s] + c[3][s]
        return out_arr
