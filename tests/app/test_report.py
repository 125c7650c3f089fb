"""The report read from the database: a generated month whose true figures the test knows,
on SQLite and PostgreSQL, in a fixed number of queries whatever the number of tickets."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from helpdesk.app import report
from helpdesk.app.runtime import App
from helpdesk.domain.report import Grouping
from helpdesk.domain.timers.sla import Clock
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind, Priority, Status
from storage.models import (
    Agent,
    BusinessCalendar,
    Customer,
    Group,
    GroupMember,
    Message,
    Ticket,
    TicketEvent,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
M = timedelta(minutes=1)
H = timedelta(hours=1)
COUNT = 60


@dataclass(frozen=True)
class Spec:
    """One generated ticket, and what it says about the figures."""

    i: int

    @property
    def created(self) -> datetime:
        return START + self.i * 11 * H  # every 11 hours, the last on 2026-11-29

    @property
    def answered(self) -> timedelta | None:  # four in five are answered, after 40m … 4h
        return None if self.i % 5 == 4 else (self.i % 6 + 1) * 40 * M

    @property
    def status(self) -> Status:
        return (Status.RESOLVED, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER)[self.i % 3]

    @property
    def resolved(self) -> timedelta | None:  # after 5h … 35h, against a 24h target
        return (self.i % 7 + 1) * 5 * H if self.status is Status.RESOLVED else None

    @property
    def replied(self) -> bool:  # the customer wrote again after the answer
        return self.answered is not None and self.i % 4 == 1

    @property
    def next_breached(self) -> bool:
        return self.replied and self.i % 8 == 1


SPECS = [Spec(i) for i in range(COUNT)]


def populate(session: Session) -> None:
    groups = {name: Group(name=name, created_at=START) for name in ("billing", "sales")}
    team = {
        name: Agent(email=f"{name}@us.test", name=name, created_at=START)
        for name in ("ann", "bob", "cy")
    }
    session.add_all([*groups.values(), *team.values()])
    session.flush()
    for agent, group in (("ann", "billing"), ("bob", "billing"), ("bob", "sales")):
        session.add(GroupMember(agent_id=team[agent].id, group_id=groups[group].id))
    customer = Customer(email="cu@customer.test", created_at=START)
    session.add(customer)
    for spec in SPECS:
        assignee: dict[str, Any] = [
            {"assignee_agent_id": team["ann"].id},
            {"assignee_agent_id": team["bob"].id},
            {"assignee_group_id": groups["sales"].id},
            {},
        ][spec.i % 4]
        ticket = _ticket(session, customer, spec, assignee)
        if spec.answered is None:  # the alert fired: a breach recorded
            _event(session, ticket, Clock.FIRST_RESPONSE, spec.created + 3 * H)
        if spec.replied:
            answered = spec.created + (spec.answered or H)
            message = Message(
                ticket=ticket,
                kind=MessageKind.PUBLIC,
                author_kind=AuthorKind.CUSTOMER,
                author_email=customer.email,
                body="And another thing",
                created_at=answered + 10 * M,
            )
            session.add(message)
        if spec.next_breached:
            _event(session, ticket, Clock.NEXT_RESPONSE, spec.created + 8 * H)
    for outside in (START - timedelta(days=3), NOW):  # before and after the period
        _ticket(session, customer, Spec(0), {}, outside, number=f"TKT-X{outside:%m%d}")


def _ticket(
    session: Session,
    customer: Customer,
    spec: Spec,
    assignee: dict[str, Any],
    created: datetime | None = None,
    number: str = "",
) -> Ticket:
    created = created or spec.created
    ticket = Ticket(
        number=number or f"TKT-{spec.i:06d}",
        subject="Help",
        description="Help",
        status=spec.status,
        priority=list(Priority)[spec.i % 4],
        category=("general", "billing", "bug")[spec.i % 3],
        customer=customer,
        tags=[],
        created_at=created,
        updated_at=created,
        first_response_due=created + 3 * H,
        resolution_due=created + 24 * H,
        first_responded_at=None if spec.answered is None else created + spec.answered,
        resolved_at=None if spec.resolved is None else created + spec.resolved,
        satisfaction=spec.i % 5 + 1 if spec.resolved is not None else None,
        **assignee,
    )
    session.add(ticket)
    return ticket


def _event(session: Session, ticket: Ticket, clock: Clock, at: datetime) -> None:
    after = {"clock": clock.value, "due": at.isoformat()}
    session.add(
        TicketEvent(
            ticket=ticket,
            kind=EventKind.SLA_BREACHED,
            actor_kind=AuthorKind.SYSTEM,
            actor="system",
            before={},
            after=after,
            created_at=at,
        )
    )


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if args[2].startswith("SELECT"):
            seen.append(args[2])

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", count)


def quantiles(values: list[timedelta]) -> tuple[timedelta, timedelta]:
    seconds = [v.total_seconds() for v in values]
    p90 = statistics.quantiles(seconds, n=10, method="inclusive")[8]
    return timedelta(seconds=statistics.median(seconds)), timedelta(seconds=p90)


def test_a_generated_month_gives_the_figures_it_was_made_with(app: App) -> None:
    with app.sessions.begin() as session:
        populate(session)
    with app.sessions() as session, statements(app) as seen:
        within = report.period(session, "2026-11-01", "2026-11-30", NOW)
        found = report.build(session, within, NOW)
    assert len(seen) == 5, seen  # calendar, groups, breaches, replies, tickets: set-based
    figures = found.overall
    assert figures.tickets == COUNT and found.calendar is None

    answered = [s.answered for s in SPECS if s.answered is not None]
    resolved = [s.resolved for s in SPECS if s.resolved is not None]
    spread = figures.first_response
    assert (spread.count, (spread.median, spread.p90)) == (len(answered), quantiles(answered))
    spread = figures.resolution
    assert (spread.count, (spread.median, spread.p90)) == (len(resolved), quantiles(resolved))

    first = figures.sla[Clock.FIRST_RESPONSE]  # met: answered within 3h; every other missed
    assert (first.met, first.missed) == (sum(a <= 3 * H for a in answered), COUNT - first.met)
    following = figures.sla[Clock.NEXT_RESPONSE]
    breached = sum(s.next_breached for s in SPECS)
    assert (following.met, following.missed) == (sum(s.replied for s in SPECS) - breached, breached)
    whole = figures.sla[Clock.RESOLUTION]  # waiting for the customer: paused, not counted
    open_and_late = sum(s.status is Status.IN_PROGRESS for s in SPECS)  # all past 24h by now
    assert (whole.met, whole.missed) == (
        sum(r <= 24 * H for r in resolved),
        sum(r > 24 * H for r in resolved) + open_and_late,
    )

    assert figures.backlog == {s: sum(x.status is s for x in SPECS) for s in Status}
    weeks = Counter(f"2026-W{s.created.isocalendar()[1]}" for s in SPECS)
    assert figures.volume == {f"2026-W{w}": weeks[f"2026-W{w}"] for w in range(44, 50)}
    ratings = [s.i % 5 + 1 for s in SPECS if s.resolved is not None]
    assert figures.satisfaction.average == pytest.approx(statistics.mean(ratings))
    assert figures.satisfaction.distribution == {r: ratings.count(r) for r in range(1, 6)}


def test_per_agent_and_per_group(app: App) -> None:
    with app.sessions.begin() as session:
        populate(session)
    with app.sessions() as session:
        within = report.period(session, "2026-11-01", "2026-11-30", NOW)
        by_agent = report.build(session, within, NOW, Grouping.AGENT).groups
        by_group = report.build(session, within, NOW, Grouping.GROUP).groups
        by_priority = report.build(session, within, NOW, Grouping.PRIORITY).groups
    quarter = COUNT // 4
    assert {k: v.tickets for k, v in by_agent.items()} == {
        "ann@us.test": quarter,
        "bob@us.test": quarter,
        "unassigned": 2 * quarter,  # assigned to a group, or to nobody
    }
    answered = [s.answered for s in SPECS if s.i % 4 == 0 and s.answered is not None]
    ann = by_agent["ann@us.test"].first_response
    assert (ann.median, ann.p90) == quantiles(answered)
    # bob is in billing and sales: his tickets count in both; sales also has its own
    assert {k: v.tickets for k, v in by_group.items()} == {
        "billing": 2 * quarter,
        "sales": 2 * quarter,
        "no group": quarter,
    }
    assert list(by_priority) == ["urgent", "high", "medium", "low"]


def test_business_hours_are_read_from_the_calendar(app: App) -> None:
    """Friday 16:00 to Monday 10:00 in Berlin is two business hours."""
    friday = datetime(2026, 11, 27, 15, tzinfo=UTC)  # 16:00 in Berlin
    with app.sessions.begin() as session:
        session.add(BusinessCalendar(zone="Europe/Berlin", hours="Mon-Fri 09:00-17:00"))
        customer = Customer(email="cu@customer.test", created_at=START)
        ticket = _ticket(session, customer, Spec(1), {}, friday)
        ticket.first_responded_at = friday + 66 * H
    with app.sessions() as session:
        within = report.period(session, "2026-11-27", "2026-11-27", NOW)
        found = report.build(session, within, NOW)
    assert found.calendar is not None and found.calendar.zone == "Europe/Berlin"
    assert within.since == datetime(2026, 11, 26, 23, tzinfo=UTC)  # the team's midnight
    assert found.overall.first_response.median == 2 * H
    assert found.overall.volume == {"2026-W48": 1}
