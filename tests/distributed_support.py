"""Helpers shared by the distributed tests (real processes)."""

import time

from lamina.client import Client

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
