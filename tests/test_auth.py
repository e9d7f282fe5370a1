"""Authentication: nothing but the version greeting is decoded, and nothing at all
unpickled, before a peer proves it holds the cluster secret (docs/security.md).

The protocol tests speak to listeners with raw frames, as an attacker would;
the cluster tests use real processes (``LocalCluster``, ``lamina`` commands).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest
from distributed_support import WAIT

import lamina
import lamina.array as la
from lamina.client import Client
from lamina.comm.auth import NONCE_BYTES, AuthenticationError, proof, valid_proof
from lamina.comm.core import PROTOCOL_VERSION, connect, listen
from lamina.comm.security import Security
from lamina.comm.tcp import TCPComm
from lamina.comm.wire import WIRE_VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))


def run(coro, timeout: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def raw_connection(address: str) -> TCPComm:
    """A TCP connection that sends whatever frames a test gives it (no handshake)."""
    from tornado.tcpclient import TCPClient

    host, port = address[len("tcp://"):].rsplit(":", 1)
    stream = await TCPClient().connect(host, int(port))
    return TCPComm(stream, address, load_blobs=False)


async def read_until_closed(comm: TCPComm, seconds: float) -> list:
    """Every message ``comm`` receives within ``seconds`` or until the peer closes."""
    got = []
    try:
        while True:
            got.append(await asyncio.wait_for(comm.read(), seconds))
    except (ConnectionError, asyncio.TimeoutError):
        return got


def child_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, *sys.path]), **extra)


class MakesFolder:
    """Unpickling this creates a folder: evidence that something was unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


# the proof -----------------------------------------------------------------------------
def test_a_proof_is_bound_to_its_side_and_both_nonces():
    secret, a, b = b"s" * 32, b"a" * NONCE_BYTES, b"b" * NONCE_BYTES
    made = proof(secret, "connector", a, b)
    assert valid_proof(secret, "connector", a, b, made)
    assert not valid_proof(secret, "listener", a, b, made)          # reflected
    assert not valid_proof(secret, "connector", b, a, made)         # nonces swapped
    assert not valid_proof(secret, "connector", a, b"c" * NONCE_BYTES, made)  # replayed
    assert not valid_proof(b"t" * 32, "connector", a, b, made)      # another secret
    assert not valid_proof(secret, "connector", a, b, None)


def test_a_recorded_proof_is_refused_on_a_new_connection():
    security = Security(b"the secret")

    async def main():
        listener = await listen("tcp://127.0.0.1:0", lambda comm: asyncio.sleep(1), {},
                                security=security)
        first = await raw_connection(listener.address)
        await first.write({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                           "nonce": b"n" * NONCE_BYTES})
        hello = await first.read()
        recorded = proof(security.secret, "connector", b"n" * NONCE_BYTES, hello["nonce"])
        second = await raw_connection(listener.address)
        await second.write({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                            "nonce": b"n" * NONCE_BYTES})
        assert (await second.read())["nonce"] != hello["nonce"]
        await second.read()                                          # the listener's proof
        await second.write({"op": "auth", "proof": recorded})
        assert await read_until_closed(second, 5) == [{"op": "refused",
                                                       "reason": "authentication failed"}]
        await listener.stop()

    run(main())


# wrong or missing secrets --------------------------------------------------------------
@pytest.mark.parametrize("address", ["tcp://127.0.0.1:0", "inproc://"])
def test_a_wrong_secret_is_refused_with_a_clear_error_on_both_sides(caplog, address):
    handled = []

    async def main():
        listener = await listen(address, lambda comm: handled.append(comm),
                                {"role": "scheduler"}, security=Security(b"right"))
        with pytest.raises(AuthenticationError) as info:
            await connect(listener.address, {"role": "client"}, security=Security(b"wrong"))
        await asyncio.sleep(0.2)
        await listener.stop()
        return str(info.value)

    with caplog.at_level(logging.WARNING, logger="lamina.comm"):
        message = run(main())
    assert f"authentication with {address.split(':')[0]}://" in message
    assert "does not hold the same lamina secret" in message
    assert "LAMINA_AUTH_SECRET" in message and "auth=" in message
    assert handled == []
    assert "refused a connection: authentication with" in caplog.text


