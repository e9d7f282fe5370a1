"""The process entry shared by ``lamina scheduler`` and ``lamina worker``: it starts,
says where it listens, stops on SIGTERM or when the service ends, and closes."""

import asyncio
import os
import signal

from lamina.comm.process import run_process, serve_until_stopped


class Service:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.over = asyncio.Event()

    async def start(self) -> str:
        self.events.append("start")
        return "tcp://127.0.0.1:1234"

    async def close(self) -> None:
        self.events.append("close")

    async def ended(self) -> None:
        await self.over.wait()


def test_a_service_that_ends_is_closed():
    async def main() -> list[str]:
        service = Service()

        def ready(address: str) -> None:
            service.events.append(address)
            asyncio.get_running_loop().call_soon(service.over.set)

        await serve_until_stopped(service.start, service.close, ready, ended=service.ended)
        return service.events

    assert asyncio.run(main()) == ["start", "tcp://127.0.0.1:1234", "close"]


def test_sigterm_stops_and_closes_with_the_ready_line_printed_first(capsys):
    service = Service()

    async def start() -> str:
        address = await service.start()
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        return address

    assert run_process("worker", start, service.close, suffix=" for tcp://s:1") == 0
    assert service.events == ["start", "close"]
    assert capsys.readouterr().out == \
        "lamina worker listening at tcp://127.0.0.1:1234 for tcp://s:1\n"
