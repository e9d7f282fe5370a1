"""Helpers shared by the distributed tests (real processes)."""

import time

from lamina.client import Client, LocalCluster

WAIT = 60


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

