"""Fetching a finished run's blocks from the workers, and checking what came back.

    blocks = await gather_blocks(pool, run_done_message)   # raises OutputsLost
    check_blocks(layers, blocks)                           # raises ResultError

A worker can leave between the end of a run and the client's fetch, taking
the run's outputs with it: ``gather_blocks`` then raises ``OutputsLost``
and the client computes the run again instead of failing. A peer can also
answer with something that is not what the layer declared (a block of
another shape or dtype, not an array at all): ``check_blocks`` refuses it
before it is assembled, since assembling would broadcast or cast it
silently into a wrong array.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina.client.futures import ResultError
from lamina.comm.pool import ConnectionPool
from lamina.layers.base import Layer


class OutputsLost(ConnectionError):
    """A finished run's outputs are gone (their worker left) before they were fetched."""


async def gather_blocks(pool: ConnectionPool, msg: dict) -> list[list[Any]]:
    """Each output's blocks of a ``run_done`` message, fetched from the workers holding them.

    Raises ``OutputsLost`` when a holder left the cluster, cannot be
    reached or no longer has the blocks.
    """
    outputs, addresses = msg["outputs"], msg["workers"]
    keys = np.concatenate([np.asarray(k, dtype=np.int64) for k, _ in outputs])
    where = np.concatenate([np.asarray(w, dtype=np.int64) for _, w in outputs])
    keys, first = np.unique(keys, return_index=True)
    where = where[first]
    groups = [(_address(addresses, int(w)), keys[where == w]) for w in np.unique(where)]
    try:
        replies = await asyncio.gather(*(pool.request(a, {"op": "get_data", "keys": k})
                                         for a, k in groups))
    except (ConnectionError, asyncio.TimeoutError) as exc:
        raise OutputsLost(f"could not fetch results from a worker: {exc}") from exc
    values: dict[int, Any] = {}
    for (address, k), reply in zip(groups, replies):
        if not isinstance(reply, dict) or not isinstance(reply.get("values"), list):
            raise ResultError(f"worker {address} answered a request for results with "
                              f"{_kind(reply)}, not a list of values")
        if reply.get("missing"):
            raise OutputsLost(f"worker {address} lost results {list(reply['missing'])[:5]} "
                              "before they were gathered")
        if len(reply["values"]) != len(k):
            raise ResultError(f"worker {address} sent {len(reply['values'])} values for "
                              f"{len(k)} requested results")
        values.update(zip(k.tolist(), reply["values"]))
    return [[values[key] for key in np.asarray(k, dtype=np.int64).tolist()] for k, _ in outputs]


def check_blocks(layers: Sequence[Layer], blocks: list[list[Any]], arrays: bool,
                 source: str = "a worker or peer sent a value") -> None:
    """Raise ``ResultError`` unless there is one list per layer, one block per block
    of the layer and, when the blocks are to be assembled (``arrays``), every block
    is an array of its layer's dtype and block shape.

    Blocks handed back as they are (``compute_blocks``) are only counted: a
    layer's kernel may return any value (factors, encoded payloads).
    """
    if len(blocks) != len(layers):
        raise ResultError(f"the cluster sent {len(blocks)} outputs for {len(layers)} "
                          "computed collections")
    for layer, layer_blocks in zip(layers, blocks):
        if len(layer_blocks) != layer.nblocks:
            raise ResultError(f"the cluster sent {len(layer_blocks)} blocks of {layer.label()} "
                              f"({layer.name}), which has {layer.nblocks}")
        if not arrays:
            continue
        for flat, block in enumerate(layer_blocks):
            problem = _mismatch(layer, flat, block)
            if problem:
                raise ResultError(
                    f"block {layer.block_index(flat)} of {layer.label()} ({layer.name}) "
                    f"came back as {problem}: {source} that is not what the computation "
                    "declared; the result was refused")


def _mismatch(layer: Layer, flat: int, block: Any) -> str:
    """What is wrong with ``block`` for block ``flat`` of ``layer`` ('' when nothing)."""
    problem = getattr(layer, "block_problem", None)
    if problem is not None:
        return problem(flat, block)
    dtype, shape = getattr(block, "dtype", None), getattr(block, "shape", None)
    if dtype is None or shape is None:
        return f"{_kind(block)}, not an array of {layer.dtype}"
    index = layer.block_index(flat)
    expected = tuple(c[i] for c, i in zip(layer.chunks, index))
    if tuple(shape) != expected:
        return f"an array of shape {tuple(shape)}, not {expected}"
    if np.dtype(dtype) != layer.dtype:
        return f"an array of dtype {np.dtype(dtype)}, not {layer.dtype}"
    return ""


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _address(addresses: dict, wid: int) -> str:
    address = addresses.get(wid)
    if address is None:
        raise OutputsLost(f"results are on worker {wid}, which left the cluster")
    return address
