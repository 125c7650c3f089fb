"""``helpdesk serve``: the SMTP listener, the IMAP poller when configured, the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from dramatiq import Broker, Worker
from dramatiq.brokers.stub import StubBroker

from gateway.edge import RecipientPolicy, SupportHandler, make_smtp, tls_context
from gateway.guard import Limits, Sessions, quiet_accept_errors
from gateway.imap import ImapPoller
from gateway.intake import Intake
from helpdesk.app.blocks import BlockList
from helpdesk.app.runtime import App
from workers import embedded
from workers.actors import Tasks, make_broker
from workers.processor import Processor
from workers.render import Renderer
from workers.transport import Transport

log = logging.getLogger("helpdesk.serve")
RESTART_SECONDS = 5.0


class ThreadWorkers:
    """The processor and a Dramatiq worker as threads of this process (tests, small setups)."""

    def __init__(self, app: App, broker: Broker, transport: Transport | None) -> None:
        self.tasks = Tasks(app, broker, transport=transport)
        self.tasks.renderer.check()
        self.processor = Processor(app, self.tasks.dispatch, arm=self.tasks.arm)
        self.worker = Worker(broker, worker_threads=app.settings.worker_threads, worker_timeout=100)

    def start(self) -> None:
        self.processor.start()
        self.worker.start()

    def wake(self) -> None:
        self.processor.wake()

    def check(self) -> None:
        """Threads of this process: nothing to watch."""

    def stop(self) -> None:
        self.processor.stop()
        self.worker.stop()


class ChildWorkers:
    """The same workers in a child process (``workers.embedded``): the default of ``serve``.

    Wake-ups and the stop go down a pipe, never through a lock the two processes share: a
    child killed while holding one would leave this process blocked on it, and the listener
    with it. A full pipe already holds a wake-up; a broken one means the child is gone.
    """

    def __init__(self, app: App) -> None:
        Renderer(app.settings.templates_dir).check()
        self._context = multiprocessing.get_context("spawn")
        self._settings = app.settings
        self._process: BaseProcess | None = None
        self._writer: Connection | None = None
        self._stopping = False
        self._started = 0.0

    def start(self) -> None:
        if self._writer is not None:
            self._writer.close()
        reader, self._writer = self._context.Pipe(duplex=False)
        os.set_blocking(self._writer.fileno(), False)
        args = (self._settings, reader, os.getpid(), logging.getLogger().getEffectiveLevel())
        # Not a daemon: it starts processes of its own. It ends by itself when this one is gone.
        self._process = self._context.Process(
            target=embedded.run, args=args, name="helpdesk-workers", daemon=False
        )
        with _sigterm_ignored():  # inherited: a stop signalled to the group during its start-up
            self._process.start()  # cannot kill it either; our STOP ends it
        reader.close()
        self._started = time.monotonic()

    def wake(self) -> None:
        self._send(embedded.WAKE)
        self.check()

    def check(self) -> None:
        """A worker process that died would leave accepted mail unprocessed until a restart:
        start another (at most every ``RESTART_SECONDS``, so a crash at start-up cannot spin).
        Called on every wake and every few seconds."""
        process = self._process
        if process is None or process.is_alive() or self._stopping:
            return
        if time.monotonic() - self._started < RESTART_SECONDS:
            return
        log.error("the worker process ended (exit code %s); starting another", process.exitcode)
        self.start()

    def stop(self) -> None:
        self._stopping = True
        self._send(embedded.STOP)
        if self._process is not None:
            self._process.join(timeout=30)
            if self._process.is_alive():
                log.warning("the worker process did not stop within 30 s: killed")
                self._process.kill()
            elif self._process.exitcode:
                log.warning("the worker process ended with exit code %s", self._process.exitcode)
        if self._writer is not None:
            self._writer.close()

    def _send(self, signal_byte: bytes) -> None:
        if self._writer is None:
            return
        with contextlib.suppress(OSError):  # full: a wake-up is pending; broken: see check()
            os.write(self._writer.fileno(), signal_byte)


@contextlib.contextmanager
def _sigterm_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class RemoteWorkers:
    """``helpdesk worker`` processes on Redis: each committed batch sends them a wake-up."""

    def __init__(self, app: App, broker: Broker, transport: Transport | None) -> None:
        self.tasks = Tasks(app, broker, transport=transport, inbound_via_broker=True)
        self.tasks.renderer.check()

    def start(self) -> None:
        """Nothing runs here."""

    def check(self) -> None:
        """The worker processes are the operator's (systemd, compose) to keep running."""

    def wake(self) -> None:
        try:
            self.tasks.drain_inbound.send()
        except Exception as exc:  # the mail is committed; the reconciler will find it
            log.warning("could not wake the workers: %s", exc)

    def stop(self) -> None:
        """Nothing runs here."""


Workers = ThreadWorkers | ChildWorkers | RemoteWorkers


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
        self.poller = (
            ImapPoller(
                settings.imap_url,
                self.intake,
                settings.imap_poll_seconds,
                settings.max_message_bytes,
            )
            if settings.imap_url
            else None
        )
        self._server: asyncio.Server | None = None
        self._refresher: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> int:
        """Start every part; returns the port listened on (useful when ``port`` is 0)."""
        self._refresh_once()
        self.workers.start()
        self.intake.start()
        if self.poller is not None:
            self.poller.start()
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
        if self.poller is not None:
            self.poller.stop()
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
    bound = await gateway.start(host, port)
    print(f"helpdesk: SMTP listening on {host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")
    await gateway.stop()
