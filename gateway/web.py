"""The HTTP server: uvicorn serving ``gateway.http``'s application.

In ``serve`` it runs in a thread of its own (with its own event loop), beside the SMTP
listener; ``helpdesk web`` runs it alone (production). The socket is bound here, so a port of 0
works and the port is known before the first request.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from gateway.http.app import Deliver, create
from helpdesk.app.runtime import App


class HttpServer:
    def __init__(self, app: App, deliver: Deliver) -> None:
        config = uvicorn.Config(
            create(app, deliver), log_config=None, access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._socket = socket.socket()

    def bind(self, host: str, port: int) -> int:
        """Take the address (first, so a taken port stops the start before anything runs);
        the port bound."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and without
        # it every answer after the first on a keep-alive connection waited ~40 ms for the
        # client's delayed ACK (Nagle: h11 writes the head and the body apart)
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        """Serve on the bound socket in a thread."""
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, name="http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def run(self, host: str, port: int) -> None:
        """Serve in this thread until SIGINT or SIGTERM."""
        self.bind(host, port)
        self.server.run(sockets=[self._socket])

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