def test_the_greeting_before_authentication_says_nothing_about_the_cluster(cluster):
    async def main():
        comm = await raw_connection(cluster.scheduler_address)
        await comm.write({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                          "nonce": b"n" * NONCE_BYTES, "role": "client"})
        hello = await comm.read()
        comm.abort()
        return hello

    assert set(run(main())) == {"op", "protocol", "wire", "nonce"}


def test_a_missing_secret_file_says_how_to_give_one(monkeypatch, tmp_path):
    monkeypatch.delenv("LAMINA_AUTH_SECRET")
    monkeypatch.setenv("LAMINA_AUTH_FILE", str(tmp_path / "absent"))
    with pytest.raises(LookupError, match="absent does not exist; give every process"):
        Security.from_environment()


def test_a_secret_file_others_may_read_is_refused(tmp_path):
    path = tmp_path / "secret"
    path.write_text("shared\n")
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        Security.from_environment(str(path))
    path.chmod(0o600)
    assert Security.from_environment(str(path)).secret == b"shared"


def test_the_scheduler_writes_a_secret_file_only_its_owner_may_read(tmp_path, monkeypatch):
    monkeypatch.delenv("LAMINA_AUTH_SECRET")
    path = tmp_path / "folder" / "secret"
    written = Security.for_scheduler(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert len(written.secret) >= 32
    assert Security.for_scheduler(str(path)) == written == Security.from_environment(str(path))


# clients ---------------------------------------------------------------------------------
UNAUTHENTICATED = """
import os, sys
import numpy as np
import lamina.array as la
from lamina.client import Client

marker = sys.argv[2]

def leave_a_mark(block):
    open(marker, "w").close()
    return block

try:
    with Client(sys.argv[1], timeout=5) as client:
        x = la.from_array(np.arange(10.0), chunks=5)
        client.compute(la.map_blocks(leave_a_mark, x, dtype="f8").sum()).result(30)
    print("computed")
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_a_client_with_a_wrong_secret_cannot_run_a_function_on_the_workers(cluster):
    marker = os.path.join(tempfile.mkdtemp(), "ran")
    out = subprocess.run([sys.executable, "-c", UNAUTHENTICATED, cluster.scheduler_address,
                          marker], capture_output=True, text=True, timeout=WAIT,
                         env=child_env(LAMINA_AUTH_SECRET="a guess"))
    assert out.stdout.startswith("AuthenticationError authentication with"), out.stdout
    assert "LAMINA_AUTH_SECRET" in out.stdout
    assert not os.path.exists(marker)


def test_client_of_a_local_cluster_address_uses_that_clusters_secret(cluster):
    assert cluster.security.secret.decode() != os.environ["LAMINA_AUTH_SECRET"]
    with Client(cluster.scheduler_address) as client:
        assert client.compute(la.arange(10, chunks=5).sum()).result(WAIT) == 45


def test_client_takes_the_secret_as_an_argument(cluster):
    with pytest.raises(AuthenticationError, match="same lamina secret"):
        Client(cluster.scheduler_address, auth="a guess")
    with Client(cluster.scheduler_address, auth=cluster.security.secret.decode()) as client:
        assert client.compute(la.arange(4, chunks=2).sum()).result(WAIT) == 6


def test_local_cluster_gives_its_secret_to_its_processes_by_environment_only(cluster):
    secret = cluster.security.secret.decode()
    for proc in (cluster.scheduler_process, *cluster.worker_processes):
        assert not any(secret in arg for arg in proc.args)


# workers -----------------------------------------------------------------------------------
def test_a_pickle_in_a_peer_greeting_is_never_unpickled(cluster):
    evidence = os.path.join(tempfile.mkdtemp(), "unpickled")

    async def main():
        comm = await raw_connection(cluster.worker_addresses[0])
        await comm.write({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                          "nonce": b"n" * NONCE_BYTES, "payload": MakesFolder(evidence)})
        await comm.read()
        await comm.write({"op": "auth", "proof": MakesFolder(evidence)})
        return await read_until_closed(comm, 5)

    got = run(main())
    assert [m.get("op") for m in got] == ["auth", "refused"]
    assert not os.path.exists(evidence)
    assert all(p.poll() is None for p in cluster.worker_processes)


def test_a_fake_worker_without_the_secret_is_refused_and_receives_no_graph(cluster, client):
    seen: list = []

    async def pose_as_a_worker():
        comm = await raw_connection(cluster.scheduler_address)
        hello = await comm.read()
        seen.append(hello)
        # a worker's greeting, with the trusted-layer registry the scheduler's greeting shows
        await comm.write({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                          "nonce": b"n" * NONCE_BYTES, "role": "worker", "nthreads": 8,
                          "address": "tcp://127.0.0.1:9", "registry": hello.get("registry")})
        await comm.write({"op": "auth", "proof": b"\0" * 32})
        seen.extend(await read_until_closed(comm, 10))

    fake = threading.Thread(target=lambda: run(pose_as_a_worker()))
    fake.start()
    data = np.arange(200.0)
    for _ in range(5):
        x = la.from_array(data, chunks=10)
        assert client.compute((x * 2).sum()).result(WAIT) == (data * 2).sum()
    fake.join(WAIT)
    ops = [m.get("op") if isinstance(m, dict) else "batch" for m in seen]
    assert ops == ["hello", "auth", "refused"], ops
    assert len(client.scheduler_info()["workers"]) == cluster.n_workers


def test_a_worker_with_a_wrong_secret_exits_with_a_clear_message(cluster):
    out = subprocess.run([sys.executable, "-m", "lamina.distributed_cli", "worker",
                          cluster.scheduler_address], capture_output=True, text=True,
                         timeout=WAIT, env=child_env(LAMINA_AUTH_SECRET="a guess"))
    assert out.returncode != 0
    assert "lamina worker: authentication with" in out.stderr
    assert "Traceback" not in out.stderr


def test_lamina_svd_with_a_wrong_secret_says_so(cluster, tmp_path):
    from lamina.cli import main

    wrong = tmp_path / "secret"
    wrong.write_text("a guess")
    wrong.chmod(0o600)
    out, err = io.StringIO(), io.StringIO()
    assert main(["svd", "--demo", "100x20", "--chunks", "50,10", "-k", "2", "--no-progress",
                 "--scheduler", cluster.scheduler_address, "--auth-file", str(wrong)],
                out, err) == 2
    assert err.getvalue().startswith("lamina svd: authentication with tcp://")


# the commands of the README --------------------------------------------------------------
def test_scheduler_worker_and_svd_commands_share_the_default_secret_file(tmp_path):
    """``lamina worker`` started first waits for the file ``lamina scheduler`` writes."""
    home = tmp_path / "home"
    home.mkdir()
    env = child_env(HOME=str(home))
    env.pop("LAMINA_AUTH_SECRET")
    env.pop("LAMINA_AUTH_FILE")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    command = [sys.executable, "-m", "lamina.cli"]
    worker = subprocess.Popen([*command, "worker", address, "--exit-with-parent"], env=env,
                              stdout=subprocess.DEVNULL)
    scheduler = subprocess.Popen([*command, "scheduler", "--port", str(port),
                                  "--exit-with-parent"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
    try:
        assert "the secret in " + str(home / ".lamina" / "secret") in scheduler.stderr.readline()
        out = subprocess.run([*command, "svd", "--demo", "400x60", "--chunks", "100,30",
                              "-k", "3", "--power-iter", "1", "--no-progress",
                              "--scheduler", address], env=env, capture_output=True,
                             text=True, timeout=WAIT)
        assert out.returncode == 0, out.stderr
        assert "singular values" in out.stdout
        assert stat.S_IMODE(os.stat(home / ".lamina" / "secret").st_mode) == 0o600
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            proc.wait(10)
