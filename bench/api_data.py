"""The rows of a helpdesk that has been at work for three years: N tickets with their history.

Plain tuples in the column order of ``COLUMNS``, the same values for both databases (times are
UTC text as SQLAlchemy writes them on SQLite, which PostgreSQL reads in a UTC session; JSON is
its text, booleans 0 and 1), so that ``api_load`` can hand them to ``executemany`` or ``COPY``
as they are. Seeded: the same arguments give the same rows.

The mix, at any N (the shares do not depend on it):

- tickets evenly over ``SPAN`` up to now, ids in the order of creation; the status follows the
  age (``STATUS_BY_AGE``): the last days' tickets are mostly active, those older than a month
  closed, so about 0.7% are open, in progress or waiting for the customer;
- customers: 69% of the tickets come from a customer of their own, 1% from the ``HEAVY``
  accounts (a thousand tickets each at 1M), the rest from earlier customers drawn at random;
- priority, category and up to three tags (``TAGS``, most used first) drawn independently;
  tickets past ``open`` are assigned, mostly to one of the agents, some to a group only;
- per ticket the events and messages the helpdesk writes on the way (``ticket_created`` and the
  customer's first message, assignment, the agent's replies and the customer's answers, an
  internal note now and then, the moves, an SLA breach, the rating): 3.4 messages and 8.5 events
  on average; one message in 30 from the customer with an attachment (one of a few shared
  blobs); 4% of the tickets have a participant; ``LONG_EVENTS`` events on ticket ``long_id``;
- the one pending timer of each ticket that wants one, as ``populate.facts`` and
  ``helpdesk.domain.timers.wanted`` decide with the default settings.

Not written: the inbound mails and outbox rows behind the messages (the API does not read them).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import TypeVar

import populate
from api_story import Story, Writer
from api_words import customer_email, customer_name

from helpdesk.domain import timers as kinds
from helpdesk.domain.timers.sla import Targets
from helpdesk.domain.vocabulary import Priority, Status

COLUMNS = {
    "customers": (
        "id email name company created_at blocked blocked_until block_reason bouncing bounce_reason"
    ),
    "tickets": (
        "id number subject description status priority category customer_id assignee_agent_id "
        "assignee_group_id tags external_ref linked_ticket_id resolution_notes satisfaction "
        "first_response_due next_response_due resolution_due sla_paused_at sla_paused_seconds "
        "agent_active_at escalated_at team_turn_at created_at updated_at first_responded_at "
        "resolved_at closed_at"
    ),
    "ticket_tags": "ticket_id tag created_at assignee_agent_id assignee_group_id",
    "ticket_participants": "ticket_id customer_id",
    "messages": (
        "id ticket_id kind author_kind author_email customer_id agent_id body content_hash "
        "message_id inbound_mail_id verified created_at"
    ),
    "message_attachments": "id message_id blob_sha256 filename content_type size",
    "ticket_events": "id ticket_id kind actor_kind actor before after message_id created_at",
    "timers": "id ticket_id kind due_at status fired_at created_at",
}
COLUMNS_OF = {name: tuple(columns.split()) for name, columns in COLUMNS.items()}

SPAN = timedelta(days=3 * 365)
HEAVY = 12  # customers 1..12: accounts that write a lot (a shared mailbox each)
HEAVY_SHARE, NEW_SHARE = 0.01, 0.69
LONG_EVENTS = 10_000
# (age up to, in days): weights of open, in progress, awaiting customer, resolved, closed
STATUS_BY_AGE = (
    (2, (40, 30, 15, 10, 5)),
    (7, (12, 25, 18, 30, 15)),
    (30, (3, 6, 6, 10, 75)),
    (None, (0, 0, 0, 2, 98)),
)
STATUSES = (
    Status.OPEN,
    Status.IN_PROGRESS,
    Status.AWAITING_CUSTOMER,
    Status.RESOLVED,
    Status.CLOSED,
)
PRIORITIES = ((Priority.LOW, 25), (Priority.MEDIUM, 50), (Priority.HIGH, 20), (Priority.URGENT, 5))
CATEGORIES = (
    ("general", 35),
    ("billing", 25),
    ("technical", 25),
    ("bug", 10),
    ("feature_request", 5),
)
TAGS = (
    "refund",
    "login",
    "invoice",
    "vip",
    "mobile",
    "api",
    "sso",
    "export",
    "shipping",
    "outage",
    "password",
    "billing-error",
    "android",
    "ios",
    "integration",
    "webhook",
    "csv",
    "performance",
    "onboarding",
    "cancellation",
    "upgrade",
    "gdpr",
    "security",
    "duplicate-charge",
    "dark-mode",
    "sla-risk",
    "enterprise",
    "trial",
    "partner",
    "reseller",
    "translation",
    "accessibility",
    "printer",
    "vpn",
    "calendar",
    "backup",
    "migration",
    "legacy",
    "beta",
)
TAG_CUMULATIVE = list(accumulate(1 / rank for rank in range(1, len(TAGS) + 1)))  # Zipf
TAG_COUNTS = ((0, 45), (1, 35), (2, 15), (3, 5))
BLOBS = 20


T = TypeVar("T")


def pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    """One of the values, by their weights (``random.choices`` without its set-up per call)."""
    total = sum(w for _, w in weighted)
    point, seen = rng.random() * total, 0
    for value, weight in weighted:
        seen += weight
        if point < seen:
            return value
    return weighted[-1][0]


def stamp(moment: datetime) -> str:
    """A UTC time as SQLAlchemy stores it on SQLite (and PostgreSQL reads it in UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def blob(index: int) -> tuple[str, int, bytes]:
    content = (f"attachment {index}\n" * 64).encode()
    return hashlib.sha256(content).hexdigest(), len(content), content


@dataclass
class Batch:
    rows: dict[str, list[tuple[object, ...]]] = field(
        default_factory=lambda: {name: [] for name in COLUMNS}
    )

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


@dataclass
class Shape:
    """What the generator needs to know of the team and the SLA targets."""

    tickets: int
    now: datetime
    agents: list[tuple[int, str, int]]  # id, email, group id
    groups: list[tuple[int, str]]  # id, name
    supervisor: str
    targets: dict[Priority, Targets]
    seed: int = 1

    @property
    def long_id(self) -> int:
        return long_id(self.tickets)


def long_id(tickets: int) -> int:
    """The ticket with ``LONG_EVENTS`` events: in the middle."""
    return max(1, tickets // 2)


class Generator:
    """Batches of rows, ticket by ticket, with ids of their own per table."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.now = shape.now.astimezone(UTC).replace(tzinfo=None)  # naive UTC, as all times here
        self.start = self.now - SPAN
        self.step = SPAN.total_seconds() / shape.tickets
        self.customers = 0
        self.ids = dict.fromkeys(("messages", "ticket_events", "message_attachments", "timers"), 0)
        self.policy = populate.timer_policy()
        self.blobs = [blob(i)[0] for i in range(BLOBS)]

    def batches(self, size: int) -> Iterator[Batch]:
        for first in range(1, self.shape.tickets + 1, size):
            batch = Batch()
            if first == 1:
                for _ in range(HEAVY):
                    self._new_customer(batch, self.start)
            for ticket_id in range(first, min(first + size, self.shape.tickets + 1)):
                self._ticket(batch, ticket_id)
            yield batch

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _new_customer(self, batch: Batch, created: datetime) -> int:
        self.customers += 1
        n = self.customers
        (first, last), email = customer_name(n), customer_email(n)
        company = email.partition("@")[2].split(".")[0].title()
        row = (n, email, f"{first} {last}", company, stamp(created), 0, None, "", 0, "")
        batch.rows["customers"].append(row)
        return n

    def _customer(self, batch: Batch, created: datetime) -> int:
        share = self.rng.random()
        if share < HEAVY_SHARE:
            return self.rng.randint(1, HEAVY)
        if share < HEAVY_SHARE + NEW_SHARE or self.customers == HEAVY:
            return self._new_customer(batch, created)
        return self.rng.randint(HEAVY + 1, self.customers)

    def _status(self, age_days: float) -> Status:
        for until, weights in STATUS_BY_AGE:
            if until is None or age_days < until:
                return pick(self.rng, list(zip(STATUSES, weights, strict=True)))
        raise AssertionError("unreachable")

    def _ticket(self, batch: Batch, ticket_id: int) -> None:
        rng, shape = self.rng, self.shape
        created = self.start + timedelta(seconds=(ticket_id - 1 + rng.random() * 0.9) * self.step)
        status = self._status((self.now - created).total_seconds() / 86400)
        priority = pick(rng, PRIORITIES)
        category = pick(rng, CATEGORIES)
        count = pick(rng, TAG_COUNTS)
        tags = sorted(set(rng.choices(TAGS, cum_weights=TAG_CUMULATIVE, k=count)), key=TAGS.index)
        customer_id = self._customer(batch, created)
        story = Story(self, ticket_id, customer_id, status, priority, category, tags, created)
        events = LONG_EVENTS if ticket_id == shape.long_id else 0
        row = Writer(self, batch, story).write(long_events=events)
        assert ticket_id > 1 or tuple(row) == COLUMNS_OF["tickets"]
        batch.rows["tickets"].append(tuple(map(_text, row.values())))
        if status is not Status.CLOSED:
            self._timer(batch, {k: _aware(v) for k, v in row.items()}, priority)

    def _timer(self, batch: Batch, row: dict[str, object], priority: Priority) -> None:
        """The ticket's one pending timer, the earliest it wants (``populate.facts``)."""
        wanted = kinds.wanted(populate.facts(row), self.policy, self.shape.targets[priority])
        if wanted:
            due, kind = min((at, kind) for kind, at in wanted.items())
            created = row["updated_at"]
            assert isinstance(created, datetime)
            timer = (self.next_id("timers"), row["id"], kind, stamp(due), "pending", None)
            batch.rows["timers"].append((*timer, stamp(created)))


def _aware(value: object) -> object:
    return value.replace(tzinfo=UTC) if type(value) is datetime else value


def _text(value: object) -> object:
    if type(value) is datetime:
        return value.isoformat(" ", "microseconds")
    if type(value) in (Status, Priority):
        return str(value.value)  # type: ignore[attr-defined]
    return value
