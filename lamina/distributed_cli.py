"""Command-line entry points of the distributed runtime.

    lamina scheduler [--host 127.0.0.1] [--port 8786] [--max-task-losses 3]
                     [--heartbeat-interval 1] [--worker-timeout 10]
                     [--dashboard-address :8787 | --no-dashboard]
                     [--ahead-depth 64] [--ahead-budget 1024]
    lamina worker tcp://127.0.0.1:8786 [--nthreads 4] [--host 127.0.0.1] [--memory-limit 2GiB]

Both take ``--auth-file PATH`` (the cluster secret; by default
``LAMINA_AUTH_SECRET``, ``LAMINA_AUTH_FILE`` or ``~/.lamina/secret``, which
the scheduler creates) and ``--tls-cert/--tls-key/--tls-ca`` (TLS:
``tls://`` addresses); see docs/security.md.

``add_scheduler_parser`` and ``add_worker_parser`` add these sub-commands
to the ``lamina`` command's parser; each sets ``func(args) -> exit code``.
``python -m lamina.distributed_cli`` runs them on their own.
"""

from __future__ import annotations

import argparse
import sys
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
    add_security_options(parser, "the cluster secret, created (mode 0600) if missing "
                         "(default: $LAMINA_AUTH_SECRET, else $LAMINA_AUTH_FILE, "
                         "else ~/.lamina/secret)")
    parser.add_argument("--heartbeat-interval", type=_seconds, default=None, metavar="SECONDS",
                        help="how often workers report that they are alive (default: 1)")
    parser.add_argument("--worker-timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="a worker silent this long is removed and its work computed "
                        "again elsewhere; longer than the heartbeat interval (default: 10)")
    parser.add_argument("--dashboard-address", type=_dashboard_address, default=":8787",
                        metavar="HOST:PORT",
                        help="serve the dashboard here (default: :8787, on 127.0.0.1; a busy "
                        "port falls back to a free one). It is read-only and has no password: "
                        "bind another interface only on a trusted network")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="serve no dashboard")
    parser.add_argument("--ahead-depth", type=_at_least_zero, default=None, metavar="N",
                        help="send dependents ahead to the worker making their inputs, up to "
                        "N levels along the optimizer's hints; 0 turns it off (default: 64)")
    parser.add_argument("--ahead-budget", type=_at_least_zero, default=None, metavar="N",
                        help="tasks sent ahead that one worker may hold (default: 1024)")
    parser.set_defaults(func=_scheduler)
    return parser


