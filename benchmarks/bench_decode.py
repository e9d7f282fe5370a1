"""Decoding cost of the cluster's small messages: lamina's bounded decoder beside plain msgpack.

Prints one table. A batch of task reports is the most frequent message a
scheduler decodes; plain ``msgpack.unpackb`` of the same header (no
extension types rebuilt, no bounds checked) is the floor.

    python benchmarks/bench_decode.py
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import msgpack
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lamina.comm.wire import MAGIC, dumps, loads  # noqa: E402


def batch(n: int) -> dict:
    return {"op": "batch", "msgs": [{"op": "done", "run": 1, "tasks": np.arange(i, i + 4),
                                     "nbytes": [8, 8, 8, 8]} for i in range(n)]}


def best(fn, number: int = 5) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main() -> None:
    print(f"{'messages':>9} {'lamina ms':>10} {'msgpack ms':>11} {'ratio':>6}")
    for n in (100, 1000, 10_000):
        frames = dumps(batch(n))
        header = bytes(frames[0])[len(MAGIC) + 1:]  # after the magic and version byte
        ours = best(lambda: loads(frames))
        floor = best(lambda: msgpack.unpackb(header, raw=False, strict_map_key=False))
        print(f"{n:>9,} {ours * 1e3:>10.2f} {floor * 1e3:>11.2f} {ours / floor:>6.1f}")


if __name__ == "__main__":
    main()
