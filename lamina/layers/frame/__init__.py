"""Dataframe layers: partitions (pandas objects) instead of blocks.

A frame layer is a ``Layer`` whose block grid is one axis of partitions
(``chunks == ((1,) * npartitions,)``, a nominal dtype), so lowering, the
scheduler, the wire and the runners treat it like any other layer. pandas
and pyarrow are imported only inside functions: a scheduler, which imports
every module of ``lamina.layers``, runs without them.
"""
