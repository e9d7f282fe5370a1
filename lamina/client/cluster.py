"""``LocalCluster``: a scheduler and worker processes on this machine.

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster:
        client = Client(cluster)           # connects to cluster.scheduler_address

Each process is ``python -m lamina.distributed_cli`` listening on the
loopback interface; its first output line announcing an address tells this
process where it is, later lines are passed through to our stdout. The
children exit with their parent, and their BLAS libraries get one thread per
worker thread unless the environment says otherwise.

The cluster has its own random secret (``security``), handed to the
children in their environment (``LAMINA_AUTH_SECRET``, never on a command
line, which other users may list); a ``Client`` of this process finds it
by the scheduler's address.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any, Sequence

from lamina.comm.security import SECRET_ENV, Security, new_secret

_SECURITY_BY_ADDRESS: dict[str, Security] = {}


def security_of_local(address: str) -> Security | None:
    """The secret of the running ``LocalCluster`` this process started at ``address``."""
    return _SECURITY_BY_ADDRESS.get(address)


DASHBOARD_MARKER = "lamina scheduler dashboard at "


class _Process:
    """A child process whose first matching output line announces its address."""

    def __init__(self, args: list[str], marker: str, env: dict[str, str]) -> None:
        self.marker = marker
        self.address = ""
        self.dashboard: str | None = None
        self.ready = threading.Event()
        self.proc = subprocess.Popen([sys.executable, "-m", "lamina.distributed_cli", *args],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            if not self.ready.is_set() and line.startswith(self.marker):
                self.address = line[len(self.marker):].split()[0]
                self.ready.set()
            elif line.startswith(DASHBOARD_MARKER):
                self.dashboard = line[len(DASHBOARD_MARKER):].split()[0]
            else:
                sys.stdout.write(line)
        self.ready.set()

    def wait_ready(self, timeout: float) -> str:
        if not self.ready.wait(timeout) or not self.address:
            self.stop()
            raise RuntimeError(f"lamina process {self.proc.args[3:]} did not start within "
                               f"{timeout} s (exit code {self.proc.poll()})")
        return self.address

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (kill it after ``timeout``) and close its output pipe."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.reader.join(timeout)
        if not self.reader.is_alive():
            self.proc.stdout.close()


def prepare_kinds() -> list[str]:
    """What this process is set to compute beyond arrays (``"frames"`` once it has
    imported ``lamina.dataframe``), for the scheduler to have workers prepare: they
    import pandas and pyarrow only when a client of the cluster uses them."""
    return ["frames"] if "lamina.dataframe" in sys.modules else []


class LocalCluster:
    """A scheduler and ``n_workers`` worker processes on this machine (loopback).

    ``auth``: the cluster's secret; a fresh random one by default.
    ``memory_limit``: each worker's ``--memory-limit`` (spill, then pause).
    ``heartbeat_interval`` and ``worker_timeout`` (seconds) are the
    scheduler's options of the same names (``lamina scheduler --help``), as
    are ``ahead_depth`` and ``ahead_budget`` (speculative dispatch).
    ``dashboard_address``: where the scheduler serves its dashboard
    (``dashboard_link``); ``":8787"`` by default, a free port when that one
    is busy, None for none.
    ``prepare``: what the workers import as they start (``["frames"]``: pandas
    and pyarrow); by default what this process computes, so a cluster started
    after ``import lamina.dataframe`` has its workers ready for frames.
    """

    def __init__(self, n_workers: int = 2, threads_per_worker: int = 1,
                 host: str = "127.0.0.1", timeout: float = 60.0,
                 auth: str | None = None, memory_limit: str | float | None = None,
                 heartbeat_interval: float | None = None,
                 worker_timeout: float | None = None, ahead_depth: int | None = None,
                 ahead_budget: int | None = None,
                 dashboard_address: str | None = ":8787",
                 prepare: Sequence[str] | None = None) -> None:
        self.n_workers = n_workers
        self.prepare = list(prepare_kinds() if prepare is None else prepare)
        self.threads_per_worker = threads_per_worker
        self.host = host
        self.processes: list[_Process] = []
        self.memory_limit = memory_limit
        secret = auth or new_secret()
        self.security = Security(secret.encode(), source="LocalCluster")
        self._env = _child_env(threads_per_worker)
        self._env[SECRET_ENV] = secret
        options = []
        if heartbeat_interval is not None:
            options += ["--heartbeat-interval", str(heartbeat_interval)]
        if worker_timeout is not None:
            options += ["--worker-timeout", str(worker_timeout)]
        options += (["--no-dashboard"] if dashboard_address is None
                    else ["--dashboard-address", dashboard_address])
        if ahead_depth is not None:
            options += ["--ahead-depth", str(int(ahead_depth))]
        if ahead_budget is not None:
            options += ["--ahead-budget", str(int(ahead_budget))]
        try:
            scheduler = _Process(["scheduler", "--host", host, "--port", "0", *options,
                                  "--exit-with-parent"], "lamina scheduler listening at ",
                                 self._env)
            self.processes.append(scheduler)
            self.scheduler_address = scheduler.wait_ready(timeout)
            _SECURITY_BY_ADDRESS[self.scheduler_address] = self.security
            started = [self._start_worker() for _ in range(n_workers)]
            self.worker_addresses = [p.wait_ready(timeout) for p in started]
        except BaseException:
            self.close()
            raise

    def _start_worker(self) -> _Process:
        process = _Process(["worker", self.scheduler_address, "--nthreads",
                            str(self.threads_per_worker), "--host", self.host,
                            "--exit-with-parent",
                            *(["--memory-limit", str(self.memory_limit)]
                              if self.memory_limit else []),
                            *(arg for kind in self.prepare for arg in ("--prepare", kind))],
                           "lamina worker listening at ", self._env)
        self.processes.append(process)
        return process

    def add_worker(self, timeout: float = 60.0) -> subprocess.Popen:
        """Start one more worker process (to replace one that died); return it once
        it listens. ``worker_processes`` lists it too."""
        process = self._start_worker()
        self.worker_addresses.append(process.wait_ready(timeout))
        return process.proc

    @property
    def dashboard_link(self) -> str | None:
        """The scheduler's dashboard (``http://127.0.0.1:8787/``), or None when off."""
        return self.processes[0].dashboard if self.processes else None

    @property
    def scheduler_process(self) -> subprocess.Popen:
        return self.processes[0].proc

    @property
    def worker_processes(self) -> list[subprocess.Popen]:
        return [p.proc for p in self.processes[1:]]

    def close(self) -> None:
        """Stop the workers, then the scheduler."""
        for p in reversed(self.processes):
            p.stop()
        self.processes = []
        _SECURITY_BY_ADDRESS.pop(getattr(self, "scheduler_address", ""), None)

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<lamina.LocalCluster {getattr(self, 'scheduler_address', '?')}, "
                f"{self.n_workers} workers x {self.threads_per_worker} threads>")


def _child_env(threads: int) -> dict[str, str]:
    """Our environment, with this lamina importable first and BLAS held to ``threads``."""
    env = dict(os.environ)
    root = _package_root()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, str(threads))
    return env


def _package_root() -> str:
    """The folder holding the ``lamina`` package this module belongs to."""
    import lamina

    return os.path.dirname(os.path.dirname(os.path.abspath(lamina.__file__)))
