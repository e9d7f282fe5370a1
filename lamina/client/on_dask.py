"""``Client.from_dask``: lamina's runtime on an existing Dask cluster.

    import distributed, lamina
    dask_client = distributed.Client("tcp://dask-scheduler:8786")   # any deployment
    client = lamina.Client.from_dask(dask_client)
    with client:
        x.sum().compute()          # lamina's scheduler and workers, in Dask's processes

The first call starts a lamina scheduler in the Dask scheduler and a lamina
worker in each Dask worker (``lamina.hosting.dask_plugins``), with a fresh
secret carried by the plugins; later calls, from any Dask client of that
cluster, find them and connect with the same secret.
"""

from __future__ import annotations

from typing import Any

from lamina.client.core import Client
from lamina.comm.security import Security, new_secret


def connect_to_dask(dask_client: Any, timeout: float = 60.0, **scheduler_options: Any
                    ) -> Client:
    """A lamina ``Client`` of the lamina runtime hosted by ``dask_client``'s cluster.

    Starts that runtime if it is not running yet (``scheduler_options`` go
    to lamina's scheduler then: ``heartbeat_interval``, ``worker_timeout``,
    ``max_task_losses``), and waits up to ``timeout`` seconds for a lamina
    worker in every Dask worker.
    """
    from lamina.hosting.dask_plugins import HostedScheduler, HostedWorkers, hosted_scheduler

    if not hasattr(dask_client, "register_plugin") or not hasattr(dask_client,
                                                                  "run_on_scheduler"):
        raise TypeError(f"from_dask takes a distributed.Client, got "
                        f"{type(dask_client).__name__}")
    dask_client.register_plugin(HostedScheduler(new_secret(), **scheduler_options))
    address, secret = dask_client.run_on_scheduler(hosted_scheduler)
    dask_client.register_plugin(HostedWorkers(address, secret))
    client = Client(address, timeout=timeout,
                    auth=Security(secret.encode(), source="the Dask scheduler"))
    try:
        n_workers = len(dask_client.scheduler_info().get("workers", {}))
        client.wait_for_workers(max(n_workers, 1), timeout)
    except BaseException:
        client.close()
        raise
    return client
