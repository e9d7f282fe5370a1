"""TLS: ``tls://`` clusters compute what NumPy does, and mutual TLS refuses a
process without a certificate. A throw-away CA (``trustme``) signs everything."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from distributed_support import WAIT

import lamina
import lamina.array as la
from lamina.client import Client
from lamina.comm.core import ProtocolError, connect, listen
from lamina.comm.security import Security

trustme = pytest.importorskip("trustme")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))
SECRET = "tls tests"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA and one certificate (for 127.0.0.1) its holders use as server and client."""
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    leaf.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(folder / "key.pem"))
    return {name: str(folder / f"{name}.pem") for name in ("ca", "cert", "key")}


def start_cluster(pki: dict, *flags: str) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and two workers on tls:// with ``flags``; (address, processes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, *sys.path]),
               LAMINA_AUTH_SECRET=SECRET)
    tls = ["--tls-cert", pki["cert"], "--tls-key", pki["key"], "--tls-ca", pki["ca"], *flags]
    address = f"tls://127.0.0.1:{port}"

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", *args, *tls,
                                 "--exit-with-parent"], env=env, stdout=subprocess.DEVNULL)

    procs = [start("scheduler", "--port", str(port))]
    procs += [start("worker", address) for _ in range(2)]
    return address, procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_a_tls_cluster_computes_what_numpy_does(pki):
    address, procs = start_cluster(pki)
    try:
        with Client(address, timeout=WAIT, auth=Security(SECRET.encode(),
                                                         tls_ca=pki["ca"])) as client:
            assert client.wait_for_workers(2, timeout=WAIT) == 2
            data = np.random.default_rng(0).random((60, 40))
            x = la.from_array(data, chunks=(7, 9))
            got = client.compute((la.map_blocks(np.sqrt, x, dtype="f8") @ x.T).sum(axis=0))
            np.testing.assert_allclose(got.result(WAIT), (np.sqrt(data) @ data.T).sum(axis=0))
            assert all(w["address"].startswith("tls://") for w in client.worker_info())
    finally:
        stop(procs)


def test_mutual_tls_refuses_a_client_without_a_certificate(pki):
    address, procs = start_cluster(pki, "--tls-mutual")
    try:
        with Client(address, timeout=WAIT, auth=Security(
                SECRET.encode(), tls_cert=pki["cert"], tls_key=pki["key"],
                tls_ca=pki["ca"])) as client:
            client.wait_for_workers(2, timeout=WAIT)
            data = np.arange(100.0)
            assert client.compute(la.from_array(data, chunks=10).sum()).result(WAIT) == data.sum()
        with pytest.raises(ProtocolError, match="TLS with tls://127.0.0.1:.* failed"):
            Client(address, timeout=WAIT, auth=Security(SECRET.encode(), tls_ca=pki["ca"]))
    finally:
        stop(procs)


def test_a_tls_listener_refuses_a_plain_tcp_connection(pki):
    security = Security(b"s", tls_cert=pki["cert"], tls_key=pki["key"], tls_ca=pki["ca"])

    async def main():
        listener = await listen("tls://127.0.0.1:0", lambda comm: asyncio.sleep(1),
                                security=security)
        plain = listener.address.replace("tls://", "tcp://")
        with pytest.raises((ConnectionError, ProtocolError)):
            await connect(plain, security=security, timeout=3)
        comm = await connect(listener.address, security=security)
        assert comm.peer_address.startswith("tls://")
        await comm.close()
        await listener.stop()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_server_certificate_from_another_ca_is_refused(pki, tmp_path):
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    server = Security(b"s", tls_cert=pki["cert"], tls_key=pki["key"])

    async def main():
        listener = await listen("tls://127.0.0.1:0", lambda comm: asyncio.sleep(1),
                                security=server)
        with pytest.raises(ProtocolError, match="CERTIFICATE_VERIFY_FAILED"):
            await connect(listener.address, security=Security(
                b"s", tls_ca=str(tmp_path / "other.pem")), timeout=3)
        await listener.stop()

    asyncio.run(asyncio.wait_for(main(), 20))
