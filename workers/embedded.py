"""The embedded default's workers, in a child process of ``helpdesk serve``.

The SMTP edge must not share the interpreter lock with ticket work: every millisecond the
processor holds it is a millisecond added to some client's wait for its 250. So ``serve`` starts
this process, which runs the inbound processor and a Dramatiq worker on an in-process broker,
woken by the edge after each commit. It ends when told to, or when its parent is gone.
"""

from __future__ import annotations

import logging
import os
import signal
from multiprocessing.connection import Connection

import dramatiq
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from helpdesk.app import clock, timers
from helpdesk.app.runtime import build
from helpdesk.app.settings import Settings
from workers import delivery
from workers.actors import Tasks
from workers.processor import Processor

log = logging.getLogger("helpdesk.workers")


WAKE, STOP, OUTBOX = b"w", b"s", b"o"  # OUTBOX: rows written by the parent (the HTTP API)


def yield_cpu() -> None:
    """On a busy machine the CPU goes to accepting mail first: this process (and the decoding
    processes it starts, which inherit it) runs as SCHED_IDLE, which a waking listener preempts
    at once. Measured with ``bench/ingest.py``: at nice 19 the workers still took a third of the
    listener's accept rate during a burst; the mail waits, durable, for the CPU to come free."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        os.nice(19)


def run(settings: Settings, signals: Connection, parent: int, log_level: int) -> None:
    """Run until ``STOP`` arrives on ``signals``, or the parent is gone (the pipe closes)."""
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(name)s[workers]: %(message)s"
    )
    for signum in (signal.SIGINT, signal.SIGTERM):  # they reach the group: the parent decides,
        signal.signal(signum, signal.SIG_IGN)  # and its STOP lets the unit of work finish
    yield_cpu()
    app = build(settings, checkpoints=True)
    broker = StubBroker()
    dramatiq.set_broker(broker)
    tasks = Tasks(app, broker)
    processor = Processor(
        app, tasks.dispatch, decode_processes=settings.decode_processes, arm=tasks.arm
    )
    worker = Worker(broker, worker_threads=settings.worker_threads, worker_timeout=100)
    processor.start()
    worker.start()
    log.info("workers running")
    while os.getppid() == parent:
        if not signals.poll(0.5):
            continue
        try:
            received = os.read(signals.fileno(), 4096)
        except OSError:
            received = b""
        if not received or STOP in received:
            break
        if OUTBOX in received:
            now = clock.now(app.settings)
            tasks.dispatch(delivery.due_ids(app, now))
            tasks.arm(timers.coming(app, now, now + tasks.arm_horizon))
        if WAKE in received:
            processor.wake()
    processor.stop()
    worker.stop()
    app.close()
