"""Notification benchmark: inbound mail -> acknowledgement latency, and delivery throughput.

Run from the repository root::

    .venv/bin/python bench/notify.py [--rate 50] [--seconds 20] [--workers 2] [--threads 4]
                                     [--deliveries 1000] [--database sqlite|postgresql]
                                     [--agents 0] [--profile DIR [--gil]] [--keep]

Everything runs as in production with Redis: ``helpdesk serve`` (the SMTP listener; it stores
each mail and sends the ``drain_inbound`` wake-up) and ``--workers`` separate ``helpdesk worker``
processes on a dedicated Redis database (``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/14``,
flushed before and after), delivering through ``HELPDESK_OUTBOUND=smtp://`` to an aiosmtpd sink
in a child process that notes when each mail arrives, keyed by its In-Reply-To.

1. Latency. After a short warm-up, new-ticket mails from distinct senders, with Message-IDs as
   ``email.utils.make_msgid`` makes them (70-90 characters, like many real clients'), are sent
   at a steady ``--rate`` for ``--seconds``: open loop, ``--connections`` persistent SMTP
   connections. For each, the time of its 250 is noted; latency is the arrival at the sink of
   its acknowledgement (``customer/ack``: Auto-Submitted: auto-replied, In-Reply-To = its
   Message-ID) minus that 250. Printed: p50/p99/max and missing acks, by quarter of the run too;
   a split from the database, 250 -> pipeline start (``processed_at``) -> ack at the sink; CPU
   seconds per process; acks whose In-Reply-To came RFC 2047-encoded (threading broken); then
   ``--probes`` isolated mails on idle workers. Target: p99 <= 1 s with nothing missing.
2. Throughput, in three rounds. Each round: ``--workers`` fresh ``helpdesk worker`` processes
   start, with the reconcile interval raised so that the reconciler does not re-enqueue rows
   mid-measurement, and deliver 100 pending ack rows as a warm-up (connections, caches),
   untimed. Then ``--deliveries`` more rows are written to the outbox (contexts of real acks from
   step 1) and as many ``deliver`` messages put on the queue at once, timed from the first fetch
   until the queue holds no message (all acked), polled in Redis; every row must be sent and
   reach the sink; the workers stop. Then as many processes of a plain Dramatiq ``Worker`` with
   a no-op actor, built the way ``helpdesk worker`` builds its own (same broker class, threads,
   defaults), drain 100 no-op messages untimed and then as many as there were deliveries, timed
   alike. The alternation keeps a drift in the machine's speed (other tenants) out of the ratio;
   the median round of each counts. Target: deliver rate / no-op rate >= 0.3.

PASS/FAIL is printed; the exit status is 0 whatever happens (a measurement, not a test). Child
processes are stopped by their PIDs, also on SIGINT/SIGTERM; the temporary directory, the Redis
database and the PostgreSQL database (``helpdesk_bench_notify``) are removed at the end.
``--profile DIR`` records the gateway and the workers with py-spy (``pip install py-spy``) into
folded stacks and prints the busiest frames (``--gil``: only threads holding the GIL, i.e. CPU).
The figures are for one machine: the CPU lines say how busy it was, others' load included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import operator
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import format_datetime, make_msgid
from functools import partial
from pathlib import Path
from typing import Any

import dramatiq
import redis
from aiosmtpd.smtp import SMTP
from common import (
    HOST,
    REDIS_URL,
    SUPPORT_ADDRESS,
    Child,
    Children,
    Database,
    base_env,
    cpu_seconds,
    find_py_spy,
    fresh_database,
    helpdesk,
    helpdesk_env,
    percentile,
    read_folded,
    record_profile,
    run_helpdesk,
    run_script,
    scratch_dir,
    serve_smtp,
    setup_summary,
    smtp_connect,
    spread,
    start_workers,
    verdict,
)
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from helpdesk.domain.vocabulary import OutboxStatus
from storage.db import make_engine
from storage.models import Heartbeat, InboundMail, Outbox

SECRET = "bench-notify-secret-not-for-production-012345"
PG_DATABASE = "helpdesk_bench_notify"
HELPDESK_NAMESPACE = "helpdesk"  # workers.actors.make_broker's default
NOOP_NAMESPACE = "bench-notify-noop"
ACK = "customer/ack"
# workers.actors.RECONCILE, not imported: with a stale editable install (``templates`` added since)
# importing workers.render from a script outside the repository root fails.
RECONCILE = "reconcile"

TARGET_P99_S = 1.0
PROBE_GAP = 3.0  # seconds between isolated mails: dramatiq's idle poll backs off to 0.5-1 s
TARGET_RATIO = 0.3
ROUNDS = 3  # deliveries and no-op messages, alternating: the median of each counts
WARM_UP = 100  # messages each kind of worker drains, untimed, before its timed round

STOPPING = threading.Event()  # set on SIGTERM/SIGINT: the load generator stops sending
_HEADERS = BytesHeaderParser(policy=compat32)


def norm_id(value: str | None) -> str:
    """A Message-ID without brackets or folding whitespace, for matching."""
    return "".join((value or "").split()).strip("<>")


def decoded_id(value: str | None) -> tuple[str, bool]:
    """A header's Message-ID, normalised, and whether it came RFC 2047-encoded (=?utf-8?q?...).

    An encoded In-Reply-To is not a msg-id to any mail client: threading breaks. It is decoded
    here all the same, so that the latency is measured, and counted apart.
    """
    text = "".join((value or "").splitlines())
    if "=?" not in text:
        return norm_id(text), False
    return norm_id(str(make_header(decode_header(text)))), True


# --- the sink (child process) --------------------------------------------------------------------


class SinkHandler:
    """Accepts everything; prints one JSON line per mail: arrival time and the threading headers."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.time()
        headers = _HEADERS.parsebytes(envelope.original_content or b"", headersonly=True)
        in_reply_to, encoded = decoded_id(headers.get("In-Reply-To"))
        record = {
            "t": arrived,
            "irt": in_reply_to,
            "irt_encoded": encoded,
            "mid": norm_id(headers.get("Message-ID")),
            "rcpt": [str(r).lower() for r in envelope.rcpt_tos],
            "auto": str(headers.get("Auto-Submitted", "")).strip().lower(),
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 2.0.0 OK: queued"


def sink_main(argv: Sequence[str]) -> int:
    handler = SinkHandler()

    def factory() -> SMTP:
        # A fixed hostname: aiosmtpd would otherwise call socket.getfqdn() per connection.
        return SMTP(handler, hostname="sink.bench", ident="bench sink", decode_data=False)

    asyncio.run(serve_smtp(factory, "sink:"))
    return 0


# --- the no-op worker (child process) ------------------------------------------------------------


def _noop(index: int) -> None:
    """The baseline job: nothing at all."""


def noop_worker_main(argv: Sequence[str]) -> int:
    """A Dramatiq worker process built like ``helpdesk worker`` (gateway/cli.py), no-op actor."""
    parser = argparse.ArgumentParser(prog="notify.py _noop_worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    broker = RedisBroker(url=args.url, namespace=NOOP_NAMESPACE)  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)
    dramatiq.actor(actor_name="noop", queue_name="noop", broker=broker, max_retries=0)(_noop)
    running = Worker(broker, worker_threads=args.threads)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    running.start()
    print(f"noop: worker running against {args.url}", file=sys.stderr, flush=True)
    stop.wait()
    running.stop()
    return 0


# --- child processes -----------------------------------------------------------------------------


SERVERS = ("postgres", "redis-server")


def _pids_named(command: str) -> list[str]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if stat.read_text().strip() == command:
                pids.append(stat.parent.name)
    return pids


class CpuMeter:
    """CPU seconds used by each child (and this process) over a stretch, from /proc (Linux)."""

    def __init__(self, children: Children) -> None:
        self._children = children
        self._start: dict[str, float] = {}
        self._machine: tuple[float, float] = (0.0, 0.0)
        self._wall = 0.0

    def _snapshot(self) -> dict[str, float]:
        seen = {"bench": cpu_seconds("self")}
        seen |= {c.name: cpu_seconds(c.pid) for c in self._children.running}
        found = {name: value for name, value in seen.items() if value is not None}
        for server in SERVERS:  # shared servers: other users' load is counted too
            for pid in _pids_named(server):
                if (used := cpu_seconds(pid)) is not None:
                    found[f"{server}/{pid}"] = used
        return found

    def _busy_total(self) -> tuple[float, float]:
        try:
            line = Path("/proc/stat").read_text().split("\n")[0]
            numbers = [float(x) for x in line.split()[1:9]]  # user .. steal, not guest again
        except OSError:
            return 0.0, 0.0
        idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0.0)
        return sum(numbers) - idle, sum(numbers)

    def start(self) -> None:
        self._start, self._machine, self._wall = self._snapshot(), self._busy_total(), time.time()

    def report(self, label: str) -> None:
        """One line: CPU seconds per process since ``start``, and how busy the machine was."""
        wall = time.time() - self._wall
        now, (busy, total) = self._snapshot(), self._busy_total()
        used: dict[str, float] = {}
        for name in now.keys() & self._start.keys():  # servers' processes summed by name
            key = name.partition("/")[0]
            used[key] = used.get(key, 0.0) + now[name] - self._start[name]
        if not used or wall <= 0:
            return
        parts = ", ".join(f"{n} {v:.1f}" for n, v in sorted(used.items(), key=lambda i: -i[1]))
        share = (
            (busy - self._machine[0]) / (total - self._machine[1])
            if total > self._machine[1]
            else 0
        )
        cpus = os.cpu_count() or 1
        others = max(0.0, share * wall * cpus - sum(used.values()))
        print(
            f"  CPU s over {label} ({wall:.1f} s): {parts}; machine {100 * share:.0f}% busy "
            f"of {cpus} CPUs, everything else ~{others:.1f}"
        )


# --- what the sink saw ---------------------------------------------------------------------------


@dataclass
class Arrival:
    at: float
    in_reply_to: str
    message_id: str
    recipients: list[str]
    auto_submitted: str
    in_reply_to_encoded: bool


class Arrivals:
    """The sink's records, as they come in."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.all: list[Arrival] = []
        self.acks: dict[str, Arrival] = {}  # customer Message-ID -> first ack for it
        self.duplicate_acks = 0
        self.by_message_id: dict[str, float] = {}

    def add(self, line: bytes) -> None:
        record = json.loads(line)
        arrival = Arrival(
            record["t"],
            record["irt"],
            record["mid"],
            record["rcpt"],
            record["auto"],
            record["irt_encoded"],
        )
        with self._lock:
            self.all.append(arrival)
            self.by_message_id.setdefault(arrival.message_id, arrival.at)
            if arrival.auto_submitted == "auto-replied" and arrival.in_reply_to:
                if arrival.in_reply_to in self.acks:
                    self.duplicate_acks += 1
                else:
                    self.acks[arrival.in_reply_to] = arrival
            self._lock.notify_all()

    def wait(self, done: Callable[[], bool], timeout: float, quiet: float) -> bool:
        """Until ``done()``, ``timeout`` seconds, or ``quiet`` seconds without a new arrival."""
        deadline = time.monotonic() + timeout
        with self._lock:
            seen, last_change = len(self.all), time.monotonic()
            while not done():
                now = time.monotonic()
                if len(self.all) != seen:
                    seen, last_change = len(self.all), now
                if now >= deadline or now - last_change >= quiet:
                    return False
                self._lock.wait(timeout=0.2)
        return True


# --- the load: new-ticket mails at a steady rate -------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    sender: str
    message_id: str  # normalised, without brackets
    raw: bytes


def inbound_mail(run: str, index: int) -> Inbound:
    domain = f"client{index % 17}.example.net"
    sender = f"customer{index}.{run}@{domain}"
    message_id = make_msgid(f"notify{index}.{run}", domain)
    subject = f"Order {100000 + index} arrived damaged ({run})"
    body = (
        f"Hello,\r\n\r\nthe parcel for order {100000 + index} arrived today with a broken "
        "corner and the contents are scratched. Could you send a replacement or refund it?"
        f"\r\n\r\nBest regards,\r\nCustomer {index}\r\n"
    )
    raw = (
        f"Message-ID: {message_id}\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\n"
        f'From: "Customer {index}" <{sender}>\r\n'
        f"To: Example Support <{SUPPORT_ADDRESS}>\r\n"
        f"Subject: {subject}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n{body}"
    ).encode()
    return Inbound(sender, norm_id(message_id), raw)


@dataclass
class Sent:
    mail: Inbound
    due: float
    started: float = 0.0
    replied: float = 0.0  # wall clock of the 250 (or of the failure)
    code: int = 0


def _send(client: smtplib.SMTP, record: Sent) -> None:
    record.started = time.time()
    try:
        client.sendmail(record.mail.sender, [SUPPORT_ADDRESS], record.mail.raw)
        record.code = 250
    except smtplib.SMTPResponseException as exc:
        record.code = exc.smtp_code
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.rset()
    except smtplib.SMTPRecipientsRefused:
        record.code = 550
    record.replied = time.time()


def steady_load(port: int, mails: Sequence[Inbound], rate: float, connections: int) -> list[Sent]:
    """Open loop: mail ``i`` is due at ``start + i / rate``, sent by any free connection."""
    start = time.time() + 0.3
    records = [Sent(mail, start + i / rate) for i, mail in enumerate(mails)]
    lock = threading.Lock()
    cursor = iter(records)

    def loop() -> None:
        client: smtplib.SMTP | None = None
        while not STOPPING.is_set():
            with lock:
                record = next(cursor, None)
            if record is None:
                break
            if (pause := record.due - time.time()) > 0 and STOPPING.wait(pause):
                break
            try:
                client = client or smtp_connect(port, smtplib.SMTP)
                _send(client, record)
            except (smtplib.SMTPException, OSError):
                record.code, record.replied = -1, time.time()
                if client is not None:
                    client.close()
                client = None
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return records


# --- the database ---------------------------------------------------------------------------------


@dataclass
class Stages:
    """Where the time went, from the rows: 250 -> pipeline start -> ack at the sink."""

    to_pipeline: list[float] = field(default_factory=list)
    pipeline_to_sink: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    ack_attempts: dict[int, int] = field(default_factory=dict)


def stages(url: str, sent: Sequence[Sent], arrivals: Arrivals) -> Stages:
    by_id = {s.mail.message_id: s for s in sent if s.code == 250}
    result = Stages()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(
                    InboundMail.message_id,
                    InboundMail.processed_at,
                    InboundMail.status,
                    InboundMail.outcome,
                    Outbox.attempts,
                ).outerjoin(
                    Outbox, and_(Outbox.ticket_id == InboundMail.ticket_id, Outbox.template == ACK)
                )
            ).all()
    finally:
        engine.dispose()
    outcomes: Counter[str] = Counter()
    attempts: Counter[int] = Counter()
    for message_id, processed_at, status, outcome, tries in rows:
        record = by_id.get(norm_id(message_id))
        if record is None:
            continue  # warm-up mail
        outcomes[f"{status}/{outcome or '-'}"] += 1
        if tries is not None:
            attempts[int(tries)] += 1
        if processed_at is None:
            continue
        started = processed_at.timestamp()
        result.to_pipeline.append(started - record.replied)
        ack = arrivals.acks.get(record.mail.message_id)
        if ack is not None:
            result.pipeline_to_sink.append(ack.at - started)
    result.outcomes = dict(outcomes)
    result.ack_attempts = dict(sorted(attempts.items()))
    return result


def seed_outbox(url: str, count: int, run: str) -> tuple[list[int], list[str]]:
    """``count`` pending ack rows, contexts taken from real acks: their ids and Message-IDs."""
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            models = session.execute(
                select(Outbox.ticket_id, Outbox.event_id, Outbox.context)
                .where(Outbox.template == ACK)
                .order_by(Outbox.id)
                .limit(count)
            ).all()
            if not models:
                raise RuntimeError("no acknowledgement from the latency run to copy")
            now = datetime.now(UTC)
            rows: list[dict[str, Any]] = []
            for index in range(count):
                ticket_id, event_id, context = models[index % len(models)]
                message_id = make_msgid(f"throughput{index}.{run}", "example.com")
                rows.append(
                    {
                        "message_id": message_id,
                        "ticket_id": ticket_id,
                        "event_id": event_id,
                        "template": ACK,
                        "recipient": f"reader{index}.{run}@client{index % 17}.example.net",
                        "audience": "customer",
                        "context": context,
                        "status": OutboxStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": now - timedelta(seconds=5),
                        "created_at": now,
                        "last_error": "",
                        "smtp_reply": "",
                    }
                )
            session.execute(insert(Outbox), rows)
            # A fresh reconcile heartbeat: the restarted workers' watchdog leaves it alone.
            session.merge(Heartbeat(name=RECONCILE, at=now))
        with Session(engine) as session:
            ids = session.scalars(
                select(Outbox.id).where(Outbox.message_id.in_([r["message_id"] for r in rows]))
            ).all()
        return list(ids), [norm_id(r["message_id"]) for r in rows]
    finally:
        engine.dispose()


def outbox_counts(url: str, message_ids: Sequence[str]) -> dict[str, int]:
    wanted = [f"<{m}>" for m in message_ids]
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Outbox.status, func.count())
                .where(Outbox.message_id.in_(wanted))
                .group_by(Outbox.status)
            ).all()
            unsent = session.execute(
                select(
                    Outbox.id,
                    Outbox.attempts,
                    Outbox.next_attempt_at,
                    Outbox.lease_until,
                    Outbox.last_error,
                )
                .where(Outbox.message_id.in_(wanted), Outbox.status != OutboxStatus.SENT)
                .limit(5)
            ).all()
    finally:
        engine.dispose()
    for row in unsent:
        print(f"    not sent: {tuple(row)}")
    return {str(status): int(n) for status, n in rows}


# --- draining a queue ----------------------------------------------------------------------------


@dataclass
class Drain:
    label: str
    count: int
    enqueue_start: float = 0.0
    enqueue_end: float = 0.0
    first_fetch: float = 0.0
    done: float = 0.0
    dead: int = 0

    @property
    def complete(self) -> bool:
        return self.done > 0

    @property
    def seconds(self) -> float:
        return self.done - self.first_fetch if self.complete and self.first_fetch else 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def wall_rate(self) -> float:
        wall = self.done - self.enqueue_start if self.complete else 0.0
        return self.count / wall if wall else 0.0


class QueueWatch(threading.Thread):
    """Polls a Dramatiq Redis queue: when its first message is fetched, when none is left.

    A fetched message leaves the list ``ns:queue`` and stays in the hash ``ns:queue.msgs`` until
    it is acked; a retry moves to ``ns:queue.DQ``; a dead one to ``ns:queue.XQ``.
    """

    def __init__(self, url: str, namespace: str, queue_name: str, drain: Drain) -> None:
        super().__init__(name=f"watch-{queue_name}", daemon=True)
        self._client: redis.Redis = redis.Redis.from_url(url)
        base = f"{namespace}:{queue_name}"
        self._keys = (base, f"{base}.msgs", f"{base}.DQ.msgs", f"{base}.XQ")
        self.drain = drain
        self.enqueued = 0
        self.all_enqueued = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        queued, messages, delayed, dead = self._keys
        while not self._halt.is_set():
            enqueued = self.enqueued  # read before the lengths: a late enqueue cannot fake a fetch
            finished = self.all_enqueued.is_set()
            pipe = self._client.pipeline(transaction=False)
            pipe.llen(queued)
            pipe.hlen(messages)
            pipe.hlen(delayed)
            pipe.zcard(dead)
            waiting, unacked, retrying, dead_count = pipe.execute()
            now = time.time()
            if not self.drain.first_fetch and enqueued - waiting > 0:
                self.drain.first_fetch = now
            if finished and unacked + retrying == 0:
                self.drain.done, self.drain.dead = now, int(dead_count)
                return
            time.sleep(0.002)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self._client.close()


def drain_queue(
    url: str,
    namespace: str,
    queue_name: str,
    actor_name: str,
    args: Sequence[int],
    label: str,
    timeout: float,
) -> Drain:
    """Enqueue one message per arg for ``actor_name`` and time the running workers' drain.

    All messages land at once, in one MULTI/EXEC doing what the broker's enqueue script does per
    message (HSET ``ns:queue.msgs`` id data, RPUSH ``ns:queue`` id): the workers then drain a full
    queue, and the clock starts at their first fetch, whatever their idle poll interval.
    """
    broker = RedisBroker(url=url, namespace=namespace)  # type: ignore[no-untyped-call]
    actor = dramatiq.actor(
        actor_name=actor_name, queue_name=queue_name, broker=broker, max_retries=0
    )(_noop)
    messages = {}
    for arg in args:
        message = actor.message(arg)
        message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
        messages[message.options["redis_message_id"]] = message.encode()
    drain = Drain(label, len(args))
    watch = QueueWatch(url, namespace, queue_name, drain)
    client: redis.Redis = redis.Redis.from_url(url)
    watch.start()
    try:
        drain.enqueue_start = time.time()
        pipe = client.pipeline(transaction=True)
        pipe.hset(f"{namespace}:{queue_name}.msgs", mapping=messages)
        pipe.rpush(f"{namespace}:{queue_name}", *messages)
        pipe.execute()
        drain.enqueue_end = time.time()
        watch.enqueued = len(messages)
        watch.all_enqueued.set()
        watch.join(timeout=timeout)
    finally:
        watch.stop()
        client.close()
        broker.close()
    return drain


# --- profiling -----------------------------------------------------------------------------------


class Profiles:
    """py-spy recorders attached to children; summarised after each phase."""

    def __init__(self, directory: Path | None, gil: bool = False) -> None:
        self.directory = directory
        self.gil = gil
        self.recorders: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.py_spy = find_py_spy() if directory is not None else None

    def attach(self, child: Child, label: str) -> None:
        if self.directory is None or self.py_spy is None:
            return
        out = self.directory / f"{label}.folded"
        recorder = record_profile(self.py_spy, child.pid, out, rate=200, gil=self.gil)
        self.recorders.append((recorder, out))

    def report(self) -> None:
        """Call once the profiled children have stopped: py-spy then writes its output."""
        while self.recorders:
            recorder, out = self.recorders.pop(0)
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    recorder.wait(timeout=15)
                if recorder.poll() is None:
                    recorder.kill()
                    recorder.wait(timeout=5)
            if out.exists():
                try:
                    print_profile(out)
                except (OSError, ValueError) as exc:
                    print(f"  profile {out.name}: unreadable ({exc})")


def print_profile(folded: Path, top: int = 10) -> None:
    """The busiest of our functions (inclusive) and innermost frames (self) per thread kind."""
    stacks = read_folded(folded)
    grand = stacks.grand
    print(f"  profile {folded.name}: {grand} samples (py-spy, 200 Hz)")
    for thread, total in stacks.totals.most_common(4):
        if total < grand / 50:
            continue
        print(f"   thread {thread}: {total} samples ({100 * total / grand:.0f}%)")
        stacks.print_frames(thread, top)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Options:
    rate: float
    seconds: float
    workers: int
    threads: int
    deliveries: int
    database: str
    agents: int
    warmup: int
    probes: int
    connections: int
    profile: Path | None
    gil: bool
    keep: bool


@dataclass
class LatencyResult:
    probes: list[float | None]
    sent: list[Sent]
    latencies: list[float]
    missing: int
    duplicates: int
    encoded: int  # acks whose In-Reply-To came RFC 2047-encoded
    alerts: int
    stages: Stages

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.code == 250]


def start_noop_workers(children: Children, count: int, threads: int) -> list[Child]:
    command = [sys.executable, __file__, "_noop_worker", "--url", REDIS_URL]
    workers = [
        children.start(f"noop-worker-{i}", [*command, "--threads", str(threads)])
        for i in range(count)
    ]
    for worker in workers:
        worker.wait_log("noop: worker running against")
    return workers


def isolated_mails(port: int, arrivals: Arrivals, count: int, run: str) -> list[float | None]:
    """One mail every PROBE_GAP seconds on idle workers: the latency when nothing is queued.
    None for an ack that did not come within the gap."""
    latencies: list[float | None] = []
    for index in range(count):
        time.sleep(PROBE_GAP)
        mail = inbound_mail(run, index)
        record = steady_load(port, [mail], rate=1.0, connections=1)[0]
        arrived = partial(operator.contains, arrivals.acks, mail.message_id)
        arrivals.wait(arrived, PROBE_GAP * 3, PROBE_GAP * 3)
        ack = arrivals.acks.get(mail.message_id)
        latencies.append(ack.at - record.replied if ack and record.code == 250 else None)
    return latencies


@dataclass
class Setting:
    """What the phases of a run work with."""

    options: Options
    children: Children
    env: dict[str, str]  # the helpdesk's
    database: Database
    arrivals: Arrivals
    profiles: Profiles
    run: str  # makes this run's senders and Message-IDs unique


def measure_latency(setting: Setting) -> tuple[LatencyResult, list[Child], Child]:
    options, children, arrivals = setting.options, setting.children, setting.arrivals
    workers = start_workers(children, setting.env, options.workers, options.threads, "worker")
    server = children.start("serve", helpdesk("serve", "--smtp", f"{HOST}:0"), setting.env)
    port = server.port()

    warm = [inbound_mail(f"warm{setting.run}", i) for i in range(options.warmup)]
    steady_load(port, warm, rate=max(options.rate, 20.0), connections=2)
    arrivals.wait(lambda: all(m.message_id in arrivals.acks for m in warm), 60, 30)

    setting.profiles.attach(server, f"{setting.database.kind}-latency-serve")
    for i, worker in enumerate(workers):
        setting.profiles.attach(worker, f"{setting.database.kind}-latency-worker{i}")
    total = round(options.rate * options.seconds)
    mails = [inbound_mail(setting.run, i) for i in range(total)]
    print(f"  sending {total} mails at {options.rate:g}/s ...", flush=True)
    cpu = CpuMeter(children)
    cpu.start()
    sent = steady_load(port, mails, options.rate, options.connections)
    wanted = [s.mail.message_id for s in sent if s.code == 250]
    complete = arrivals.wait(lambda: all(m in arrivals.acks for m in wanted), 120, 30)
    if not complete:
        print("  (stopped waiting for acks: 30 s without a new mail at the sink, or 120 s)")
    cpu.report("the steady load until the last ack")
    probes = isolated_mails(port, arrivals, options.probes, f"probe{setting.run}")

    latencies = []
    missing = encoded = 0
    for record in sent:
        if record.code != 250:
            continue
        ack = arrivals.acks.get(record.mail.message_id)
        if ack is None or record.mail.sender not in ack.recipients:
            missing += 1
        else:
            latencies.append(ack.at - record.replied)
            encoded += ack.in_reply_to_encoded
    ours = set(wanted)
    alerts = sum(
        1 for a in arrivals.all if a.auto_submitted == "auto-generated" and a.in_reply_to in ours
    )
    result = LatencyResult(
        probes=probes,
        sent=sent,
        latencies=latencies,
        missing=missing,
        duplicates=arrivals.duplicate_acks,
        encoded=encoded,
        alerts=alerts,
        stages=stages(setting.database.url, sent, arrivals),
    )
    return result, workers, server


def report_latency(options: Options, result: LatencyResult) -> None:
    accepted = result.accepted
    sent = result.sent
    lateness = [max(0.0, s.started - s.due) for s in sent if s.started]
    reply = [s.replied - s.started for s in accepted]
    tried = [s for s in sent if s.started]
    span = (max(s.replied for s in tried) - min(s.started for s in tried)) if tried else 0.0
    codes = Counter(s.code for s in sent)
    print(
        f"  sent {len(tried)} in {span:.1f} s ({len(tried) / span if span else 0:.1f}/s), "
        f"accepted {len(accepted)}, replies {dict(codes)}; generator lag max "
        f"{max(lateness, default=0) * 1000:.0f} ms; MAIL->250 {spread(reply)}"
    )
    print(f"  inbound outcomes: {result.stages.outcomes}")
    print(
        f"  acks: {len(result.latencies)} arrived, {result.missing} missing, "
        f"{result.duplicates} duplicated; ack rows by attempts: {result.stages.ack_attempts}"
        + (f"; agent alerts at the sink: {result.alerts}" if options.agents else "")
    )
    print(f"  250 -> ack at sink:        {spread(result.latencies)}")
    print(f"    250 -> pipeline start:   {spread(result.stages.to_pipeline)}")
    print(f"    pipeline start -> sink:  {spread(result.stages.pipeline_to_sink)}")
    quarter = max(1, -(-len(result.latencies) // 4))  # latencies are in sending order
    parts = [result.latencies[i : i + quarter] for i in range(0, len(result.latencies), quarter)]
    print(
        "  by quarter of the run (p50/p99 ms): "
        + ", ".join(f"{percentile(p, 50) * 1000:.0f}/{percentile(p, 99) * 1000:.0f}" for p in parts)
    )
    if result.encoded:
        print(
            f"  threading check: FAIL: {result.encoded} of {len(result.latencies)} acks carry an "
            "RFC 2047-encoded In-Reply-To/References (=?utf-8?q?...?=), which no mail client "
            "threads (Message-IDs longer than ~76 characters; workers/compose.py)"
        )
    if result.probes:
        shown = ", ".join("missing" if p is None else f"{p * 1000:.0f}" for p in result.probes)
        print(f"  isolated mails on idle workers, one per {PROBE_GAP:g} s (ms): {shown}")
    p99 = percentile(result.latencies, 99)
    ok = bool(result.latencies) and result.missing == 0 and p99 <= TARGET_P99_S
    print(
        f"  target: ack p99 {p99 * 1000:.0f} ms <= {TARGET_P99_S * 1000:.0f} ms, "
        f"none missing: {verdict(ok)}"
    )


def measure_throughput(
    setting: Setting, flush: Callable[[], object]
) -> tuple[Drain | None, Drain, dict[str, int], int, int]:
    """The workers of the latency run must be stopped. Rounds of deliveries and of no-op
    messages alternate, both kinds of workers running throughout, so that a machine whose speed
    drifts (other tenants) moves both sides alike. Returns (deliver, no-op: the median rounds;
    outbox rows by status, mails at the sink, deliveries seeded: over all rounds)."""
    options, children, arrivals = setting.options, setting.children, setting.arrivals
    flush()  # leftover wake-ups and the reconcile chain of the latency run
    quiet_env = setting.env | {"HELPDESK_RECONCILE_SECONDS": "3600"}
    print(
        f"  {ROUNDS} rounds of {options.deliveries} deliveries, each followed by as many no-op "
        "messages ...",
        flush=True,
    )
    cpu = CpuMeter(children)
    cpu.start()
    delivered: list[Drain] = []
    noops: list[Drain] = []
    rows: Counter[str] = Counter()
    at_sink = seeded = 0
    for index in range(ROUNDS):
        url, run = setting.database.url, f"{setting.run}r{index}"
        try:
            warm, message_ids = seed_outbox(url, WARM_UP, f"{run}w")
        except RuntimeError as exc:
            print(f"  deliver: not measured: {exc}")
            warm = []
        if warm:
            workers = start_workers(
                children, quiet_env, options.workers, options.threads, "deliver-worker"
            )
            time.sleep(1.0)  # let the boot-time watchdog check and the first idle polls pass
            for i, worker in enumerate(workers):
                setting.profiles.attach(worker, f"{setting.database.kind}-throughput{index}-{i}")
            # Sent before the timed rows exist: a warm-up job must not take them into its batch.
            drain_queue(REDIS_URL, HELPDESK_NAMESPACE, "outbox", "deliver", warm, "warm-up", 600)
            ids, timed_ids = seed_outbox(url, options.deliveries, run)
            message_ids += timed_ids
            seeded += len(warm) + len(ids)
            delivered.append(
                drain_queue(REDIS_URL, HELPDESK_NAMESPACE, "outbox", "deliver", ids, "deliver", 600)
            )
            wanted = set(message_ids)
            arrivals.wait(lambda wanted=wanted: wanted <= arrivals.by_message_id.keys(), 30, 10)
            at_sink += len(wanted & arrivals.by_message_id.keys())
            rows.update(outbox_counts(setting.database.url, message_ids))
            children.stop(*workers)
        noop_workers = start_noop_workers(children, options.workers, options.threads)
        time.sleep(1.0)
        warm_up = list(range(WARM_UP))
        drain_queue(REDIS_URL, NOOP_NAMESPACE, "noop", "noop", warm_up, "warm-up", 600)
        noops.append(
            drain_queue(
                REDIS_URL,
                NOOP_NAMESPACE,
                "noop",
                "noop",
                list(range(options.deliveries)),
                "no-op",
                600,
            )
        )
        children.stop(*noop_workers)
    cpu.report("the rounds, worker start-ups included")
    setting.profiles.report()
    for label, drains in (("deliver", delivered), ("no-op", noops)):
        rates = ", ".join(f"{d.rate:.0f}/s" for d in drains)
        print(f"  {label} rounds: {rates} (median used)")
    return median_drain(delivered), median_drain(noops) or noops[0], dict(rows), at_sink, seeded


def median_drain(drains: list[Drain]) -> Drain | None:
    return sorted(drains, key=lambda d: d.rate)[len(drains) // 2] if drains else None


def report_throughput(
    options: Options,
    deliver: Drain | None,
    noop: Drain,
    rows: dict[str, int],
    at_sink: int,
    seeded: int,
) -> None:
    setup = f"{options.workers} processes x {options.threads} threads"
    print(f"  throughput, {setup} (from the first fetch to the last ack; wall from enqueue):")
    for drain in (deliver, noop):
        if drain is None:
            continue
        state = "" if drain.complete else " INCOMPLETE (timed out)"
        print(
            f"    {drain.label:<8}{drain.count:>6} msgs in {drain.seconds:6.2f} s: "
            f"{drain.rate:8.1f} msgs/s (wall {drain.wall_rate:7.1f}/s, enqueue "
            f"{drain.enqueue_end - drain.enqueue_start:.2f} s, dead {drain.dead}){state}"
        )
    if deliver is None:
        print("  target: deliver/no-op ratio: not measured")
        return
    print(f"    outbox rows, all rounds: {rows}; at the sink: {at_sink} of {seeded}")
    ratio = deliver.rate / noop.rate if noop.rate else 0.0
    ok = (
        ratio >= TARGET_RATIO
        and deliver.complete
        and at_sink == seeded
        and rows.get("sent", 0) == seeded
    )
    print(f"  target: deliver/no-op ratio {ratio:.3f} >= {TARGET_RATIO}: {verdict(ok)}")


def run_database(options: Options, workdir: Path) -> None:
    kind = options.database
    var_dir = workdir / f"var-{kind}"
    var_dir.mkdir()
    store = redis.Redis.from_url(REDIS_URL)
    children = Children(workdir, base_env())
    profiles = Profiles(options.profile, options.gil)
    run = uuid.uuid4().hex[:8]
    try:
        store.flushdb()
        arrivals = Arrivals()
        sink = children.start("sink", [sys.executable, __file__, "_sink"], on_line=arrivals.add)
        sink_port = sink.port()
        with fresh_database(kind, var_dir, PG_DATABASE) as database:
            env = helpdesk_env(database, var_dir, SECRET) | {
                "HELPDESK_BROKER_URL": REDIS_URL,
                "HELPDESK_OUTBOUND": f"smtp://{HOST}:{sink_port}",
            }
            run_helpdesk(env, var_dir, "init")
            for i in range(options.agents):
                run_helpdesk(
                    env, var_dir, "agent", "add", f"agent{i}@example.com", "--name", f"A{i}"
                )
            print(
                f"\n== {database.label}: {options.workers} workers x {options.threads} threads, "
                f"Redis {REDIS_URL}, {options.agents} agents ==",
                flush=True,
            )
            setting = Setting(options, children, env, database, arrivals, profiles, run)
            latency, workers, server = measure_latency(setting)
            children.stop(server, *workers)
            report_latency(options, latency)
            profiles.report()
            deliver, noop, rows, at_sink, seeded = measure_throughput(setting, store.flushdb)
            report_throughput(options, deliver, noop, rows, at_sink, seeded)
            children.stop()
    finally:
        children.stop()
        profiles.report()
        with contextlib.suppress(redis.RedisError):
            store.flushdb()
        store.close()


def _interrupt(signum: int, frame: object) -> None:
    STOPPING.set()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=50.0, help="inbound mails/s (50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the load (20)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--deliveries", type=int, default=1000, help="throughput messages (1000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--agents", type=int, default=0, help="agents alerted per ticket (0)")
    parser.add_argument("--warmup", type=int, default=10, help="mails before measuring (10)")
    parser.add_argument("--probes", type=int, default=5, help="isolated mails after the load (5)")
    parser.add_argument("--connections", type=int, default=16, help="SMTP connections (16)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy folded stacks here")
    parser.add_argument(
        "--gil", action="store_true", help="profile only threads holding the GIL (CPU, not waits)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and the SQLite file")
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    options = Options(**vars(args))
    signal.signal(signal.SIGTERM, _interrupt)  # clean up on a plain kill too
    print(setup_summary(), flush=True)
    with scratch_dir("helpdesk-bench-notify-", keep=options.keep) as workdir:
        try:
            run_database(options, workdir)
        except Exception as exc:  # a measurement, not a test: report and exit 0
            print(f"  not measured: {type(exc).__name__}: {exc}")
        except KeyboardInterrupt:
            STOPPING.set()
            print("  interrupted")
    return 0


ROLES = {"_sink": sink_main, "_noop_worker": noop_worker_main}

if __name__ == "__main__":
    run_script(main, ROLES)
