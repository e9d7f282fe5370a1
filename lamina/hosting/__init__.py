"""lamina's scheduler and workers living inside another program's processes.

``dask_plugins``: a Dask scheduler plugin that runs a lamina scheduler in
the Dask scheduler process, and a Dask worker plugin that runs a lamina
worker in every Dask worker (those that join later too), so any Dask
deployment runs lamina (``lamina.Client.from_dask``).
"""
