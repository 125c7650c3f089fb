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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# re-exported: the benchmarks find the team and the targets here
from populate_team import NAMES as NAMES
from populate_team import SURNAMES as SURNAMES
from populate_team import TARGETS as TARGETS
from populate_team import Team as Team
from populate_team import add_team as add_team
from populate_team import move_sequences as move_sequences
from populate_team import policy_targets as policy_targets
from populate_team import set_policies as set_policies
from populate_team import table as table
from populate_team import timer_policy as timer_policy
from sqlalchemy import Table, insert, text

from helpdesk.app import sla
from helpdesk.app.ticket_numbers import NUMBER_ALPHABET
from helpdesk.domain import timers as kinds
from helpdesk.domain.timers.facts import Facts
from helpdesk.domain.vocabulary import (
    AuthorKind,
    EventKind,
    MessageKind,
    Priority,
    Status,
    TimerStatus,
)
from storage.db import make_engine
from storage.models import (
    Customer,
    Message,
    Ticket,
    TicketEvent,
    Timer,
)

BATCH = 5000  # tickets per INSERT batch and transaction: a multiple of 4 (the customers)
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
