"""Timers falling due at once, fired by ``helpdesk worker`` processes (``timers.py``'s second
measurement): how late, by the timers' ``fired_at`` and by a poller watching the rows.

A burst: ``make_due`` rewrites open tickets so that their first response falls due at one
instant a little ahead, as if opened one first-response target before it; the warning (and the
escalation, due a day after opening) fired then, the breach is their pending timer. The workers'
reconciler arms it with a message delayed to its due time (``Tasks.arm``), or fires it in a pass
when no message did; both write ``fired_at`` with the ``now`` they judged it by, which for a
pass is its start: the rows of one pass share that value, so they are told apart and counted.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import populate
import redis
from addresses import REDIS_URL
from figures import percentile, spread
from processes import Child, Children, base_env, cpu_seconds, start_workers
from sqlalchemy import Engine, bindparam, delete, func, insert, select, update

from helpdesk.domain import timers as kinds
from helpdesk.domain.notices import Template
from helpdesk.domain.vocabulary import EventKind, Status, TimerStatus
from storage.db import reading
from storage.models import Heartbeat, Outbox, Ticket, TicketEvent, Timer

BREACH = populate.FIRST_RESPONSE_BREACH
RECONCILE = "reconcile"  # workers.actors.RECONCILE (notify_database.py: why not imported)
POLL_S = 0.1


def make_due(engine: Engine, count: int, at: datetime, rng: random.Random) -> list[int]:
    """Make ``count`` open tickets' first response fall due at ``at``: each as if opened one
    first-response target before ``at``, so that what it wanted before (the warning, an
    escalation) has fired (rows FIRED then), and its breach is the pending timer. Returns the
    tickets' ids."""
    with reading(engine).connect() as conn:
        candidates = conn.execute(
            select(Timer.id, Timer.ticket_id, Ticket.priority)
            .join(Ticket, Ticket.id == Timer.ticket_id)
            .where(
                Timer.status == TimerStatus.PENDING,
                Ticket.status == Status.OPEN,
                Ticket.first_response_due > at,  # not one of an earlier burst
            )
            .order_by(Timer.id)
        ).all()
    if len(candidates) < count:
        raise RuntimeError(f"only {len(candidates)} open tickets to make due, not {count}")
    chosen = rng.sample(candidates, count)
    tickets, pending, fired = [], [], []
    for timer_id, ticket_id, priority in chosen:
        targets = populate.policy_targets(priority)
        created = at - targets.first_response
        row = {
            "status": Status.OPEN,
            "created_at": created,
            "first_response_due": at,
            "first_responded_at": None,
            "next_response_due": None,
            "resolution_due": created + targets.resolution,
            "sla_paused_at": None,
            "resolved_at": None,
            "agent_active_at": None,
            "assignee_agent_id": None,
        }
        want = kinds.wanted(populate.facts(row), populate.timer_policy(), targets)
        if want.get(BREACH) != at:
            raise RuntimeError(f"the first-response breach is not due at {at}: {want}")
        tickets.append({"tid": ticket_id, "c": created, "f": at, "r": row["resolution_due"]})
        pending.append({"tid": timer_id, "k": BREACH, "d": at, "c": created})
        for kind, due in want.items():
            if due <= at and kind != BREACH:  # what came before: done
                fired.append(
                    {
                        "ticket_id": ticket_id,
                        "kind": kind,
                        "due_at": due,
                        "status": TimerStatus.FIRED,
                        "fired_at": due,
                        "created_at": created,
                    }
                )
    ticket_table, timer_table = populate.table(Ticket), populate.table(Timer)
    with engine.begin() as conn:
        conn.execute(
            update(ticket_table)
            .where(ticket_table.c.id == bindparam("tid"))
            .values(
                created_at=bindparam("c"),
                updated_at=bindparam("c"),
                first_response_due=bindparam("f"),
                resolution_due=bindparam("r"),
            ),
            tickets,
        )
        conn.execute(
            update(timer_table)
            .where(timer_table.c.id == bindparam("tid"))
            .values(kind=bindparam("k"), due_at=bindparam("d"), created_at=bindparam("c")),
            pending,
        )
        if fired:
            conn.execute(insert(timer_table), fired)
    return [ticket_id for _, ticket_id, _ in chosen]


