"""The production shape through its real entry points: ``helpdesk worker`` processes on Redis."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from dramatiq.brokers.redis import RedisBroker

from gateway.serve import Gateway
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from tests.desk import wait_for
from tests.helpers import GatewayThread, forget, mail, start_worker, worker_env
from tests.sink import Sink
from workers.transport import transport_for


def test_helpdesk_worker_process_processes_and_delivers(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    namespace = f"helpdesk-worker-{os.getpid()}-{time.monotonic_ns()}"
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    gateway = GatewayThread(app, Gateway(app, broker, transport_for(sink.url)))
    env = worker_env(settings, redis_url, namespace, HELPDESK_OUTBOUND=sink.url)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    gateway.start()
    try:
        gateway.send(mail(sender="Dora <dora@customer.test>"))
        wait_for(lambda: sink.to("dora@customer.test"), what=f"the ack; log: {log.read_text()}")
    finally:
        gateway.stop()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        broker.flush_all()
        forget(broker)
        broker.close()
    assert worker.returncode == 0, log.read_text()
    assert "received your request" in sink.to("dora@customer.test")[0].text()
