"""Partitioned pandas frames on lamina's layers, optimizer and scheduler.

    import lamina.dataframe as ld
    df = ld.read_parquet("lineitem/", columns=["l_quantity", "l_returnflag"])
    out = df[df.l_quantity > 10].groupby("l_returnflag").agg(n=("l_quantity", "count"))
    out.compute()                              # a pandas DataFrame

Needs pandas and pyarrow (``pip install lamina[dataframe]``).
"""

from lamina.dataframe.arrays import from_array, to_array
from lamina.dataframe.concat import concat
from lamina.dataframe.core import Index, Scalar
from lamina.dataframe.frame import DataFrame
from lamina.dataframe.io import from_pandas, read_csv, read_parquet, to_parquet
from lamina.dataframe.join import merge
from lamina.dataframe.series import Series

__all__ = ["DataFrame", "Index", "Scalar", "Series", "concat", "from_array", "from_pandas",
           "merge", "read_csv", "read_parquet", "to_array", "to_parquet"]
