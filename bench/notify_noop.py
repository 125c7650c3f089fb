"""The notification benchmark's baseline: plain Dramatiq worker processes
(``notify.py _noop_worker``), built the way ``helpdesk worker`` builds its own, with an actor
that does nothing."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import dramatiq
from addresses import REDIS_URL
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker
from processes import Child, Children

NOOP_NAMESPACE = "bench-notify-noop"
NOTIFY = str(Path(__file__).with_name("notify.py"))  # the script whose roles the children are


def noop(index: int) -> None:
    """The baseline job: nothing at all."""


def noop_worker_main(argv: Sequence[str]) -> int:
    """A Dramatiq worker process built like ``helpdesk worker`` (gateway/cli.py), no-op actor."""
    parser = argparse.ArgumentParser(prog="notify.py _noop_worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    broker = RedisBroker(url=args.url, namespace=NOOP_NAMESPACE)  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)
    dramatiq.actor(actor_name="noop", queue_name="noop", broker=broker, max_retries=0)(noop)
    running = Worker(broker, worker_threads=args.threads)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    running.start()
    print(f"noop: worker running against {args.url}", file=sys.stderr, flush=True)
    stop.wait()
    running.stop()
    return 0


def start_noop_workers(children: Children, count: int, threads: int) -> list[Child]:
    command = [sys.executable, NOTIFY, "_noop_worker", "--url", REDIS_URL]
    workers = [
        children.start(f"noop-worker-{i}", [*command, "--threads", str(threads)])
        for i in range(count)
    ]
    for worker in workers:
        worker.wait_log("noop: worker running against")
    return workers
