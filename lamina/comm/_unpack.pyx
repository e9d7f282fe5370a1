# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The wire decoder's msgpack parser, compiled, with its bounds checked inline.

``Unpacker`` parses msgpack (arrays as tuples, strings as ``str``, any
hashable map key) and checks, before it allocates anything:

* the nesting of containers and extension types, counted as it descends
  (an extension's payload is parsed in place, one level down);
* the elements of all containers together (``WireLimits.max_items``), and
  that a container announcing ``n`` elements has at least ``n`` bytes left;
* every announced length against the bytes that are really there.

Marked arrays become lists, sets, frozensets or node-table rows, and the
few leaf extension types (marks, Ellipsis, big integers) are built here; the
others go to ``_extension_value``, which ``lamina.comm.decoding.Decoder``
defines. Whatever is malformed raises ``ValueError`` (the caller reports it
as a ``WireError``) or ``WireError`` for a limit.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

import numpy as np

from lamina.comm.format import (
    EXT_BIGINT,
    EXT_ELLIPSIS,
    EXT_MARK,
    EXT_NDARRAY,
    EXT_RANGE,
    EXT_REF,
    FROZENSET,
    LIST,
    MARKS,
    NODE,
    SET,
)
from lamina.comm.limits import DEFAULT_LIMITS, WireError

# Parsing recurses in C, one frame per level: never deeper than this,
# whatever ``WireLimits.max_depth`` says.
DEPTH_CEILING = 2000

cdef object _LIST = LIST
cdef object _SET = SET
cdef object _FROZENSET = FROZENSET
cdef object _NODE = NODE
cdef tuple _MARKS = tuple(MARKS)
cdef int _EXT_MARK = EXT_MARK
cdef int _EXT_ELLIPSIS = EXT_ELLIPSIS
cdef int _EXT_BIGINT = EXT_BIGINT
cdef int _EXT_REF = EXT_REF
cdef int _EXT_NDARRAY = EXT_NDARRAY
cdef int _MAX_NDIM = 64
cdef uint64_t _MAX_BYTES = 1 << 62
cdef object _frombuffer = np.frombuffer
cdef object _empty = np.empty
# dtype strings seen in arrays' headers (plain dtypes without objects only)
cdef dict _DTYPES = {}
cdef Py_ssize_t _MAX_DTYPES = 256
cdef int _EXT_LAST = EXT_RANGE


cdef inline uint64_t _be(const unsigned char* p, int n) noexcept:
    """The big-endian unsigned integer of ``n`` bytes at ``p``."""
    cdef uint64_t v = 0
    cdef int k
    for k in range(n):
        v = (v << 8) | p[k]
    return v


cdef class Unpacker:
    """One message being parsed: its frames, limits, node rows and element count."""

    cdef public object frames
    cdef public object extension
    cdef public object limits
    cdef public list rows
    cdef public object value
    cdef public bint load_blobs
    cdef public Py_ssize_t items
    cdef Py_ssize_t max_items
    cdef int max_depth
    cdef int depth

    def __init__(self, frames, load_blobs, extension=None, limits=DEFAULT_LIMITS):
        self.frames = frames
        self.load_blobs = load_blobs
        self.extension = extension
        self.limits = limits
        self.rows = []
        self.value = None
        self.items = 0
        self.max_items = limits.max_items
        self.max_depth = min(limits.max_depth, DEPTH_CEILING)
        self.depth = 0

    def unpack(self, data):
        """One msgpack payload (all of ``data``), decoded within the limits."""
        cdef const unsigned char[::1] view = data
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t end = view.shape[0]
        if end == 0:
            raise ValueError("an empty msgpack payload")
        value = self._parse(&view[0], &pos, end)
        if pos != end:
            raise ValueError(f"{end - pos} bytes after the msgpack value")
        return value

    def _count(self, n):
        """Count ``n`` more elements (a run-length encoded tuple expanding)."""
        if n > self.max_items - self.items:
            self._too_many()
        self.items += n

    def _too_many(self):
        raise WireError(f"the message holds more than {self.max_items} elements "
                        "(WireLimits.max_items)")

    def _too_deep(self):
        raise WireError(f"the message nests deeper than {self.max_depth} levels "
                        "(WireLimits.max_depth)")

    cdef inline void _need(self, Py_ssize_t pos, Py_ssize_t n, Py_ssize_t end) except *:
        if n < 0 or n > end - pos:
            raise ValueError(f"msgpack data announces {n} bytes, {end - pos} are left")

    cdef inline void _enter(self, Py_ssize_t n, Py_ssize_t room) except *:
        """Checks before a container of ``n`` elements (``room`` bytes left) is built."""
        if self.depth >= self.max_depth:
            self._too_deep()
        if n > self.max_items - self.items:
            self._too_many()
        if n > room:
            raise ValueError(f"a msgpack container announces {n} elements, "
                             f"{room} bytes are left")
        self.items += n

    cdef object _parse(self, const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end):
        cdef Py_ssize_t i = pos[0]
        cdef unsigned char b
        cdef Py_ssize_t n
        cdef uint32_t f32
        cdef uint64_t u64
        cdef float f
        cdef double d
        if i >= end:
            raise ValueError("msgpack data ends in the middle of a value")
        b = p[i]
        i += 1
        if b <= 0x7f:
            pos[0] = i
            return <long>b
        if b >= 0xe0:
            pos[0] = i
            return <long><int8_t>b
        if b <= 0x8f:
            pos[0] = i
            return self._map(p, pos, end, b & 0x0f)
        if b <= 0x9f:
            pos[0] = i
            return self._array(p, pos, end, b & 0x0f)
        if b <= 0xbf:
            return self._str(p, pos, end, i, b & 0x1f)
        if b == 0xc0:
            pos[0] = i
            return None
        if b == 0xc2:
            pos[0] = i
            return False
        if b == 0xc3:
            pos[0] = i
            return True
        if b == 0xc4 or b == 0xc5 or b == 0xc6:
            n = 1 << (b - 0xc4)
            self._need(i, n, end)
            pos[0] = i + n
            return self._bin(p, pos, end, <Py_ssize_t>_be(p + i, <int>n))
        if b == 0xc7 or b == 0xc8 or b == 0xc9:
            n = 1 << (b - 0xc7)
            self._need(i, n, end)
            return self._ext(p, pos, end, i + n, <Py_ssize_t>_be(p + i, <int>n))
        if b == 0xca:
            self._need(i, 4, end)
            f32 = <uint32_t>_be(p + i, 4)
            memcpy(&f, &f32, 4)
            pos[0] = i + 4
            return <double>f
        if b == 0xcb:
            self._need(i, 8, end)
            u64 = _be(p + i, 8)
            memcpy(&d, &u64, 8)
            pos[0] = i + 8
            return d
        if 0xcc <= b <= 0xcf:
            n = 1 << (b - 0xcc)
            self._need(i, n, end)
            pos[0] = i + n
            return _be(p + i, <int>n)
        if 0xd0 <= b <= 0xd3:
            n = 1 << (b - 0xd0)
            self._need(i, n, end)
            pos[0] = i + n
            u64 = _be(p + i, <int>n)
            if n == 1:
                return <long><int8_t>u64
            if n == 2:
                return <long><int16_t>u64
            if n == 4:
                return <long><int32_t>u64
            return <int64_t>u64
        if 0xd4 <= b <= 0xd8:
            return self._ext(p, pos, end, i, 1 << (b - 0xd4))
        if 0xd9 <= b <= 0xdb:
            n = 1 << (b - 0xd9)
            self._need(i, n, end)
            return self._str(p, pos, end, i + n, <Py_ssize_t>_be(p + i, <int>n))
        if b == 0xdc or b == 0xdd:
            n = 2 if b == 0xdc else 4
            self._need(i, n, end)
            pos[0] = i + n
            return self._array(p, pos, end, <Py_ssize_t>_be(p + i, <int>n))
        if b == 0xde or b == 0xdf:
            n = 2 if b == 0xde else 4
            self._need(i, n, end)
            pos[0] = i + n
            return self._map(p, pos, end, <Py_ssize_t>_be(p + i, <int>n))
        raise ValueError(f"msgpack byte 0x{b:02x} starts no value")

    cdef object _str(self, const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end,
                     Py_ssize_t i, Py_ssize_t n):
        self._need(i, n, end)
        pos[0] = i + n
        return PyUnicode_DecodeUTF8(<const char*>(p + i), n, NULL)

    cdef object _bin(self, const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end,
                     Py_ssize_t n):
        cdef Py_ssize_t i = pos[0]
        self._need(i, n, end)
        pos[0] = i + n
        return PyBytes_FromStringAndSize(<const char*>(p + i), n)

    cdef object _array(self, const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end,
                       Py_ssize_t n):
        cdef Py_ssize_t k
        cdef object first, item
        cdef tuple out
        self._enter(n, end - pos[0])
        if n == 0:
            return ()
        self.depth += 1
        first = self._parse(p, pos, end)
        if type(first) is type(_LIST) and (first is _LIST or first is _SET
                                          or first is _FROZENSET or first is _NODE):
            out = PyTuple_New(n - 1)
            for k in range(n - 1):
                item = self._parse(p, pos, end)
                Py_INCREF(item)
                PyTuple_SET_ITEM(out, k, item)
            self.depth -= 1
            if first is _LIST:
                return list(out)
            if first is _SET:
                return set(out)
            if first is _FROZENSET:
                return frozenset(out)
            # a row of the node table: referred to by later rows, not nested in them
            item = self.node(out)
            self.rows.append(item)
            return item
        out = PyTuple_New(n)
        Py_INCREF(first)
        PyTuple_SET_ITEM(out, 0, first)
        for k in range(1, n):
            item = self._parse(p, pos, end)
            Py_INCREF(item)
            PyTuple_SET_ITEM(out, k, item)
        self.depth -= 1
        return out

    cdef object _map(self, const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end,
                     Py_ssize_t n):
        cdef Py_ssize_t k
        cdef dict out = {}
        cdef object key
        if n > (end - pos[0]) // 2:
            raise ValueError(f"a msgpack map announces {n} pairs, {end - pos[0]} bytes are left")
        self._enter(2 * n, end - pos[0])
        self.depth += 1
        for k in range(n):
            key = self._parse(p, pos, end)
            out[key] = self._parse(p, pos, end)
        self.depth -= 1
        return out

    cdef object _ext(self, const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end,
                     Py_ssize_t i, Py_ssize_t n):
        """Extension type of ``n`` payload bytes after its code at ``p[i]``."""
        cdef int code
        cdef Py_ssize_t start, inner
        cdef object fields
        self._need(i, n + 1, end)
        code = <int8_t>p[i]
        start = i + 1
        pos[0] = start + n
        if code == _EXT_MARK:
            if n != 1 or p[start] >= len(_MARKS):
                raise WireError(f"unknown container mark "
                                f"{PyBytes_FromStringAndSize(<const char*>(p + start), n)!r}")
            return _MARKS[p[start]]
        if code == _EXT_ELLIPSIS:
            return Ellipsis
        if code == _EXT_BIGINT:
            return int(PyBytes_FromStringAndSize(<const char*>(p + start), n).decode("ascii"))
        if not 0 < code <= _EXT_LAST:
            raise WireError(f"unknown extension type {code}: the sender runs another lamina "
                            "version")
        # checked before descending: the payload is one level down
        if self.depth >= self.max_depth:
            self._too_deep()
        if n == 0:
            raise ValueError(f"extension type {code} has an empty payload")
        self.depth += 1
        inner = start
        fields = self._parse(p, &inner, start + n)
        self.depth -= 1
        if inner != start + n:
            raise ValueError(f"{start + n - inner} bytes after an extension type's payload")
        if code == _EXT_NDARRAY:
            value = self._array_fast(fields)
            if value is not None:
                return value
        if code == _EXT_REF:
            # a row is built once, from rows before it: a reference nests nothing
            if type(fields) is not int or not 0 <= fields < len(self.rows):
                row = fields if type(fields) is int else f"a {type(fields).__name__}"
                raise WireError(f"reference to node row {row} before it was defined")
            return self.rows[fields]
        return self._extension_value(code, fields)

    cdef object _array_fast(self, object fields):
        """The array an ordinary header describes, or None to take the checked
        Python path (which also words every refusal)."""
        cdef Py_ssize_t k, ndim
        cdef uint64_t count = 1, size, nbytes
        cdef object dtype, shape, order, index, buf
        if type(fields) is not tuple or len(fields) != 4:
            return None
        dtype, shape, order, index = fields
        dtype = _plain_dtype(dtype)
        if dtype is None or type(shape) is not tuple or type(index) is not int:
            return None
        if order is not 0 and order is not 1:
            return None
        ndim = len(shape)
        if ndim > _MAX_NDIM or not 0 < index < len(self.frames):
            return None
        for k in range(ndim):
            item = shape[k]
            if type(item) is not int or not 0 <= item < _MAX_BYTES:
                return None
            size = item
            if size and count > _MAX_BYTES // size:
                return None
            count *= size
        buf = self.frames[index]
        nbytes = buf.nbytes if type(buf) is memoryview else len(buf)
        if dtype.itemsize == 0 or count > _MAX_BYTES // dtype.itemsize \
                or count * dtype.itemsize != nbytes:
            return None
        if count == 0:
            return _empty(shape, dtype=dtype)
        flat = _frombuffer(buf, dtype=dtype, count=count)
        if order:
            return flat.reshape(shape[::-1]).T
        return flat.reshape(shape)


cdef object _plain_dtype(object plain):
    """The NumPy dtype a header's dtype string names, if plain; else None."""
    if type(plain) is not str:
        return None
    dtype = _DTYPES.get(plain)
    if dtype is not None or len(_DTYPES) >= _MAX_DTYPES or len(plain) > 16:
        return dtype
    try:
        dtype = np.dtype(plain)
    except Exception:  # the checked path words the refusal
        return None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        return None
    _DTYPES[plain] = dtype
    return dtype
