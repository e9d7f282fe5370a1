"""A stand-in connection for driving the scheduler server in process.

    ws = WorkerState(1, "inproc://sim-1", 2, Inbox())
    ...                                  # let the scheduler decide
    for msg in ws.out.take():            # what it would have sent that worker
        ...

Tests and the scheduler benchmark feed the server events directly and read
its decisions here, without sockets.
"""

from __future__ import annotations


class Inbox:
    """Keeps what the scheduler sends, in order, until taken."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def send(self, msg: dict) -> None:
        self.messages.append(msg)

    def take(self) -> list[dict]:
        out, self.messages = self.messages, []
        return out
