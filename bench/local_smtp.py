"""SMTP on 127.0.0.1 for the benchmarks: a server process's loop, and the load generators'
connections."""

from __future__ import annotations

import asyncio
import signal
import smtplib
from collections.abc import Callable
from typing import TypeVar

from addresses import HOST
from aiosmtpd.smtp import SMTP

_Client = TypeVar("_Client", bound=smtplib.SMTP)


async def serve_smtp(factory: Callable[[], SMTP], announce: str) -> None:
    """Serve SMTP on HOST, a free port, until SIGINT/SIGTERM.

    Prints ``{announce} listening on HOST:PORT`` once listening: what ``Child.port`` waits for.
    """
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, HOST, 0)
    print(f"{announce} listening on {HOST}:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def smtp_connect(port: int, client_class: type[_Client]) -> _Client:
    """A load generator's SMTP connection to HOST:port, past EHLO."""
    client = client_class(HOST, port, local_hostname="loadgen.example.net", timeout=60)
    client.ehlo_or_helo_if_needed()
    return client
