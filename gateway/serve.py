"""``helpdesk serve``: the SMTP listener, the IMAP poller when configured, the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from dramatiq import Broker, Worker
from dramatiq.brokers.stub import StubBroker

from gateway.blocks import BlockList
from gateway.bootstrap import App
from gateway.edge import RecipientPolicy, SupportHandler, make_smtp
from gateway.imap import ImapPoller
from gateway.intake import Intake
from workers.actors import Tasks, make_broker
from workers.processor import Processor
from workers.transport import Transport

log = logging.getLogger("helpdesk.serve")


class Gateway:
    """The running parts of ``serve``, startable and stoppable from a test's event loop too.

    With the in-process broker the workers run here: a processor thread for inbound mail and a
    Dramatiq worker for the actors. With Redis they run in ``helpdesk worker`` processes, and
    each committed batch of mail sends them a wake-up.
    """

    def __init__(
        self, app: App, broker: Broker | None = None, transport: Transport | None = None
    ) -> None:
        settings = app.settings
        self.app = app
        self.broker = broker or make_broker(settings)
        in_process = isinstance(self.broker, StubBroker)
        self.tasks = Tasks(app, self.broker, transport=transport, inbound_via_broker=not in_process)
        self.tasks.renderer.check()
        self.processor = Processor(app, self.tasks.dispatch) if in_process else None
        self.worker = (
            Worker(self.broker, worker_threads=settings.worker_threads, worker_timeout=100)
            if in_process
            else None
        )
        self.intake = Intake(
            app.engine,
            settings.group_commit_window_ms / 1000,
            on_commit=self.processor.wake if self.processor else self._wake_workers,
        )
        self.blocks = BlockList()
        self.handler = SupportHandler(
            self.intake, RecipientPolicy(settings.support_addresses, app.secret), self.blocks
        )
        self.poller = (
            ImapPoller(settings.imap_url, self.intake, settings.imap_poll_seconds)
            if settings.imap_url
            else None
        )
        self._server: asyncio.Server | None = None
        self._refresher: asyncio.Task[None] | None = None

    def _wake_workers(self) -> None:
        try:
            self.tasks.drain_inbound.send()
        except Exception as exc:  # the mail is committed; the reconciler will find it
            log.warning("could not wake the workers: %s", exc)

    async def start(self, host: str, port: int) -> int:
        """Start every part; returns the port listened on (useful when ``port`` is 0)."""
        self._refresh_once()
        if self.processor is not None and self.worker is not None:
            self.processor.start()
            self.worker.start()
        self.intake.start()
        if self.poller is not None:
            self.poller.start()
        loop = asyncio.get_running_loop()
        factory = make_smtp(self.handler, self.app.settings.max_message_bytes, socket.getfqdn())
        self._server = await loop.create_server(factory, host, port)
        self._refresher = asyncio.create_task(self._refresh_blocks())
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info(
            "listening on %s:%d for %s", host, bound, ", ".join(self.app.settings.support_addresses)
        )
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self.poller is not None:
            self.poller.stop()
        self.intake.stop()
        if self.processor is not None and self.worker is not None:
            self.processor.stop()
            self.worker.stop()

    async def _refresh_blocks(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.app.settings.block_refresh_seconds)
            await loop.run_in_executor(None, self._refresh_once)

    def _refresh_once(self) -> None:
        try:
            self.blocks.refresh(self.app.engine)
        except Exception:  # keep the last list; the pipeline checks blocks again anyway
            log.exception("could not refresh the block list")


async def serve(app: App, host: str, port: int, broker: Broker | None = None) -> None:
    gateway = Gateway(app, broker)
    bound = await gateway.start(host, port)
    print(f"helpdesk: SMTP listening on {host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")
    await gateway.stop()
