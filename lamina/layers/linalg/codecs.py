"""Compression settings shared by the in-memory and zarr persists.

Genotype blocks hold few distinct values, so bit shuffle followed by zstd
compresses them well; Blosc runs inside the task's thread (numcodecs only
starts its own threads when called from the main thread).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

BLOSC_CNAME = "zstd"
BLOSC_CLEVEL = 3


@lru_cache(maxsize=8)
def blosc_codec(clevel: int = BLOSC_CLEVEL) -> Any:
    """numcodecs Blosc with zstd and bit shuffle."""
    from numcodecs import Blosc

    return Blosc(cname=BLOSC_CNAME, clevel=clevel, shuffle=Blosc.BITSHUFFLE)


def zarr_blosc_codec(clevel: int = BLOSC_CLEVEL) -> Any:
    """The zarr v3 codec equivalent of ``blosc_codec``."""
    from zarr.codecs import BloscCodec

    return BloscCodec(cname=BLOSC_CNAME, clevel=clevel, shuffle="bitshuffle")
