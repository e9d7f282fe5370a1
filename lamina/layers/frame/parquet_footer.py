"""Footers cut down to a read task's row groups, so that the task does not parse a whole one.

A file of 10,000 row groups has a footer of megabytes, which pyarrow
parses in about half a second: on a fresh worker that is the first read
task's wait. The planner, which has read the footers anyway, records
where each footer lies in its file and where each row group's entry lies
in it (``footer_layout``, walked by the compiled ``_footer``); a read task
reads the footer's head and tail and its row groups' entries, a few
hundred bytes, and pyarrow parses a footer of those row groups only
(``cut_footer``). Entries keep their absolute column offsets, so the cut
footer reads the original file.

    layout = footer_layout("f.parquet")                 # at planning
    metadata = cut_footer("f.parquet", layout_row, spans)  # in the task
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np

FILE_COLUMNS = 7
"""Per file: footer start, ``num_rows`` value start and end, row-group list start (its
header) and end (after the last entry), footer end (absolute offsets), and the file's
modification time in ns (-1 throughout: no layout, read the whole footer)."""
NO_LAYOUT = np.full(FILE_COLUMNS, -1, dtype=np.int64)


def footer_layout(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(file row, (n, 2) absolute byte ranges of each row group's entry)`` of ``path``;
    ``NO_LAYOUT`` and no ranges for a footer this cannot walk (encrypted, say)."""
    from lamina.layers.frame._footer import row_group_spans

    with open(path, "rb") as f:
        modified = os.fstat(f.fileno()).st_mtime_ns
        size = f.seek(0, os.SEEK_END)
        if size < 12:
            return NO_LAYOUT, np.zeros((0, 2), dtype=np.int64)
        f.seek(size - 8)
        length, magic = struct.unpack("<I4s", f.read(8))
        start = size - 8 - length
        if magic != b"PAR1" or start < 4:
            return NO_LAYOUT, np.zeros((0, 2), dtype=np.int64)
        f.seek(start)
        footer = f.read(length)
    try:
        (rows_start, rows_end), (list_start, list_end), spans = row_group_spans(footer)
    except ValueError:
        return NO_LAYOUT, np.zeros((0, 2), dtype=np.int64)
    list_stop = int(spans[-1, 1]) if len(spans) else list_end
    row = np.array([start, start + rows_start, start + rows_end, start + list_start,
                    start + list_stop, start + length, modified], dtype=np.int64)
    return row, spans + start


_LAYOUTS: dict[tuple, tuple] = {}


def dataset_locations(dataset: Any) -> tuple:
    """What ``ReadParquet`` carries for read tasks to cut footers: per file its layout
    row, and per row group of the dataset (in its order) its entry's byte range, first
    row and row count. Walked once per dataset token."""
    found = _LAYOUTS.get(dataset.token)
    if found is None:
        pairs = [footer_layout(f) for f in dataset.files]
        layout = np.stack([row for row, _ in pairs]) if pairs else \
            np.zeros((0, FILE_COLUMNS), dtype=np.int64)
        counts = np.bincount(dataset.rg_file, minlength=len(dataset.files))
        spans = np.full((dataset.n_row_groups, 2), -1, dtype=np.int64)
        first = np.zeros(len(dataset.files) + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        for f, (row, ranges) in enumerate(pairs):
            if len(ranges) == counts[f]:
                spans[first[f]:first[f + 1]] = ranges
            else:
                layout[f] = NO_LAYOUT
        rows = dataset.rg_rows.astype(np.int64)
        before = np.cumsum(rows) - rows                   # rows before each, dataset-wide
        within = before - np.repeat(np.append(before, 0)[first[:-1]], counts)
        found = _LAYOUTS[dataset.token] = (layout, spans, first, within, rows)
    return found


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _list_header(n: int) -> bytes:
    struct_type = 12
    return bytes([(n << 4) | struct_type]) if n < 15 else bytes([0xF0 | struct_type]) + \
        _varint(n)


def cut_footer(path: str, layout: np.ndarray, spans: np.ndarray, rows: int) -> Any:
    """The parsed footer of ``path`` holding only the row groups whose entries lie at
    ``spans`` (absolute ``(start, end)`` pairs, in order), of ``rows`` rows in all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start, rows_start, rows_end, list_start, list_stop, end, _ = (int(v) for v in layout)
    with open(path, "rb") as f:
        fd = f.fileno()
        head = os.pread(fd, list_start - start, start)
        tail = os.pread(fd, end - list_stop, list_stop)
        lengths = spans[:, 1] - spans[:, 0]
        if len(spans) and int(spans[-1, 1] - spans[0, 0]) == int(lengths.sum()):
            entries = os.pread(fd, int(lengths.sum()), int(spans[0, 0]))  # consecutive
        else:
            entries = b"".join(os.pread(fd, int(b - a), int(a)) for a, b in spans.tolist())
    footer = b"".join([head[:rows_start - start], _varint(rows << 1),
                       head[rows_end - start:], _list_header(len(spans)), entries, tail])
    buffer = b"PAR1" + footer + struct.pack("<I", len(footer)) + b"PAR1"
    return pq.read_metadata(pa.BufferReader(buffer))


def cut_read(path: str, f: int, groups: np.ndarray, locations: tuple | None,
             filters: tuple | None) -> tuple | None:
    """For row groups ``groups`` of file ``f`` (``path``): the cut footer, the positions
    in it of the row groups the ``filters``' statistics keep, and their first rows and
    row counts in the file; None when ``locations`` do not cover the file (or it
    changed since), and the whole footer must be read."""
    from lamina.layers.frame.parquet_meta import footer_may_match

    if locations is None:
        return None
    layout, spans, first, within, rows = locations
    row = layout[f]
    if row[0] < 0:
        return None
    st = os.stat(path)
    if st.st_size != row[5] + 8 or st.st_mtime_ns != row[6]:
        return None
    at = first[f] + groups
    metadata = cut_footer(path, row, spans[at], int(rows[at].sum()))
    positions = np.arange(len(groups), dtype=np.int64)
    if filters:
        keep = footer_may_match(metadata, filters)
        positions, at = positions[keep], at[keep]
    return metadata, positions, within[at], rows[at]
