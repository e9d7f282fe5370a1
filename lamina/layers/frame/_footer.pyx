# cython: language_level=3, boundscheck=False, wraparound=False
"""Where each row group's entry lies in a parquet footer (Thrift compact protocol).

``row_group_spans(footer)`` walks the serialized ``FileMetaData`` without
building it and returns the byte ranges a reader needs to cut a footer of
a few row groups out of the whole: the ``num_rows`` value, the
``row_groups`` list header, each ``RowGroup`` struct. A footer of 10,000
row groups is walked in milliseconds, where parsing it (pyarrow) takes
about half a second. Malformed input raises ``ValueError``.
"""

import numpy as np

cdef enum:
    T_STOP = 0
    T_TRUE = 1
    T_FALSE = 2
    T_BYTE = 3
    T_I16 = 4
    T_I32 = 5
    T_I64 = 6
    T_DOUBLE = 7
    T_BINARY = 8
    T_LIST = 9
    T_SET = 10
    T_MAP = 11
    T_STRUCT = 12
    MAX_DEPTH = 64


cdef class _Reader:
    cdef const unsigned char[:] buf
    cdef Py_ssize_t pos
    cdef Py_ssize_t end

    def __init__(self, const unsigned char[:] buf):
        self.buf = buf
        self.pos = 0
        self.end = buf.shape[0]

    cdef inline unsigned char byte(self) except? 0:
        if self.pos >= self.end:
            raise ValueError("parquet footer ends inside a value")
        self.pos += 1
        return self.buf[self.pos - 1]

    cdef unsigned long long varint(self) except? 0:
        cdef unsigned long long out = 0
        cdef int shift = 0
        cdef unsigned char b
        while True:
            b = self.byte()
            out |= <unsigned long long>(b & 0x7F) << shift
            if not (b & 0x80):
                return out
            shift += 7
            if shift > 63:
                raise ValueError("parquet footer holds a varint longer than 64 bits")

    cdef int skip_bytes(self, Py_ssize_t n) except -1:
        if n < 0 or self.pos + n > self.end:
            raise ValueError("parquet footer ends inside a value")
        self.pos += n
        return 0

    cdef int skip(self, int kind, int depth) except -1:
        cdef unsigned long long n, i
        cdef unsigned char header
        cdef int elem, key, value
        if depth > MAX_DEPTH:
            raise ValueError("parquet footer nests too deep")
        if kind == T_TRUE or kind == T_FALSE:
            return 0
        if kind == T_BYTE:
            return self.skip_bytes(1)
        if kind == T_I16 or kind == T_I32 or kind == T_I64:
            self.varint()
            return 0
        if kind == T_DOUBLE:
            return self.skip_bytes(8)
        if kind == T_BINARY:
            n = self.varint()
            return self.skip_bytes(<Py_ssize_t>n)
        if kind == T_LIST or kind == T_SET:
            header = self.byte()
            n = header >> 4
            elem = header & 0x0F
            if n == 15:
                n = self.varint()
            for i in range(n):
                if elem == T_TRUE or elem == T_FALSE:
                    self.skip_bytes(1)
                else:
                    self.skip(elem, depth + 1)
            return 0
        if kind == T_MAP:
            n = self.varint()
            if n:
                header = self.byte()
                key = header >> 4
                value = header & 0x0F
                for i in range(n):
                    self.skip(key, depth + 1)
                    self.skip(value, depth + 1)
            return 0
        if kind == T_STRUCT:
            return self.skip_struct(depth + 1)
        raise ValueError(f"parquet footer holds an unknown Thrift type {kind}")

    cdef int field(self, int *last_id) except -1:
        """The next field's type (T_STOP at the end); its id in ``last_id``."""
        cdef unsigned char header = self.byte()
        cdef int kind = header & 0x0F
        cdef int delta = header >> 4
        cdef unsigned long long raw
        if kind == T_STOP:
            return T_STOP
        if delta:
            last_id[0] += delta
        else:
            raw = self.varint()
            last_id[0] = <int>((raw >> 1) ^ (-(raw & 1)))
        return kind

    cdef int skip_struct(self, int depth) except -1:
        cdef int last_id = 0
        cdef int kind
        while True:
            kind = self.field(&last_id)
            if kind == T_STOP:
                return 0
            self.skip(kind, depth)


def row_group_spans(const unsigned char[:] footer):
    """``(num_rows_span, list_header_span, row_group_spans)`` of a serialized footer:
    ``(start, end)`` of the ``num_rows`` varint, of the ``row_groups`` list header,
    and an ``(n, 2)`` int64 array of each ``RowGroup`` struct's range."""
    cdef _Reader reader = _Reader(footer)
    cdef int last_id = 0
    cdef int kind, elem
    cdef unsigned char header
    cdef unsigned long long n, i
    cdef Py_ssize_t start
    num_rows = list_header = None
    spans = np.zeros((0, 2), dtype=np.int64)
    cdef long long[:, :] out
    while True:
        kind = reader.field(&last_id)
        if kind == T_STOP:
            break
        if last_id == 3 and kind == T_I64:
            start = reader.pos
            reader.varint()
            num_rows = (start, reader.pos)
        elif last_id == 4 and kind == T_LIST:
            start = reader.pos
            header = reader.byte()
            n = header >> 4
            elem = header & 0x0F
            if n == 15:
                n = reader.varint()
            if elem != T_STRUCT:
                raise ValueError("parquet footer's row groups are not structs")
            if n > <unsigned long long>(reader.end - reader.pos):
                raise ValueError("parquet footer announces more row groups than it holds")
            list_header = (start, reader.pos)
            spans = np.empty((n, 2), dtype=np.int64)
            out = spans
            for i in range(n):
                out[i, 0] = reader.pos
                reader.skip_struct(1)
                out[i, 1] = reader.pos
        else:
            reader.skip(kind, 0)
    if num_rows is None or list_header is None:
        raise ValueError("parquet footer has no num_rows or row_groups field")
    return num_rows, list_header, spans
