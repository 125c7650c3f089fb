"""Where the work behind the edge runs: threads of this process, a child process (the embedded
default of ``serve``), or ``helpdesk worker`` processes on Redis. Each can be woken for inbound
mail (``wake``) and for outbox rows written here (``deliver``: by the HTTP API)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from dramatiq import Broker, Worker

from helpdesk.app.runtime import App
from workers import embedded
from workers.actors import Tasks
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

    def deliver(self, outbox_ids: list[int], timers: list[tuple[int, datetime]]) -> None:
        self.tasks.dispatch(outbox_ids)
        self.tasks.arm(timers)

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

    def deliver(self, outbox_ids: list[int], timers: list[tuple[int, datetime]]) -> None:
        """Rows written here (by the HTTP API): the child delivers what is due, and arms the
        timers coming."""
        self._send(embedded.OUTBOX)

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

    def deliver(self, outbox_ids: list[int], timers: list[tuple[int, datetime]]) -> None:
        self.tasks.dispatch(outbox_ids)
        self.tasks.arm(timers)

    def stop(self) -> None:
        """Nothing runs here."""


Workers = ThreadWorkers | ChildWorkers | RemoteWorkers
