"""``helpdesk serve``: the SMTP listener, the IMAP poller when configured, the in-process workers,
and the HTTP server (``HELPDESK_HTTP_LISTEN``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker

from gateway.edge import RecipientPolicy, SupportHandler, make_smtp, tls_context
from gateway.guard import Limits, Sessions, quiet_accept_errors
from gateway.imap import ImapPoller
from gateway.imap_config import imap_options
from gateway.imap_session import target_urls
from gateway.intake import Intake
from gateway.runners import ChildWorkers, RemoteWorkers, ThreadWorkers, Workers
from gateway.web import HttpServer
from helpdesk.app.blocks import BlockList
from helpdesk.app.runtime import App
from helpdesk.app.settings import host_port
from workers.actors import make_broker
from workers.transport import Transport

log = logging.getLogger("helpdesk.serve")


class Gateway:
    """The running parts of ``serve``, startable and stoppable from a test's event loop too.

    Where the work behind the edge runs: with Redis, in ``helpdesk worker`` processes; with the
    in-process broker, in a child process (``child_workers``, what ``serve`` does) or in
    threads of this one (what most tests do).
    """

    def __init__(
        self,
        app: App,
        broker: Broker | None = None,
        transport: Transport | None = None,
        child_workers: bool = False,
    ) -> None:
        settings = app.settings
        self.app = app
        self.broker = broker or make_broker(settings)
        self.workers: Workers
        if not isinstance(self.broker, StubBroker):
            self.workers = RemoteWorkers(app, self.broker, transport)
        elif child_workers:
            self.workers = ChildWorkers(app)
        else:
            self.workers = ThreadWorkers(app, self.broker, transport)
        self.intake = Intake(
            app.engine, settings.group_commit_window_ms / 1000, on_commit=self.workers.wake
        )
        self.blocks = BlockList()
        policy = RecipientPolicy(settings.support_addresses, app.secret, app.previous_secrets)
        self.handler = SupportHandler(
            self.intake, policy, self.blocks, settings.smtp_max_recipients
        )
        self.sessions = Sessions(Limits.of(settings))
        options = imap_options(settings) if settings.imap_url else None
        self.pollers = [  # one thread per mailbox
            ImapPoller(url, self.intake, app.engine, options)
            for url in target_urls(settings.imap_url)
        ]
        self._server: asyncio.Server | None = None
        self._refresher: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> int:
        """Start every part; returns the port listened on (useful when ``port`` is 0)."""
        self._refresh_once()
        self.workers.start()
        self.intake.start()
        for poller in self.pollers:
            poller.start()
        loop = asyncio.get_running_loop()
        quiet_accept_errors()
        settings = self.app.settings
        tls = tls_context(settings.tls_cert, settings.tls_key)
        factory = make_smtp(
            self.handler, settings.max_message_bytes, socket.getfqdn(), self.sessions, tls
        )
        self._server = await loop.create_server(factory, host, port)
        self._refresher = asyncio.create_task(self._refresh_blocks())
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info(
            "listening on %s:%d for %s", host, bound, ", ".join(self.app.settings.support_addresses)
        )
        return bound

    async def stop(self, drain_seconds: float = 30.0) -> None:
        """Stop taking sessions; mail being received is answered after its commit; then the
        poller, the intake and the workers (which finish their unit of work) stop."""
        await self.sessions.drain(drain_seconds)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for poller in self.pollers:
            poller.stop()
        self.intake.stop()
        self.workers.stop()

    async def _refresh_blocks(self) -> None:
        """Every few seconds: the block list, and whether the workers still run."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.app.settings.block_refresh_seconds)
            await loop.run_in_executor(None, self._refresh_once)
            self.workers.check()

    def _refresh_once(self) -> None:
        try:
            self.blocks.refresh(self.app.engine)
        except Exception:  # keep the last list; the pipeline checks blocks again anyway
            log.exception("could not refresh the block list")


async def serve(app: App, host: str, port: int, broker: Broker | None = None) -> None:
    gateway = Gateway(app, broker, child_workers=True)
    http, web_host, web_port = None, "", 0
    if app.settings.http_listen:
        http = HttpServer(app, gateway.workers.deliver)
        web_host, web_port = host_port(app.settings.http_listen)
        try:
            web_port = http.bind(web_host, web_port)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, f"{web_host}:{web_port}") from exc
    bound = await gateway.start(host, port)
    print(f"helpdesk: SMTP listening on {host}:{bound}", flush=True)
    if http is not None:
        http.start()
        print(f"helpdesk: HTTP listening on http://{web_host}:{web_port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")
    if http is not None:
        http.stop()
    await gateway.stop()
