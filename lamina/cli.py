"""The ``lamina`` command line.

    lamina svd INPUT.zarr -k 10 --power-iter 2 --out result.npz
    lamina svd --demo 200000x20000 --chunks 20000,5000 -k 10
    lamina svd --demo 20000x5000 --scaler patterson --dtype float32
    lamina svd --demo 200000x20000 -k 10 --scheduler tcp://scheduler-host:8786
    lamina svd --demo 200000x20000 -k 10 --dask-scheduler tcp://dask-scheduler:8786
    lamina pca cohort.bed -k 10 --out cohort     # see lamina.linalg.cli_pca

Each subcommand lives in a ``_add_<name>`` / ``_run_<name>`` pair; a new
one registers itself in ``COMMANDS``. Computations run on the embedded
runner, with ``--scheduler ADDRESS`` on a lamina cluster, or with
``--dask-scheduler ADDRESS`` on lamina's runtime hosted by a Dask cluster
(the same passes, the same result for the same seed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from typing import Any, Callable, Sequence, TextIO

import numpy as np

from lamina.linalg.cli_pca import add_pca_parser, run_pca


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def _pair(text: str, sep: str, what: str) -> tuple[int, int]:
    parts = text.lower().replace("_", "").split(sep)
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{what} {text!r}: give two integers like 1000{sep}200")
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} {text!r}: give two integers like 1000{sep}200")
    if a <= 0 or b <= 0:
        raise argparse.ArgumentTypeError(f"{what} {text!r}: both sizes must be positive")
    return a, b


def _shape(text: str) -> tuple[int, int]:
    return _pair(text, "x", "shape")


def _chunks(text: str) -> tuple[int, int]:
    return _pair(text, ",", "chunks")


def _add_svd(sub: Any) -> None:
    p = sub.add_parser("svd", help="leading singular triplets of a large matrix",
                       description="Randomized SVD (or PCA) of a zarr array or a demo "
                                   "genotype matrix, in n_power_iter + 1 passes.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("input", nargs="?", help="path of a 2-D zarr array")
    source.add_argument("--demo", type=_shape, metavar="ROWSxCOLS",
                        help="generate a genotype-like uint8 matrix (0/1/2) of this shape")
    p.add_argument("-k", type=int, default=10, help="number of singular triplets (default 10)")
    p.add_argument("--power-iter", type=int, default=0, metavar="Q",
                   help="power iterations, one extra pass each (default 0)")
    p.add_argument("--iterator", choices=("power", "QR"), default="QR",
                   help="re-orthonormalize between iterations with QR (default) or not")
    p.add_argument("--oversamples", type=int, default=10, help="extra sketch columns (default 10)")
    p.add_argument("--chunks", type=_chunks, metavar="R,C",
                   help="block size (default: the zarr chunks, or 20000,5000 for --demo)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="compute dtype (default float64, float32 for float32 input)")
    p.add_argument("--scaler", choices=("none", "center", "patterson"), default="none",
                   help="row scaling for genotype PCA (default none: plain SVD)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random sketch (default 0)")
    p.add_argument("--demo-seed", type=int, default=0, help="seed of the demo matrix")
    p.add_argument("--populations", type=int, default=4, help="populations in the demo matrix")
    p.add_argument("--threads", type=int, default=None,
                   help="embedded runner threads (default: all cores)")
    p.add_argument("--out", metavar="FILE.npz", help="save u, s, v to this file")
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on the lamina cluster whose scheduler is at ADDRESS "
                              "(tcp://host:port); a zarr input must be readable by its "
                              "workers")
    cluster.add_argument("--dask-scheduler", metavar="ADDRESS",
                         help="run on the Dask cluster whose scheduler is at ADDRESS, "
                              "starting lamina's scheduler and workers inside its processes "
                              "if they do not run there yet")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    from lamina.distributed_cli import add_security_options

    add_security_options(p, "with --scheduler: the file holding the cluster secret (default: "
                         "$LAMINA_AUTH_SECRET, else $LAMINA_AUTH_FILE, else ~/.lamina/secret, "
                         "the file `lamina scheduler` writes)", listens=False)


CONNECT_SECONDS = 10.0
WORKER_WAIT_SECONDS = 30.0


def _connect(address: str, err: TextIO, args: argparse.Namespace) -> Any:
    """A ``Client`` of the scheduler at ``address`` with at least one worker, or None
    (after saying why on ``err``). Waits a while for both, so that they may be
    started together with this command."""
    from lamina.client import Client
    from lamina.comm.auth import AuthenticationError
    from lamina.comm.security import Security
    from lamina.distributed_cli import security_options

    try:
        auth = None
        if args.auth_file or args.tls_cert or args.tls_ca:
            auth = Security.when_written(CONNECT_SECONDS, args.auth_file,
                                         **security_options(args))
        client = Client(address, timeout=CONNECT_SECONDS, auth=auth)
    except (AuthenticationError, LookupError, PermissionError) as exc:
        err.write(f"lamina svd: {exc}\n")
        return None
    except OSError as exc:
        err.write(f"lamina svd: could not connect to the scheduler at {address} ({exc}): "
                  "check the address, or start one with `lamina scheduler`\n")
        return None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (OSError, RuntimeError) as exc:
        client.close()
        err.write(f"lamina svd: {exc}\n")
        return None
    return client


def _connect_dask(address: str, err: TextIO, stack: contextlib.ExitStack) -> Any:
    """A ``Client`` of lamina's runtime on the Dask cluster at ``address`` (started
    there if needed), or None after saying why on ``err``."""
    try:
        import distributed
    except ImportError:
        err.write("lamina svd: --dask-scheduler needs the distributed package: "
                  "pip install distributed\n")
        return None
    from lamina.client import Client

    try:
        dask_client = stack.enter_context(distributed.Client(address,
                                                             timeout=CONNECT_SECONDS))
        client = Client.from_dask(dask_client, timeout=WORKER_WAIT_SECONDS)
        stack.callback(client.close)
        return client
    except (OSError, TimeoutError, RuntimeError) as exc:
        err.write(f"lamina svd: could not run on the Dask cluster at {address} ({exc})\n")
        return None


def _run_svd(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with contextlib.ExitStack() as stack:
        return _run_svd_in(args, out, err, stack)


def _run_svd_in(args: argparse.Namespace, out: TextIO, err: TextIO,
                stack: contextlib.ExitStack) -> int:
    import lamina.linalg as ll

    if args.demo:
        a = ll.genotype_matrix(args.demo, chunks=args.chunks or (20_000, 5_000),
                               seed=args.demo_seed, n_populations=args.populations)
        what = f"demo genotypes {a.shape[0]}x{a.shape[1]} uint8"
    else:
        local = (args.scheduler or args.dask_scheduler) and "://" not in args.input
        path = os.path.abspath(args.input) if local else args.input
        a = ll.open_zarr(path, chunks=args.chunks)
        if a.ndim != 2:
            err.write(f"lamina svd: {args.input} holds a {a.ndim}-D array; svd needs 2-D\n")
            return 2
        what = f"{args.input} {a.shape[0]}x{a.shape[1]} {a.dtype}"
    out.write(f"input      {what}, chunks {a.chunksize[0]}x{a.chunksize[1]} "
              f"({a.numblocks[0]}x{a.numblocks[1]} blocks)\n")
    client = None
    address = args.scheduler or args.dask_scheduler
    if address:
        client = (_connect(address, err, args) if args.scheduler
                  else _connect_dask(address, err, stack))
        if client is None:
            return 2
        workers = list(client.scheduler_info()["workers"].values())
        plural = "" if len(workers) == 1 else "s"
        host = " (Dask)" if args.dask_scheduler else ""
        out.write(f"cluster    {address}{host}, {len(workers)} worker{plural}, "
                  f"{sum(w['nthreads'] for w in workers)} threads\n")
    from lamina.diagnostics import PassBars

    bar = None if args.no_progress else PassBars(err)
    start = time.perf_counter()
    try:
        with client if client is not None else contextlib.nullcontext():
            result = ll.randomized_svd(a, args.k, n_power_iter=args.power_iter,
                                       n_oversamples=args.oversamples, iterator=args.iterator,
                                       seed=args.seed, dtype=args.dtype, scaler=args.scaler,
                                       nthreads=args.threads, progress=bar)
    except (RuntimeError, ConnectionError) as exc:
        if client is None:
            raise
        if bar is not None:
            bar.close()
        err.write(f"lamina svd: the computation on {address} failed: {exc}\n")
        return 1
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - start
    mode = "one read per pass" if result.single_read else "split passes"
    out.write(f"wall time  {wall:.2f} s\n")
    out.write(f"passes     {result.passes} over the input ({mode}, q={args.power_iter})\n")
    where = " (this process; the workers' memory is their own)" if client is not None else ""
    out.write(f"peak RSS   {peak_rss_bytes() / 2**20:.0f} MiB{where}\n")
    out.write("singular values " + " ".join(f"{v:.6g}" for v in result.s) + "\n")
    if args.out:
        np.savez(args.out, u=result.u, s=result.s, v=result.v)
        out.write(f"saved      u {result.u.shape}, s {result.s.shape}, v {result.v.shape} "
                  f"to {args.out}\n")
    return 0


def _add_scheduler(subparsers: Any) -> None:
    from lamina.distributed_cli import add_scheduler_parser

    add_scheduler_parser(subparsers)


def _add_worker(subparsers: Any) -> None:
    from lamina.distributed_cli import add_worker_parser

    add_worker_parser(subparsers)


def _run_distributed(args: Any, out: TextIO, err: TextIO) -> int:
    return int(args.func(args) or 0)


COMMANDS: dict[str, tuple[Callable[[Any], None], Callable[..., int]]] = {
    "svd": (_add_svd, _run_svd),
    "pca": (add_pca_parser, run_pca),
    "scheduler": (_add_scheduler, _run_distributed),
    "worker": (_add_worker, _run_distributed),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``lamina`` parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="lamina",
                                     description="Chunked arrays far larger than memory.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Entry point of the ``lamina`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        return COMMANDS[args.command][1](args, out, err)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        err.write(f"lamina {args.command}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
