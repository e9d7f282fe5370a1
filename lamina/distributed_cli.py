"""Command-line entry points of the distributed runtime.

    lamina scheduler [--host 127.0.0.1] [--port 8786] [--max-task-losses 3]
                     [--heartbeat-interval 1] [--worker-timeout 10]
    lamina worker tcp://127.0.0.1:8786 [--nthreads 4] [--host 127.0.0.1]

``add_scheduler_parser`` and ``add_worker_parser`` add these sub-commands
to the ``lamina`` command's parser; each sets ``func(args) -> exit code``.
``python -m lamina.distributed_cli`` runs them on their own.
"""

from __future__ import annotations

import argparse
from typing import Any, Sequence


def add_scheduler_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``scheduler`` sub-command: serve clients and workers until interrupted."""
    parser = subparsers.add_parser("scheduler", help="run a lamina scheduler",
                                   description="Run a lamina scheduler. It never unpickles "
                                   "or runs user code.")
    _add_process_options(parser, "interface to listen on (default: 127.0.0.1)",
                         8786, "TCP port (default: 8786; 0 picks a free one)")
    parser.add_argument("--max-task-losses", type=_at_least_one, default=None, metavar="N",
                        help="a task running on N workers as they left the cluster fails "
                        "its run (default: 3)")
    parser.add_argument("--heartbeat-interval", type=_seconds, default=None, metavar="SECONDS",
                        help="how often workers report that they are alive (default: 1)")
    parser.add_argument("--worker-timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="a worker silent this long is removed and its work computed "
                        "again elsewhere; longer than the heartbeat interval (default: 10)")
    parser.set_defaults(func=_scheduler)
    return parser


def add_worker_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``worker`` sub-command: run tasks for the scheduler at ADDRESS."""
    parser = subparsers.add_parser("worker", help="run a lamina worker",
                                   description="Run a lamina worker for a scheduler.")
    parser.add_argument("address", help="the scheduler, e.g. tcp://127.0.0.1:8786")
    parser.add_argument("--nthreads", type=int, default=1,
                        help="threads running tasks (default: 1)")
    _add_process_options(parser, "interface peers reach this worker on (default: 127.0.0.1)",
                         0, "TCP port for peers (default: 0, a free one)")
    parser.set_defaults(func=_worker)
    return parser


def _add_process_options(parser: argparse.ArgumentParser, host_help: str, port: int,
                         port_help: str) -> None:
    """``--host``, ``--port`` and the hidden ``--exit-with-parent`` (``comm.process``)."""
    parser.add_argument("--host", default="127.0.0.1", help=host_help)
    parser.add_argument("--port", type=int, default=port, help=port_help)
    parser.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)


def _at_least_one(text: str) -> int:
    """An integer of 1 or more, for ``--max-task-losses``."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of workers, 1 or more, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """A positive number of seconds, for ``--heartbeat-interval`` and ``--worker-timeout``."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _scheduler(args: argparse.Namespace) -> int:
    from lamina.scheduler.heartbeat import HeartbeatWatch
    from lamina.scheduler.server import run_scheduler

    names = ("max_task_losses", "heartbeat_interval", "worker_timeout")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    watch = {key: given[name] for key, name in (("interval", "heartbeat_interval"),
                                                 ("timeout", "worker_timeout")) if name in given}
    try:
        HeartbeatWatch(**watch)
    except ValueError as exc:
        raise SystemExit(f"lamina scheduler: {exc}") from None
    return run_scheduler(args.host, args.port, args.exit_with_parent, **given)


def _worker(args: argparse.Namespace) -> int:
    from lamina.worker.worker import run_worker

    if args.nthreads < 1:
        raise SystemExit(f"--nthreads must be at least 1, got {args.nthreads}")
    return run_worker(args.address, args.nthreads, args.host, args.port, args.exit_with_parent)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``scheduler`` or ``worker`` from ``argv``."""
    parser = argparse.ArgumentParser(prog="lamina")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_scheduler_parser(subparsers)
    add_worker_parser(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
