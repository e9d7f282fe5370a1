"""Exact TSQR and SVD: defined in ``lamina.array.tsqr`` (the Array API linalg extension uses
them, and ``lamina.array`` may not import ``lamina.linalg``)."""

from lamina.array.tsqr import (
    STACK_BYTES,
    default_split_every,
    float_dtype,
    qr,
    svd,
    transpose,
    tsqr,
)

__all__ = ["STACK_BYTES", "default_split_every", "float_dtype", "qr", "svd", "transpose", "tsqr"]
