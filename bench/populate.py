"""A helpdesk's backlog, bulk-inserted: N tickets, each with its one pending timer days away.

Shared by ``timers.py`` and ``ingest.py --pending-timers``. Rows go in with SQLAlchemy Core
inserts in batches, with explicit ids (PostgreSQL's sequences are moved past them afterwards),
as the pipeline would have left them: a customer (four tickets each, on average), the ticket
with its SLA due dates, its first public message and ``ticket_created`` event, and the timer
``helpdesk.app.timers.schedule`` would keep pending: the earliest one the ticket wants, as
``helpdesk.domain.timers.wanted`` decides on what ``helpdesk.app.sla.facts`` reads, with the
default settings. The mix: 55% open and 25% in progress (opened up to 6 h ago: an SLA warning or
the escalation pending), 15% waiting for the customer (auto-resolve), 5% resolved (auto-close);
the SLA targets are days (``TARGETS``), and every timer more than half a day away.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, insert, text

from helpdesk.app import sla
from helpdesk.app.settings import Settings
from helpdesk.app.tickets import NUMBER_ALPHABET
from helpdesk.domain import timers as kinds
from helpdesk.domain.timers.facts import Facts, Policy
from helpdesk.domain.timers.sla import Targets
from helpdesk.domain.vocabulary import (
    AuthorKind,
    EventKind,
    MessageKind,
    Priority,
    Role,
    Status,
    TimerStatus,
)
from storage.base import Base
from storage.db import make_engine
from storage.models import (
    Agent,
    Customer,
    Group,
    GroupMember,
    Message,
    SlaPolicy,
    Ticket,
    TicketEvent,
    Timer,
)

BATCH = 5000  # tickets per INSERT batch and transaction: a multiple of 4 (the customers)
DAY = 24 * 60
# Minutes (first response, next response, resolution) per priority: due dates days away, and a
# resolution warning (at 80%) always after the first-response breach.
TARGETS = {
    Priority.LOW: (3 * DAY, 3 * DAY, 10 * DAY),
    Priority.MEDIUM: (2 * DAY, 2 * DAY, 7 * DAY),
    Priority.HIGH: (DAY, DAY, 4 * DAY),
    Priority.URGENT: (DAY, DAY // 2, 3 * DAY),
}
PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT)
PRIORITY_WEIGHTS = (20, 55, 20, 5)
STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER, Status.RESOLVED)
STATUS_WEIGHTS = (55, 25, 15, 5)
FIRST_RESPONSE_BREACH = "first_response_breach"
# The ticket's columns its timers depend on (``helpdesk.app.sla.facts``), as set here.
FACT_COLUMNS = (
    "status",
    "created_at",
    "first_response_due",
    "first_responded_at",
    "next_response_due",
    "resolution_due",
    "sla_paused_at",
    "resolved_at",
    "agent_active_at",
    "assignee_agent_id",
)

NAMES = ("Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas")
SURNAMES = ("Andersen", "Okafor", "Dubois", "Ivanova", "Rossi", "Haddad", "Tanaka", "Garcia")
DOMAINS = ("acme-corp.com", "globex.io", "initech.net", "northwind.co.uk", "contoso.fr")
SUBJECTS = (
    "Cannot log in since this morning",
    "Invoice {n} shows the wrong VAT rate",
    "Export to CSV fails with error 500",
    "Order {n} arrived damaged",
    "Password reset mail never arrives",
    "Webhook deliveries delayed by several hours",
)
BODY = (
    "Hello,\n\nwe noticed the problem shortly after the maintenance window announced on your "
    "status page; three colleagues in different offices see exactly the same behaviour. Our "
    "account number is {n}, in case you need it to look this up.\n\nBest regards,\n{name}"
)


def policy_targets(priority: Priority) -> Targets:
    first, following, whole = TARGETS[priority]
    return Targets(timedelta(minutes=first), timedelta(minutes=following), timedelta(minutes=whole))


def timer_policy() -> Policy:
    """The timer settings of a helpdesk with the defaults (what the benchmarks' processes run)."""
    return Settings.model_construct().timer_policy


@dataclass
class Team:
    """Agents the tickets are assigned to: groups of agents, a supervisor and an admin."""

    agents: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


def set_policies(engine: Engine) -> None:
    """The SLA targets of ``TARGETS``, in place of those ``helpdesk init`` sets."""
    rows = [
        {
            "priority": p,
            "first_response_minutes": first,
            "next_response_minutes": following,
            "resolution_minutes": whole,
        }
        for p, (first, following, whole) in TARGETS.items()
    ]
    with engine.begin() as conn:
        conn.execute(delete(table(SlaPolicy)))
        conn.execute(insert(table(SlaPolicy)), rows)


def add_team(engine: Engine, now: datetime, groups: int = 3, per_group: int = 4) -> Team:
    """``groups`` groups of ``per_group`` agents, plus a supervisor and an admin in none."""
    team = Team()
    agents = [
        {"id": 1, "email": "admin@example.com", "name": "Ada Admin", "role": Role.ADMIN},
        {"id": 2, "email": "sue@example.com", "name": "Sue Super", "role": Role.SUPERVISOR},
    ]
    members = []
    for group_id in range(1, groups + 1):
        team.groups.append(group_id)
        for a in range(per_group):
            agent_id = len(agents) + 1
            name = f"{NAMES[agent_id % len(NAMES)]} {SURNAMES[a % len(SURNAMES)]}"
            email = f"agent{agent_id}@example.com"
            agents.append({"id": agent_id, "email": email, "name": name, "role": Role.AGENT})
            members.append({"group_id": group_id, "agent_id": agent_id})
            team.agents.append(agent_id)
    with engine.begin() as conn:
        conn.execute(insert(table(Agent)), [a | {"created_at": now} for a in agents])
        conn.execute(
            insert(table(Group)),
            [{"id": g, "name": f"queue-{g}", "created_at": now} for g in team.groups],
        )
        conn.execute(insert(table(GroupMember)), members)
    move_sequences(engine, [table(Agent), table(Group)])
    return team


@dataclass
class _Rows:
    customers: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
        yield table(Customer), self.customers
        yield table(Ticket), self.tickets
        yield table(Message), self.messages
        yield table(TicketEvent), self.events
        yield table(Timer), self.timers


def table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def ticket_number(index: int) -> str:
    """A ticket number of its own per index (a bijection of 30-bit values), random-looking."""
    value = (index * 0x9E3779B1 + 0x2545F491) % 32**6
    symbols = []
    for _ in range(6):
        value, digit = divmod(value, 32)
        symbols.append(NUMBER_ALPHABET[digit])
    return "TKT-" + "".join(symbols)


def _ticket(
    rng: random.Random, ticket_id: int, customer: dict[str, Any], now: datetime, team: Team | None
) -> tuple[dict[str, Any], tuple[str, datetime]]:
    """A ticket's row and the timer it keeps pending (kind, due)."""
    priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
    targets = policy_targets(priority)
    answered = resolved = waiting = None
    if status is Status.RESOLVED:
        resolved = now - timedelta(hours=rng.uniform(0.5, 96))
        created = resolved - timedelta(hours=rng.uniform(1, 48))
        answered = created + (resolved - created) / 3
    else:
        created = now - timedelta(hours=rng.uniform(0.1, 6))
        if status is not Status.OPEN:
            answered = created + (now - created) * rng.uniform(0.2, 0.9)
        if status is Status.AWAITING_CUSTOMER:
            waiting = answered
    number = rng.randint(10000, 99999)
    row = {
        "id": ticket_id,
        "number": ticket_number(ticket_id),
        "subject": rng.choice(SUBJECTS).format(n=number),
        "description": BODY.format(n=number, name=customer["name"]),
        "status": status,
        "priority": priority,
        "customer_id": customer["id"],
        "assignee_agent_id": None,
        "assignee_group_id": None,
        "first_response_due": created + targets.first_response,
        "next_response_due": None,
        "resolution_due": created + targets.resolution,
        "sla_paused_at": waiting,
        "created_at": created,
        "updated_at": answered or created,
        "first_responded_at": answered,
        "resolved_at": resolved,
        "agent_active_at": answered,  # the agent's reply
    }
    if team is not None:
        share = rng.random()
        if share < 0.4:
            row["assignee_agent_id"] = rng.choice(team.agents)
        elif share < 0.7:
            row["assignee_group_id"] = rng.choice(team.groups)
    want = kinds.wanted(facts(row), timer_policy(), targets)
    due, kind = min((at, kind) for kind, at in want.items())  # as ``schedule`` keeps it
    return row, (kind, due)


def facts(row: dict[str, Any]) -> Facts:
    """What the timer kinds decide on, read from a ticket as ``helpdesk.app.sla`` reads it."""
    return sla.facts(Ticket(**{k: v for k, v in row.items() if k in FACT_COLUMNS}))


def _rows(rng: random.Random, start: int, count: int, now: datetime, team: Team | None) -> _Rows:
    """Tickets ``start`` .. ``start + count - 1``, and every fourth one's customer."""
    rows = _Rows()
    for ticket_id in range(start, start + count):
        customer_id = (ticket_id + 3) // 4
        first, last = NAMES[customer_id % len(NAMES)], SURNAMES[customer_id % len(SURNAMES)]
        domain = DOMAINS[customer_id % len(DOMAINS)]
        customer = {
            "id": customer_id,
            "email": f"{first}.{last}.{customer_id}@{domain}".lower(),
            "name": f"{first} {last}",
            "company": domain.split(".")[0].title(),
            "created_at": now - timedelta(days=30),
        }
        if (ticket_id - 1) % 4 == 0:
            rows.customers.append(customer)
        ticket, (kind, due) = _ticket(rng, ticket_id, customer, now, team)
        created = ticket["created_at"]
        rows.tickets.append(ticket)
        rows.messages.append(
            {
                "id": ticket_id,
                "ticket_id": ticket_id,
                "kind": MessageKind.PUBLIC,
                "author_kind": AuthorKind.CUSTOMER,
                "author_email": customer["email"],
                "customer_id": customer_id,
                "body": ticket["description"],
                "message_id": f"<{rng.getrandbits(64):016x}.{ticket_id}@mail.{domain}>",
                "created_at": created,
            }
        )
        after = {"number": ticket["number"], "subject": ticket["subject"], "status": "open"}
        rows.events.append(
            {
                "id": ticket_id,
                "ticket_id": ticket_id,
                "kind": EventKind.TICKET_CREATED,
                "actor_kind": AuthorKind.CUSTOMER,
                "actor": customer["email"],
                "after": after | {"priority": ticket["priority"].value},
                "message_id": ticket_id,
                "created_at": created,
            }
        )
        rows.timers.append(
            {
                "id": ticket_id,
                "ticket_id": ticket_id,
                "kind": kind,
                "due_at": due,
                "status": TimerStatus.PENDING,
                "created_at": created,
            }
        )
    return rows


def move_sequences(engine: Engine, tables: Sequence[Table]) -> None:
    """PostgreSQL: the id sequences past the ids given here, so the helpdesk's own inserts fit."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables:
            name = table.name
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                )
            )


def populate(url: str, count: int, seed: int = 1, team: Team | None = None) -> float:
    """``count`` tickets with their pending timers on a set-up database without tickets, its SLA
    policies set to ``TARGETS``; the seconds it took."""
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        set_policies(engine)
        rng, now = random.Random(seed), datetime.now(UTC)
        for start in range(1, count + 1, BATCH):
            rows = _rows(rng, start, min(BATCH, count + 1 - start), now, team)
            with engine.begin() as conn:
                for table, values in rows.tables():
                    if values:
                        conn.execute(insert(table), values)
        tables = [table for table, _ in _Rows().tables()]
        move_sequences(engine, tables)
        if engine.dialect.name == "postgresql":  # what autovacuum does soon after such a load
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in tables:
                    conn.execute(text(f"ANALYZE {table.name}"))
    finally:
        engine.dispose()
    return time.perf_counter() - started
