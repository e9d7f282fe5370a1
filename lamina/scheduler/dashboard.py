"""The scheduler's dashboard: a static page polling a JSON snapshot.

    dashboard = Dashboard(lambda cursor: scheduler.snapshot(cursor))
    link = await dashboard.start("127.0.0.1:8787")    # http://127.0.0.1:8787/

Tornado's HTTP server, on the scheduler's event loop, serves the page and
its scripts from ``lamina/scheduler/static`` (nothing is fetched from the
internet) and ``/api/status.json?since=CURSOR``, built by ``Monitor`` when
asked. Only GET exists: nothing here changes the scheduler or runs code.
It listens on 127.0.0.1 unless told otherwise; it carries no secret, so
anyone who can reach the port sees the layer labels, shapes and timings.
A busy default port falls back to a free one, as it is only for people.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
from typing import Any, Callable

import tornado.httpserver
import tornado.netutil
import tornado.web

from lamina.scheduler.records import compact_tasks

logger = logging.getLogger("lamina.scheduler")

STATIC = os.path.join(os.path.dirname(__file__), "static")
PAGES = ("", "status", "tasks", "workers", "plan")
DEFAULT_ADDRESS = "127.0.0.1:8787"


def parse_address(text: str) -> tuple[str, int]:
    """``"host:port"``, ``":port"`` (localhost) or ``"port"``: the host and port to bind."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ValueError(f"dashboard address {text!r} has no valid port: give HOST:PORT, "
                         "e.g. 127.0.0.1:8787 or :0 for a free port")
    return host, number


class _Handler(tornado.web.RequestHandler):
    """Common headers: no framing, no inline code from elsewhere, no sniffing."""

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Content-Security-Policy",
                        "default-src 'self'; style-src 'self' 'unsafe-inline'")
        self.set_header("Cache-Control", "no-store")


class _Page(_Handler):
    def get(self, page: str = "") -> None:
        with open(os.path.join(STATIC, "index.html"), "rb") as f:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(f.read())


class _NoIcon(_Handler):
    def get(self) -> None:
        self.set_status(204)
        self.finish()


class _Status(_Handler):
    def initialize(self, snapshot: Callable[[int], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def get(self) -> None:
        try:
            cursor = int(self.get_query_argument("since", "0"))
        except ValueError:
            raise tornado.web.HTTPError(400, "since must be a whole number") from None
        snapshot = self.snapshot(max(cursor, 0))
        snapshot["tasks"] = compact_tasks(snapshot["tasks"], binary=True)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(snapshot, default=_plain, allow_nan=False,
                               separators=(",", ":")))


class _Static(tornado.web.StaticFileHandler, _Handler):
    pass


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"cannot show a {type(value).__name__} on the dashboard")


def application(snapshot: Callable[[int], dict[str, Any]]) -> tornado.web.Application:
    """The dashboard's routes: the pages, their static files and the JSON snapshot."""
    pages = "|".join(p for p in PAGES if p)
    return tornado.web.Application([
        (r"/", _Page),
        (r"/favicon\.ico", _NoIcon),
        (rf"/({pages})", _Page),
        (r"/api/status\.json", _Status, {"snapshot": snapshot}),
        (r"/static/(.*)", _Static, {"path": STATIC}),
    ])


class Dashboard:
    """The HTTP server of one scheduler's dashboard."""

    def __init__(self, snapshot: Callable[[int], dict[str, Any]]) -> None:
        self.server = tornado.httpserver.HTTPServer(application(snapshot))
        self.link = ""

    async def start(self, address: str = DEFAULT_ADDRESS) -> str:
        """Listen at ``address`` (``host:port``); return the page's link."""
        host, port = parse_address(address)
        try:
            sockets = tornado.netutil.bind_sockets(port, host)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == 0:
                raise
            logger.warning("dashboard port %d is busy: using a free one instead", port)
            sockets = tornado.netutil.bind_sockets(0, host)
        self.server.add_sockets(sockets)
        bound_host, bound_port = sockets[0].getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.link = f"http://{shown}:{bound_port}/"
        return self.link

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()
