"""Bridges to other libraries' collections: lamina arrays as Dask arrays.

    darr = lamina.array.from_array(x, chunks=100).to_dask()     # runs on Dask
    arr = lamina.array.from_dask(darr)                          # runs on lamina
"""

from lamina.interop.dask_array import LaminaGraphLayer, to_dask

__all__ = ["LaminaGraphLayer", "to_dask"]
