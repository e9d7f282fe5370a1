"""The worker's waiting set: tasks sent ahead, held until their inputs are here.

The scheduler sends some dependents with the batch that makes their inputs
(``ahead`` batches, see ``lamina.scheduler.dispatch``). Each waits here,
counting its inputs not yet in memory; the thread that stores the last one
takes it and runs it at once, without a scheduler round trip::

    waiting = WaitingSet()
    ready = waiting.hold(batch, data.__contains__)   # held indices runnable now
    follow = waiting.produced(key)                   # (batch, index) now runnable

A pool thread calls ``produced`` while the event loop calls the others, so
every method takes the lock; a task is taken (to run) or dropped (the
scheduler took it back) exactly once.
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class WaitingSet:
    """Held tasks by (run, task), and the entries waiting on each input key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._entries: dict[tuple[int, int], list] = {}
        self._by_key: dict[int, list[list]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def hold(self, batch: Any, present: Callable[[int], bool]) -> list[int]:
        """Hold the tasks of a batch sent ahead (from ``batch.n_now`` on); return the
        indices whose inputs are all here already (they are not held: run them)."""
        ready = []
        rid, ptr, keys = batch.run.id, batch.dep_ptr, batch.dep_keys
        with self.lock:
            for i in range(batch.n_now, len(batch.tasks)):
                task = batch.tasks[i]
                missing = [k for k in set(keys[ptr[i]:ptr[i + 1]]) if not present(k)]
                if not missing:
                    ready.append(i)
                    continue
                entry = [batch, i, len(missing), missing]
                self._entries[(rid, task)] = entry
                for key in missing:
                    self._by_key.setdefault(key, []).append(entry)
        return ready

    def produced(self, key: int) -> list[tuple[Any, int]]:
        """``key`` is now in memory: the held tasks that no longer wait, taken to run."""
        if not self._by_key:
            return []
        out = []
        with self.lock:
            for entry in self._by_key.pop(key, ()):
                if entry[2] <= 0:
                    continue
                entry[2] -= 1
                if entry[2] == 0:
                    batch, i = entry[0], entry[1]
                    del self._entries[(batch.run.id, batch.tasks[i])]
                    out.append((batch, i))
        return out

    def drop(self, rid: int, tasks: list[int], key_base: int | None = None) -> list[int]:
        """Stop holding ``tasks`` of run ``rid``; return those that were held.

        With ``key_base``, also drop (transitively) the held tasks that wait
        on the results of ``tasks``: those will not be made here.
        """
        out = []
        with self.lock:
            stack = list(tasks)
            while stack:
                task = stack.pop()
                entry = self._entries.pop((rid, task), None)
                if entry is not None:
                    entry[2] = -1
                    out.append(task)
                if key_base is not None:
                    for waiter in self._by_key.pop(key_base + task, ()):
                        if waiter[2] > 0:
                            stack.append(waiter[0].tasks[waiter[1]])
            self._forget_dropped()
        return out

    def drop_run(self, rid: int) -> None:
        """Stop holding every task of run ``rid`` (cancelled or forgotten)."""
        with self.lock:
            for key in [k for k in self._entries if k[0] == rid]:
                self._entries.pop(key)[2] = -1
            self._forget_dropped()

    def _forget_dropped(self) -> None:
        for key in list(self._by_key):
            live = [e for e in self._by_key[key] if e[2] > 0]
            if live:
                self._by_key[key] = live
            else:
                del self._by_key[key]
