"""Compute lamina arrays on a cluster: ``Client``, ``LocalCluster``, ``Future``.

    import lamina
    import lamina.array as la

    with lamina.LocalCluster(n_workers=2) as cluster, lamina.Client(cluster) as client:
        client.compute(la.ones(10**8, chunks=10**6).sum()).result()   # a Future
        la.arange(10, chunks=5).sum().compute()    # inside `with client:`, on the cluster

The parts, one file each: ``core`` (the ``Client``: submission, the
scheduler's replies, progress, gathering and held results), ``futures``
(``Future`` and rebuilt worker exceptions), ``cluster`` (``LocalCluster``'s
processes). What a computation runs is decided in ``lamina.compute``, the
same for the embedded runner and a cluster.
"""

from lamina.client.cluster import LocalCluster
from lamina.client.core import Client, active_client
from lamina.client.futures import Future, RemoteTraceback, ResultError
from lamina.client.results import OutputsLost

__all__ = ["Client", "Future", "LocalCluster", "OutputsLost", "RemoteTraceback", "ResultError",
           "active_client"]