@dataclass
class Burst:
    count: int
    due: datetime
    tickets: list[int]
    fired_at: dict[int, datetime] = field(default_factory=dict)  # ticket -> the timer's fired_at
    seen: dict[int, float] = field(default_factory=dict)  # ticket -> wall clock first seen FIRED
    alerts: int = 0
    breaches: int = 0
    following: int = 0  # the tickets' next pending timers
    cpu: float | None = None  # the workers' CPU seconds from the due time to the last fire

    @property
    def complete(self) -> bool:
        return len(self.fired_at) == self.count

    @property
    def lateness(self) -> list[float]:
        return [(at - self.due).total_seconds() for at in self.fired_at.values()]

    @property
    def seen_lateness(self) -> list[float]:
        return [at - self.due.timestamp() for at in self.seen.values()]

    @property
    def transactions(self) -> int:
        """The transactions that fired them: one writes one ``fired_at`` for all its timers
        (``helpdesk.app.firing``), whether an armed message or a reconciler pass ran it."""
        return len(set(self.fired_at.values()))

    @property
    def p99(self) -> float:
        return percentile(self.lateness, 99)

    def lines(self, label: str) -> list[str]:
        late, seen = self.lateness, self.seen_lateness
        early = min(late, default=0.0)
        last = max(seen, default=0.0)
        rate = f"{len(seen) / last:.0f}/s" if last > 0 else "-"
        cpu = "?"
        if self.cpu is not None and self.fired_at:
            cpu = f"{self.cpu:.1f} s, {1000 * self.cpu / len(self.fired_at):.0f} ms per timer"
        return [
            f"  {label}: {len(self.fired_at)} of {self.count} fired"
            + ("" if self.complete else " (INCOMPLETE: timed out)")
            + f", the last seen {last:.2f} s after the due time ({rate}), in "
            f"{self.transactions} transactions",
            f"    fired_at - due:                             {spread(late)}"
            + (f"; EARLY by {-early:.3f} s" if early < 0 else ""),
            f"    seen FIRED by a poller - due (upper bound): {spread(seen)}",
            f"    written: {self.breaches} sla_breached events, {self.alerts} alert rows; "
            f"{self.following} next timers pending; the workers' CPU from the due time to the "
            f"last fire (the alerts' deliveries included): {cpu}",
        ]


def worker_cpu(workers: Sequence[Child]) -> float | None:
    used = [cpu_seconds(worker.pid) for worker in workers]
    return None if None in used else sum(u for u in used if u is not None)


def run_burst(
    engine: Engine,
    count: int,
    lead: float,
    timeout: float,
    rng: random.Random,
    workers: Sequence[Child],
) -> Burst:
    """Make ``count`` timers fall due ``lead`` seconds from now and watch them fire."""
    due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
    burst = Burst(count, due, make_due(engine, count, due, rng))
    fired = select(Timer.ticket_id, Timer.fired_at).where(
        Timer.status == TimerStatus.FIRED, Timer.due_at == due, Timer.kind == BREACH
    )
    deadline = due.timestamp() + timeout
    time.sleep(max(0.0, due.timestamp() - time.time() - 1.0))
    cpu: float | None = None
    while not burst.complete and time.time() < deadline:
        if cpu is None and time.time() >= due.timestamp():
            cpu = worker_cpu(workers)
        with reading(engine).connect() as conn:
            rows = conn.execute(fired).all()
        now = time.time()
        for ticket_id, fired_at in rows:
            if fired_at is not None:
                burst.seen.setdefault(ticket_id, now)
                burst.fired_at[ticket_id] = fired_at
        time.sleep(POLL_S)
    after = worker_cpu(workers)
    burst.cpu = after - cpu if after is not None and cpu is not None else None
    with reading(engine).connect() as conn:
        ours = Outbox.ticket_id.in_(burst.tickets)
        alerts = select(func.count()).where(ours, Outbox.template == Template.AGENT_SLA_ALERT)
        breaches = select(func.count()).where(
            TicketEvent.ticket_id.in_(burst.tickets), TicketEvent.kind == EventKind.SLA_BREACHED
        )
        following = select(func.count()).where(
            Timer.ticket_id.in_(burst.tickets), Timer.status == TimerStatus.PENDING
        )
        burst.alerts = int(conn.scalar(alerts) or 0)
        burst.breaches = int(conn.scalar(breaches) or 0)
        burst.following = int(conn.scalar(following) or 0)
    return burst


@dataclass(frozen=True)
class Workers:
    processes: int
    threads: int
    reconcile_seconds: float


def forget_namespace(namespace: str) -> None:
    client: redis.Redis = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{namespace}:*"):
            client.delete(key)
    finally:
        client.close()


def wait_heartbeat(engine: Engine, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with reading(engine).connect() as conn:
            if conn.scalar(select(Heartbeat.at).where(Heartbeat.name == RECONCILE)):
                return
        time.sleep(0.2)
    raise RuntimeError("no reconciler pass within a minute of the workers' start")


def measure_lateness(
    engine: Engine,
    env: dict[str, str],
    workdir: Path,
    workers: Workers,
    sizes: Sequence[int],
    lead: float,
    seed: int,
) -> list[Burst]:
    """Start the workers on Redis (a namespace of their own, removed after), then one burst
    of each size in turn, each due ``lead`` seconds after it is set."""
    namespace = f"bench-timers-{uuid.uuid4().hex[:8]}"
    env = env | {
        "HELPDESK_BROKER_URL": REDIS_URL,
        "HELPDESK_BROKER_NAMESPACE": namespace,
        "HELPDESK_RECONCILE_SECONDS": f"{workers.reconcile_seconds:g}",
    }
    children = Children(workdir, base_env())
    rng = random.Random(seed)
    timeout = lead + 3 * workers.reconcile_seconds + 60
    with engine.begin() as conn:  # left by the pass measurement: the workers must start a chain
        conn.execute(delete(Heartbeat).where(Heartbeat.name == RECONCILE))
    try:
        running = start_workers(children, env, workers.processes, workers.threads, "worker")
        wait_heartbeat(engine)
        print(f"  bursts due {lead:g} s after they are set ...", flush=True)
        return [run_burst(engine, size, lead, timeout, rng, running) for size in sizes]
    except Exception:
        for child in children.running:
            print(f"  {child.name} log:\n{child.tail()}")
        raise
    finally:
        children.stop()
        with contextlib.suppress(redis.RedisError):
            forget_namespace(namespace)
