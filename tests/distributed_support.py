"""Helpers shared by the distributed tests (real processes)."""

import os
import sys
import time

import cloudpickle
import numpy as np

from lamina.client import Client, LocalCluster

WAIT = 60

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/


class Gate:
    """Holds each task until ``path`` exists, then adds one."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, block):
        deadline = time.monotonic() + 30
        while not os.path.exists(self.path):
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {self.path} never opened")
            time.sleep(0.01)
        return block + 1


class Boom(Exception):
    """What ``explode_at_row_1000`` raises."""


def explode_at_row_1000(part):
    """A partition-wise function that fails on the partition holding index 1000."""
    if 1000 in part.index:
        raise Boom("row 1000")
    return part


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def idle(client: Client) -> bool:
    info = client.scheduler_info()
    return info["runs"] == 0 and all(w["n_keys"] == 0 for w in client.worker_info())


def connected(cluster: LocalCluster) -> Client:
    """A client of ``cluster`` once every worker has joined the scheduler."""
    client = Client(cluster)
    wait_until(lambda: len(client.scheduler_info()["workers"]) == cluster.n_workers)
    return client


def erred_per_layer(table, task):
    """The failed task and every task that depends on it, counted per layer: what the
    scheduler must mark erred (from the task table, not the state machine)."""
    n = table.n_tasks
    readers = [[] for _ in range(n)]
    for t in range(n):
        for d in table.dep_indices[table.dep_indptr[t]:table.dep_indptr[t + 1]]:
            readers[int(d)].append(t)
    erred, stack = {task}, [task]
    while stack:
        for r in readers[stack.pop()]:
            if r not in erred:
                erred.add(r)
                stack.append(r)
    return np.bincount(table.task_layer[sorted(erred)], minlength=len(table.layers)).tolist()