def add_worker_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``worker`` sub-command: run tasks for the scheduler at ADDRESS."""
    parser = subparsers.add_parser("worker", help="run a lamina worker",
                                   description="Run a lamina worker for a scheduler.")
    parser.add_argument("address", help="the scheduler, e.g. tcp://127.0.0.1:8786")
    parser.add_argument("--nthreads", type=int, default=1,
                        help="threads running tasks (default: 1)")
    parser.add_argument("--memory-limit", type=_memory_limit, default=None, metavar="SIZE",
                        help="spill blocks to disk above 60%% of SIZE and pause above 80%%: "
                        "bytes, '2GiB', '500MB' or a fraction of this machine's memory "
                        "('0.5'); default: no limit")
    parser.add_argument("--prepare", action="append", choices=("frames",), default=[],
                        metavar="KIND",
                        help="import the libraries of KIND at start instead of when a client "
                        "first asks (frames: pandas and pyarrow); repeatable")
    _add_process_options(parser, "interface peers reach this worker on (default: 127.0.0.1)",
                         0, "TCP port for peers (default: 0, a free one)")
    add_security_options(parser, "the file holding the cluster secret (default: "
                         "$LAMINA_AUTH_SECRET, else $LAMINA_AUTH_FILE, else ~/.lamina/secret, "
                         "the file `lamina scheduler` writes)")
    parser.set_defaults(func=_worker)
    return parser


def _add_process_options(parser: argparse.ArgumentParser, host_help: str, port: int,
                         port_help: str) -> None:
    """``--host``, ``--port`` and the hidden ``--exit-with-parent`` (``comm.process``)."""
    parser.add_argument("--host", default="127.0.0.1", help=host_help)
    parser.add_argument("--port", type=int, default=port, help=port_help)
    parser.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)


def add_security_options(parser: argparse.ArgumentParser, auth_help: str,
                         listens: bool = True) -> None:
    """``--auth-file`` and the TLS files (``--tls-mutual`` for a process that
    ``listens``); ``security_options(args)`` reads them back."""
    parser.add_argument("--auth-file", metavar="PATH", help=auth_help)
    cert_help = ("this process's TLS certificate: listen on tls:// (with --tls-key)" if listens
                 else "a TLS certificate to present to a scheduler that requires one")
    parser.add_argument("--tls-cert", metavar="PEM", help=cert_help)
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument("--tls-ca", metavar="PEM",
                        help="the CA that signs the cluster's certificates (default: the "
                        "system's)")
    if listens:
        parser.add_argument("--tls-mutual", action="store_true",
                            help="require every connecting process to present a certificate "
                            "signed by --tls-ca (mutual TLS)")


def security_options(args: argparse.Namespace) -> dict[str, Any]:
    """The TLS keyword arguments of ``Security`` from ``add_security_options``'s flags."""
    return {"tls_cert": args.tls_cert, "tls_key": args.tls_key, "tls_ca": args.tls_ca,
            "tls_mutual": getattr(args, "tls_mutual", False)}


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


def _memory_limit(text: str) -> int | None:
    """Bytes for ``--memory-limit`` (``lamina.worker.store.parse_memory_limit``)."""
    from lamina.worker.store import parse_memory_limit

    try:
        return parse_memory_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dashboard_address(text: str) -> str:
    """``HOST:PORT`` or ``:PORT`` for ``--dashboard-address``."""
    from lamina.scheduler.dashboard import parse_address

    try:
        parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _at_least_zero(text: str) -> int:
    """An integer of 0 or more, for ``--ahead-depth`` and ``--ahead-budget``."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer of 0 or more, got {text!r}")
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
    from lamina.comm.security import SECRET_ENV, Security
    from lamina.scheduler.heartbeat import HeartbeatWatch
    from lamina.scheduler.server import run_scheduler

    names = ("max_task_losses", "heartbeat_interval", "worker_timeout", "ahead_depth",
             "ahead_budget")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    watch = {key: given[name] for key, name in (("interval", "heartbeat_interval"),
                                                 ("timeout", "worker_timeout")) if name in given}
    try:
        HeartbeatWatch(**watch)
        security = Security.for_scheduler(args.auth_file, **security_options(args))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"lamina scheduler: {exc}") from None
    if security.source != SECRET_ENV:
        print(f"lamina scheduler: workers and clients authenticate with the secret in "
              f"{security.source}", file=sys.stderr, flush=True)
    dashboard = None if args.no_dashboard else args.dashboard_address
    return run_scheduler(args.host, args.port, args.exit_with_parent, security=security,
                         dashboard_address=dashboard, **given)


def _worker(args: argparse.Namespace) -> int:
    from lamina.comm.security import Security
    from lamina.worker.worker import SCHEDULER_WAIT_SECONDS, run_worker

    if args.nthreads < 1:
        raise SystemExit(f"--nthreads must be at least 1, got {args.nthreads}")
    try:
        security = Security.when_written(SCHEDULER_WAIT_SECONDS, args.auth_file,
                                         **security_options(args))
        return run_worker(args.address, args.nthreads, args.host, args.port,
                          args.exit_with_parent, security, args.memory_limit,
                          prepare=args.prepare)
    except (OSError, ValueError, LookupError) as exc:
        raise SystemExit(f"lamina worker: {exc}") from None


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
