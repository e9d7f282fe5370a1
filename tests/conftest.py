"""Shared test settings: a Hypothesis profile for CI, a hard time limit per
test (no test may hang), and a local cluster for the distributed tests."""

import os
import signal

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def hard_timeout():
    def expired(signum, frame):
        raise TimeoutError("test ran past its 90 s limit")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(90)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def cluster():
    from lamina.client import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    from lamina.client import Client

    c = Client(cluster)
    yield c
    c.close()
