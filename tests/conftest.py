"""Shared test settings: a Hypothesis profile for CI, a hard time limit per
test (no test may hang), a cluster secret for the whole test session (so
processes started by tests authenticate, and the user's ~/.lamina/secret is
never read or written), and a local cluster for the distributed tests."""

import os
import secrets
import signal
import tempfile

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ["LAMINA_AUTH_SECRET"] = secrets.token_urlsafe(32)
os.environ["LAMINA_AUTH_FILE"] = os.path.join(tempfile.mkdtemp(prefix="lamina-tests-"), "secret")


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
