"""The unit of work's own state: what one transaction has read ahead and what it has written.

One typed object per session (``unit(session)``), where there were string keys in
``session.info``: the read-ahead lookups (active agents, SLA policies, customers, stored
contents), what the transaction has written so far (tickets opened, messages, events, the first
public message of each new ticket), and what the stages count within it (the repeated contents
seen, the acknowledgements sent). A batch of mails shares one unit of work, and so all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.domain import calendar
from helpdesk.domain.vocabulary import Priority, Role
from storage.models import (
    Agent,
    Blob,
    BusinessCalendar,
    Customer,
    GroupMember,
    Message,
    Outbox,
    SlaPolicy,
    Ticket,
    TicketEvent,
    Timer,
)

# (sender, content hash) -> (ticket id, ticket number, created at) of each recent message
Seen = dict[tuple[str, str], list[tuple[int, str, datetime]]]


@dataclass
class UnitOfWork:
    agents: dict[str, Agent] | None = None
    sla: dict[Priority, SlaPolicy] | None = None
    hours: tuple[calendar.Calendar | None] | None = None  # (None,): read, and none is set
    customers: dict[str, Customer | None] = field(default_factory=dict)
    blobs: dict[str, bool] = field(default_factory=dict)
    opened: set[Ticket] = field(default_factory=set)
    old_mail: bool = False  # the mail being processed came long ago (backfill): no SLA clock
    # the first public message of each ticket opened here (or read ahead for a batch of timers):
    # what notifications quote, known without reading it back (or flushing to learn ids)
    first_public: dict[Ticket, Message] = field(default_factory=dict)
    posted: list[Message] = field(default_factory=list)  # messages added, flushed or not
    events: list[TicketEvent] = field(default_factory=list)  # what notifications derive from
    seen: Seen = field(default_factory=dict)  # repeated contents read ahead (dedupe)
    checked: set[tuple[str, str]] = field(default_factory=set)  # (sender, hash) read ahead
    answers_sent: dict[str, int] = field(default_factory=dict)  # in the last hour, by recipient
    answers_total: int | None = None  # automatic answers to anyone in the last hour
    armed: list[Timer] = field(default_factory=list)  # timers set here: a message wakes each
    # each ticket's timers by (kind, due), as read (or read ahead) and then set here
    timers: dict[int, dict[tuple[str, datetime], Timer]] = field(default_factory=dict)
    alerted: dict[int, list[Outbox]] = field(default_factory=dict)  # recent SLA alerts, by ticket
    members: list[tuple[int, int]] | None = None  # (group, agent): every membership
    # each ticket's latest proven customer mail's (Thread-Index, Thread-Topic), as posted here
    thread_headers: dict[Ticket, tuple[str, str]] = field(default_factory=dict)


def unit(session: Session) -> UnitOfWork:
    """The state of ``session``'s unit of work, made on first use (keyed by the class itself)."""
    work = session.info.get(UnitOfWork)
    if not isinstance(work, UnitOfWork):
        work = session.info[UnitOfWork] = UnitOfWork()
    return work


def active_agents(session: Session) -> dict[str, Agent]:
    """Every active agent by email, read once per unit of work (a batch of mails shares it)."""
    work = unit(session)
    if work.agents is None:
        work.agents = {a.email: a for a in session.scalars(select(Agent).where(Agent.active))}
    return work.agents


def present_agents(session: Session, now: datetime) -> list[Agent]:
    """The active agents who are not away now, in the order they joined."""
    agents = sorted(active_agents(session).values(), key=lambda a: a.id)
    return [a for a in agents if not is_away(a, now)]


def is_away(agent: Agent, now: datetime) -> bool:
    since, until = agent.away_since, agent.away_until
    return since is not None and until is not None and since <= now < until


def answerable(session: Session, ticket: Ticket, now: datetime) -> list[Agent]:
    """Who answers for ``ticket``: its assignee; else the active members of its group (or, for
    an assignee who has left or is away, of their groups); else the supervisors and admins;
    else anyone. An agent who is away is never among them."""
    agents = present_agents(session, now)
    found = [a for a in agents if a.id == ticket.assignee_agent_id]
    assigned = ticket.assignee_agent_id is not None or ticket.assignee_group_id is not None
    if not found and assigned:
        pairs = memberships(session)
        groups = {ticket.assignee_group_id}
        if ticket.assignee_agent_id is not None:
            groups = {group for group, agent in pairs if agent == ticket.assignee_agent_id}
        members = {agent for group, agent in pairs if group in groups}
        found = [a for a in agents if a.id in members]
    return found or [a for a in agents if a.role is not Role.AGENT] or agents


def memberships(session: Session) -> list[tuple[int, int]]:
    """Every (group, agent) membership, read once per unit of work, as the agents are: a few
    rows per agent, where a batch of timers or mails asked twice per ticket."""
    work = unit(session)
    if work.members is None:
        rows = session.execute(select(GroupMember.group_id, GroupMember.agent_id))
        work.members = [(group, agent) for group, agent in rows]
    return work.members


def sla_policy(session: Session, priority: Priority) -> SlaPolicy | None:
    work = unit(session)
    if work.sla is None:
        work.sla = {p.priority: p for p in session.scalars(select(SlaPolicy))}
    return work.sla.get(priority)


def business_calendar(session: Session) -> calendar.Calendar | None:
    """The business hours SLA clocks count in, or None (wall time); read once per unit of work."""
    work = unit(session)
    if work.hours is None:
        row = session.scalars(select(BusinessCalendar)).first()
        work.hours = (None if row is None else calendar_of(row),)
    return work.hours[0]


def calendar_of(row: BusinessCalendar) -> calendar.Calendar:
    holidays = frozenset(date.fromisoformat(day) for day in row.holidays)
    return calendar.Calendar(row.zone, calendar.parse_hours(row.hours), holidays)


V = TypeVar("V")


def _read_ahead(
    session: Session,
    known: dict[str, V],
    keys: Iterable[str],
    absent: V,
    lookup: Callable[[set[str]], Iterable[tuple[str, V]]],
) -> dict[str, V]:
    """A lookup kept by the unit of work (``known``): the keys not known yet are read in one
    query (``lookup``); a key not found is kept as ``absent``. The unit of work updates it as it
    adds rows, so that they are found without a flush."""
    wanted = {key for key in keys if key not in known}
    if wanted:
        known.update(dict.fromkeys(wanted, absent))
        with session.no_autoflush:
            known.update(lookup(wanted))
    return known


def known_customers(session: Session, emails: Iterable[str] = ()) -> dict[str, Customer | None]:
    """The customers this unit of work has looked up or created, by email; None: looked up and
    not found. A batch of mails reads its senders once (``pipeline.preload``) and a customer
    created by one mail is found by the next without a flush."""

    def lookup(wanted: set[str]) -> Iterable[tuple[str, Customer | None]]:
        return (
            (c.email, c)
            for c in session.scalars(
                select(Customer).where(Customer.email.in_(wanted)).with_for_update()
            )
        )

    return _read_ahead(session, unit(session).customers, emails, None, lookup)


def stored_blobs(session: Session, digests: Iterable[str] = ()) -> dict[str, bool]:
    """Whether each attachment content looked up in this unit of work is stored, flushed or not
    (a pending one is not in the table yet)."""

    def lookup(wanted: set[str]) -> Iterable[tuple[str, bool]]:
        return (
            (d, True) for d in session.scalars(select(Blob.sha256).where(Blob.sha256.in_(wanted)))
        )

    return _read_ahead(session, unit(session).blobs, digests, False, lookup)
