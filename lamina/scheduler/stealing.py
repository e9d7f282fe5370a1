"""Work stealing: which idle workers take queued tasks from which busy ones.

Pure, like ``placement``: the server passes per-worker arrays and gets
``(victim, thief, n)`` position triples back. A steal costs a round trip
to the victim (it gives up only tasks it has not started) and one out to
the thief, about ``STEAL_SECONDS``; it is worth it when the queued work
the thief would take would otherwise wait longer than that on the victim::

    steals = choose_steals(in_flight, nthreads, seconds_per_task, busy)
"""

from __future__ import annotations

import numpy as np

STEAL_SECONDS = 2e-3


def choose_steals(in_flight: np.ndarray, nthreads: np.ndarray, seconds_per_task: np.ndarray,
                  busy: np.ndarray) -> list[tuple[int, int, int]]:
    """Steals that pay: each worker with idle threads takes from the most backed-up one.

    ``in_flight``: tasks sent to each worker (``incoming`` steals included)
    and not reported; ``busy``: workers that may take part (a victim with a
    steal unanswered may not). A victim's queue is what exceeds its
    threads; its wait is that queue times its seconds per task over its
    threads. A thief takes at most half of a victim's queue, and no more
    than it has idle threads.
    """
    in_flight = np.asarray(in_flight, dtype=np.int64)
    nthreads = np.asarray(nthreads, dtype=np.int64)
    queued = np.clip(in_flight - nthreads, 0, None)
    wait = queued * np.asarray(seconds_per_task, dtype=np.float64) / np.maximum(nthreads, 1)
    idle = np.clip(nthreads - in_flight, 0, None)
    steals = []
    for thief in np.flatnonzero((idle > 0) & busy).tolist():
        candidates = np.flatnonzero(busy & (queued > 0) & (wait > STEAL_SECONDS))
        candidates = candidates[candidates != thief]
        if not len(candidates):
            break
        victim = int(candidates[np.argmax(wait[candidates])])
        n = int(min(idle[thief], max(queued[victim] // 2, 1)))
        steals.append((victim, thief, n))
        busy = busy.copy()
        busy[victim] = False
        queued[victim] -= n
    return steals
