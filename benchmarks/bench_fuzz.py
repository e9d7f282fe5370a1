"""Fuzzing: generated hostile frames against a real scheduler and a worker's peer port.

    python benchmarks/bench_fuzz.py                      # 100,000 frames per port
    python benchmarks/bench_fuzz.py --frames 20000 --seed 3

A local cluster (one worker process) is started; each port receives
``--frames`` generated frames, in batches of one kind, over many
concurrent connections, each carrying several frames (the first message
of a connection is its greeting; with ``hello`` a valid greeting goes
first). Kinds: random bytes, valid messages cut short or with garbage
spliced in, deep nesting (containers and extension types), huge declared
sizes (frame counts, frame lengths, run-length tuples, array shapes,
msgpack lengths) and valid messages with wrong types. A receiver stops
reading a connection at its first bad message and closes it, so frames
after that one in the same connection are sent but not decoded.

After each batch the target process must be alive, its RSS within
``--rss-mib`` of its size before fuzzing, and a real computation on the
cluster correct. A table per port: frames and connections sent, how many
connections the target closed (refused) or answered to the end (the last
frame asks for ``info``), and the largest RSS growth seen.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import struct
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgpack  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

import lamina.array as la  # noqa: E402
from lamina.client import Client, LocalCluster  # noqa: E402
from lamina.comm.core import PROTOCOL_VERSION  # noqa: E402
from lamina.comm.format import EXT_BLOB, EXT_NDARRAY, EXT_PACKED, EXT_REF, EXT_RLE, EXT_SLICE  # noqa: E402
from lamina.comm.wire import MAGIC, WIRE_VERSION, dumps  # noqa: E402

PREFIX = MAGIC + bytes([WIRE_VERSION])
OPS = ["submit", "release", "cancel", "info", "get_data", "done", "batch", "hello", "compute"]


def framed(frames: list) -> bytes:
    frames = [bytes(f) for f in frames]
    return struct.pack(f"<Q{len(frames)}Q", len(frames), *map(len, frames)) + b"".join(frames)


def header(value: object) -> bytes:
    return PREFIX + msgpack.packb([[], value], use_bin_type=True)


HELLO = framed(dumps({"op": "hello", "protocol": PROTOCOL_VERSION, "wire": WIRE_VERSION,
                      "role": "client"}))
INFO = framed(dumps({"op": "info", "req": 1}))


# generators: each returns the bytes of one frame list on the stream ---------------------
def random_bytes(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(1, 600))


def realistic(rng: random.Random) -> list:
    msg = {"op": rng.choice(OPS), "ref": rng.randint(0, 9), "keys": np.arange(rng.randint(0, 40)),
           "chunks": ((5,) * rng.randint(0, 30), (3, 4)), "s": slice(1, 9, 2), "r": range(4),
           "x": [1.5, "a", b"b", {1, 2}, None]}
    return dumps(msg)


def garbled(rng: random.Random) -> bytes:
    frames = [bytes(f) for f in realistic(rng)]
    head = bytearray(frames[0])
    choice = rng.random()
    if choice < 0.4:
        for _ in range(rng.randint(1, 8)):
            head[rng.randrange(len(head))] = rng.randrange(256)
    elif choice < 0.7:
        at = rng.randrange(len(head))
        head[at:at] = rng.randbytes(rng.randint(1, 30))
    else:
        del head[rng.randrange(4, len(head)):]
    frames[0] = bytes(head)
    if rng.random() < 0.2:
        raw = framed(frames)
        return raw[:rng.randrange(1, len(raw))] + rng.randbytes(rng.randint(0, 40))
    return framed(frames)


def deep(rng: random.Random) -> bytes:
    value: object = 1
    for _ in range(rng.randint(20, 400)):
        if rng.random() < 0.5:
            value = msgpack.ExtType(EXT_SLICE, msgpack.packb([value]))
        else:
            value = [value]
    return framed([header({"op": rng.choice(OPS), "x": value})])


def huge(rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return struct.pack("<Q", rng.choice([2**20 + 1, 2**40, 2**64 - 1]))
    if kind == 1:
        return struct.pack("<QQ", 1, rng.choice([2**30, 2**34, 2**62])) + rng.randbytes(100)
    if kind == 2:
        ext = msgpack.ExtType(EXT_RLE, msgpack.packb([[7], [rng.choice([10**7, 10**9, 2**62])]]))
        return framed([header({"op": "info", "x": ext})])
    if kind == 3:
        shape = [rng.choice([2**20, 2**31, 2**40]), rng.randint(1, 1000)]
        ext = msgpack.ExtType(EXT_NDARRAY, msgpack.packb(["<f8", shape, 0, 1]))
        return framed([header({"op": "done", "tasks": ext}), b"\0" * 64])
    if kind == 4:  # msgpack array32 / str32 announcing billions of elements
        body = rng.choice([b"\xdd\xff\xff\xff\xff", b"\xdb\xff\xff\xff\xf0", b"\xdf\x7f\xff\xff\xff"])
        return framed([PREFIX + b"\x92\x90" + body + rng.randbytes(20)])
    if kind == 5:
        ext = msgpack.ExtType(rng.choice([EXT_BLOB, EXT_PACKED, EXT_REF]),
                              msgpack.packb(rng.choice([[b"x", [2**40]], [1, 2**40], 2**40])))
        return framed([header({"op": "submit", "graph": ext})])
    return framed([header({"op": "release", "keys": [0] * rng.randint(2000, 40000)})])


def wrong_types(rng: random.Random) -> bytes:
    junk = [None, 3, -1, 2**63, 1.5, "x", b"y", [1, "a"], {"k": 2}, (), slice(None), {3}]
    msg = {"op": rng.choice(OPS + [5, None, b"info"])}
    for field in rng.sample(["ref", "run", "keys", "graph", "tasks", "msgs", "req", "layers"],
                            rng.randint(0, 4)):
        msg[field] = rng.choice(junk)
    value = msg if rng.random() < 0.8 else rng.choice(junk)
    return framed(dumps(value))


KINDS: dict[str, Callable[[random.Random], bytes]] = {
    "random bytes": random_bytes, "garbled valid": garbled, "deep nesting": deep,
    "huge sizes": huge, "wrong types": wrong_types}


# driving --------------------------------------------------------------------------------
async def one_connection(address: str, payloads: list[bytes], greet: bool,
                         timeout: float) -> str:
    host, port = address.split("://")[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write((HELLO if greet else b"") + b"".join(payloads) + INFO)
        try:
            await writer.drain()
            await asyncio.wait_for(_read_until_closed(reader), timeout)
            return "refused"
        except (ConnectionError, OSError):
            return "refused"
        except asyncio.TimeoutError:
            return "answered"
    finally:
        writer.close()


async def _read_until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def fuzz_batch(address: str, kind: str, n_frames: int, per_conn: int, greet: bool,
                     concurrency: int, rng: random.Random) -> dict[str, int]:
    make = KINDS[kind]
    counts = {"frames": 0, "connections": 0, "refused": 0, "answered": 0}
    jobs = []
    while counts["frames"] < n_frames:
        k = min(per_conn, n_frames - counts["frames"])
        jobs.append([make(rng) for _ in range(k)])
        counts["frames"] += k
    gate = asyncio.Semaphore(concurrency)

    async def run(payloads: list[bytes]) -> None:
        async with gate:
            outcome = await one_connection(address, payloads, greet, timeout=0.5)
        counts[outcome] += 1

    await asyncio.gather(*(run(p) for p in jobs))
    counts["connections"] = len(jobs)
    return counts


def check(proc, baseline: int, rss_limit: int, client: Client) -> int:
    if proc.poll() is not None:
        raise SystemExit(f"the target process died (exit code {proc.returncode})")
    grown = psutil.Process(proc.pid).memory_info().rss - baseline
    if grown > rss_limit:
        raise SystemExit(f"the target's RSS grew by {grown / 2**20:.0f} MiB")
    value = client.compute(la.arange(100, chunks=10).sum()).result(60)
    if value != 4950:
        raise SystemExit(f"a computation after fuzzing gave {value}, not 4950")
    return grown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100_000, help="frames per port")
    ap.add_argument("--per-connection", type=int, default=25)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rss-mib", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    batches = [(kind, greet) for kind in KINDS for greet in (False, True)]
    per_batch = -(-args.frames // len(batches))
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        targets = {"scheduler": (cluster.scheduler_address, cluster.scheduler_process),
                   "worker peer": (cluster.worker_addresses[0], cluster.worker_processes[0])}
        print("| port | kind | greeting | frames | connections | refused | answered "
              "| max RSS growth MiB | s |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        totals = {}
        for name, (address, proc) in targets.items():
            check(proc, 0, 2**62, client)
            baseline = psutil.Process(proc.pid).memory_info().rss
            total = {"frames": 0, "connections": 0, "refused": 0, "answered": 0}
            worst = 0
            for kind, greet in batches:
                start = time.perf_counter()
                counts = asyncio.run(fuzz_batch(address, kind, per_batch, args.per_connection,
                                                greet, args.concurrency, rng))
                worst = max(worst, check(proc, baseline, args.rss_mib * 2**20, client))
                for key in total:
                    total[key] += counts[key]
                print(f"| {name} | {kind} | {'hello first' if greet else 'none'} "
                      f"| {counts['frames']:,} | {counts['connections']:,} "
                      f"| {counts['refused']:,} | {counts['answered']:,} "
                      f"| {worst / 2**20:.0f} | {time.perf_counter() - start:.1f} |", flush=True)
            totals[name] = (total, worst)
        for name, (total, worst) in totals.items():
            print(f"| **{name}** | all | | **{total['frames']:,}** | {total['connections']:,} "
                  f"| {total['refused']:,} | {total['answered']:,} | {worst / 2**20:.0f} | |")
    print("alive, bounded and computing correctly after every batch")


if __name__ == "__main__":
    main()
