"""One partition's rows from parquet row groups, decoded as cheaply as pyarrow allows.

A string column whose row groups are dictionary-encoded with a small
dictionary (the usual case for flags, modes, names) is read as an Arrow
dictionary: pyarrow then decodes only the small dictionary and the integer
codes, several times faster than building every string. Such a column is
turned back into plain strings before pandas sees it: a column the filter
looks at before the filter runs, any other only after, so that strings are
built only for the rows the filter keeps. The frame is exactly what a plain
read, filter and ``to_pandas`` give.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

ROW = "__lamina_row__"
DICTIONARY_SLACK = 2.0
"""A column chunk counts as dictionary-encoded when its data pages take at most
this many times the bytes that dictionary codes alone would."""


def dictionary_columns(metadata: Any, schema: Any, groups: Sequence[int],
                       columns: Sequence[str]) -> list[str]:
    """String columns of ``columns`` that every row group of ``groups`` stores as
    small-dictionary codes (from the footer: no page is read).

    A writer falls back to plain pages when a dictionary grows too big; then
    the data pages are far larger than codes would be, and reading the column
    as a dictionary would be slower, not faster.
    """
    import pyarrow as pa

    out = []
    for name in columns:
        index = schema.get_field_index(name)
        if index < 0 or not (pa.types.is_string(schema.field(index).type)
                             or pa.types.is_large_string(schema.field(index).type)):
            continue
        if all(_is_small_dictionary(metadata.row_group(g), name) for g in groups):
            out.append(name)
    return out


def _is_small_dictionary(row_group: Any, name: str) -> bool:
    chunk = next((row_group.column(i) for i in range(row_group.num_columns)
                  if row_group.column(i).path_in_schema == name), None)
    if chunk is None or not chunk.has_dictionary_page or chunk.dictionary_page_offset is None:
        return False
    dictionary_bytes = chunk.data_page_offset - chunk.dictionary_page_offset
    if dictionary_bytes <= 0:
        return False
    # a dictionary entry takes at least 4 bytes (its length), so it has at most
    # dictionary_bytes / 4 values, coded in at most this many bits each
    bits = int(np.ceil(np.log2(max(dictionary_bytes / 4, 2)))) + 1
    data_bytes = chunk.total_compressed_size - dictionary_bytes
    return data_bytes <= DICTIONARY_SLACK * row_group.num_rows * bits / 8 + 4096


def read_partition(path: str, metadata: Any, groups: list[int], starts: np.ndarray,
                   counts: np.ndarray, columns: list[str], filter_names: list[str],
                   expression: Any) -> Any:
    """Rows of row groups ``groups`` of footer ``metadata`` of ``path`` (``columns``
    only) that match ``expression``, as pandas, indexed by their row position in the
    file (the groups start at rows ``starts`` and hold ``counts`` rows)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    read = sorted(set(columns) | set(filter_names))
    schema = metadata.schema.to_arrow_schema()
    encoded = dictionary_columns(metadata, schema, groups, read)
    reader = pq.ParquetFile(path, metadata=metadata, read_dictionary=encoded)
    table = reader.read_row_groups(groups, columns=read, use_pandas_metadata=False)
    if encoded:
        table = _decoded(table, [c for c in encoded if c in filter_names] if expression
                         is not None else encoded)
    rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + \
        np.arange(int(counts.sum()), dtype=np.int64)
    table = table.append_column(ROW, pa.array(rows, type=pa.int64()))
    if expression is not None:
        table = table.filter(expression)
        table = _decoded(table, [c for c in encoded if c not in filter_names])
    frame = table.select(columns).to_pandas(ignore_metadata=True)
    frame.index = pd.Index(table.column(ROW).to_numpy(), dtype="int64")
    return frame


def _decoded(table: Any, names: list[str]) -> Any:
    """``table`` with dictionary columns ``names`` cast back to their strings."""
    for name in names:
        index = table.schema.get_field_index(name)
        column = table.column(index)
        table = table.set_column(index, table.schema.field(index).with_type(
            column.type.value_type), column.cast(column.type.value_type))
    return table
