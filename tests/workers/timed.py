"""A desk whose work is done by ``helpdesk worker`` processes on a real Redis, judging timers
by a test clock that a test moves forward instead of waiting (issue 12)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select

from gateway.serve import Gateway
from helpdesk.app import clock
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import TimerStatus
from storage.models import Timer
from tests.desk import Desk, wait_for
from tests.helpers import cli, forget, start_worker, worker_env
from tests.sink import Sink


def timed_app(app: App, **changes: object) -> App:
    """``app`` on the test clock, with these settings changed (the worker's env says the same)."""
    settings = app.settings.model_copy(update={"test_clock": True, **changes})
    return App(settings, app.engine, app.sessions, app.secret)


class Workers:
    """The ``helpdesk worker`` processes of a desk: more can be started, one killed."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.log.with_name(f"{self.log.stem}-{len(self.running)}.log")
        self.running.append(start_worker(self.env, log))
        wait_for(lambda: "worker running" in log.read_text(), what=log.name)
        return self.running[-1]

    def stop(self) -> None:
        for worker in self.running:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.running:
            worker.wait(timeout=60)


@contextmanager
def worker_desk(
    app: App,
    settings: Settings,
    sink: Sink,
    redis_url: str,
    log: Path,
    processes: int = 1,
    pool: list[Workers] | None = None,
    **extra: str,
) -> Iterator[Desk]:
    """A desk whose work is done by worker processes that judge timers by a test clock, with a
    first and next response due in 2 minutes and a resolution in 10 for medium tickets;
    ``pool`` is given the processes, for a test that starts or kills them."""
    set_sla = ["sla", "set", "medium", "--first-response", "2m", "--next-response", "2m"]
    cli(settings, *set_sla, "--resolution", "10m")
    namespace = f"helpdesk-timers-{os.getpid()}-{time.monotonic_ns()}"
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    env = worker_env(settings, redis_url, namespace, HELPDESK_OUTBOUND=sink.url, **extra)
    workers = Workers(env, log)
    if pool is not None:
        pool.append(workers)
    desk = Desk(app, sink)
    desk.gateway._gateway = Gateway(app, broker)
    desk.start()
    try:
        for _ in range(processes):
            workers.start()
        yield desk
    finally:
        desk.stop()
        workers.stop()
        broker.flush_all()
        forget(broker)
        broker.close()


def alerts(sink: Sink, level: str) -> list[str]:
    return [
        str(r.message["To"]) for r in sink.received if f"SLA {level}:" in str(r.message["Subject"])
    ]


def later(settings: Settings, by: timedelta) -> None:
    clock.advance(settings, by)
    time.sleep(1.5)  # three reconciler passes


def pending(app: App) -> dict[str, datetime]:
    with app.sessions() as session:
        rows = session.scalars(select(Timer).where(Timer.status == TimerStatus.PENDING))
        return {t.kind: t.due_at for t in rows}
