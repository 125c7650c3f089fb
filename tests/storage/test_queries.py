"""The read side at scale: the tag rows follow a ticket's tags, a total is counted only so far,
and a ticket's detail gives only its most recent history (``storage.queries``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import AuthorKind, EventKind
from storage import queries
from storage.models import Agent, Customer, Group, Ticket, TicketEvent, TicketTag
from storage.queries import TicketFilter, Viewer, list_tickets, ticket_detail

START = datetime(2026, 11, 1, tzinfo=UTC)


def tickets(app: App, count: int, tags: list[str] | None = None) -> list[int]:
    with app.sessions.begin() as session:
        customer = Customer(email="cy@customer.test", created_at=START)
        made = [
            Ticket(
                number=f"TKT-{n:06d}",
                subject=f"ticket {n}",
                description="",
                customer=customer,
                tags=list(tags or []),
                created_at=START + timedelta(minutes=n),
                updated_at=START + timedelta(minutes=n),
            )
            for n in range(count)
        ]
        session.add_all(made)
        session.flush()
        return [t.id for t in made]


def tag_rows(app: App) -> set[tuple[int, str]]:
    with app.sessions() as session:
        return {(r.ticket_id, r.tag) for r in session.scalars(select(TicketTag))}


def numbers(app: App, where: TicketFilter, **kwargs: object) -> list[str]:
    with app.sessions() as session:
        return [row.number for row in list_tickets(session, where, **kwargs).rows]  # type: ignore[arg-type]


def test_the_tag_rows_follow_the_tickets_tags_whoever_sets_them(app: App) -> None:
    first, second = tickets(app, 2, tags=["VIP", "refund"])
    assert tag_rows(app) == {(t, tag) for t in (first, second) for tag in ("vip", "refund")}
    with app.sessions.begin() as session:
        ticket = session.get(Ticket, first)
        assert ticket is not None
        ticket.tags = ["refund", "login"]
        ticket.subject = "changed too"
    with app.sessions.begin() as session:  # a change elsewhere leaves the tags alone
        other = session.get(Ticket, second)
        assert other is not None
        other.subject = "only the subject"
    assert tag_rows(app) == {
        (first, "refund"),
        (first, "login"),
        (second, "vip"),
        (second, "refund"),
    }
    assert numbers(app, TicketFilter(tag="Login")) == ["TKT-000000"]
    assert numbers(app, TicketFilter(tag="vip")) == ["TKT-000001"]
    assert numbers(app, TicketFilter(tag="refund")) == ["TKT-000001", "TKT-000000"]


def test_an_agents_tag_list_follows_reassignment(app: App) -> None:
    """The tag rows carry copies of the assignee, so that an agent's view of a tag is read
    from the tag's index: a copy left behind would show a ticket to the wrong agent."""
    mine, theirs, nobodys = tickets(app, 3, tags=["vip"])
    with app.sessions.begin() as session:
        ann = Agent(email="ann@us.test", name="Ann", created_at=START)
        bob = Agent(email="bob@us.test", name="Bob", created_at=START)
        billing = Group(name="billing", created_at=START)
        session.add_all([ann, bob, billing])
        session.flush()
        ann_id, billing_id = ann.id, billing.id
        ticket = session.get(Ticket, mine)
        other = session.get(Ticket, theirs)
        assert ticket is not None and other is not None
        ticket.assignee_agent = ann  # by the relationship
        other.assignee_agent_id = bob.id  # by the column
    ann_view = TicketFilter(tag="VIP", viewer=Viewer(ann_id, frozenset({billing_id})))
    assert numbers(app, ann_view) == ["TKT-000002", "TKT-000000"]  # hers and nobody's
    with app.sessions.begin() as session:
        ticket = session.get(Ticket, mine)
        other = session.get(Ticket, theirs)
        unassigned = session.get(Ticket, nobodys)
        assert ticket is not None and other is not None and unassigned is not None
        ticket.assignee_agent_id = None  # given to a group she is not in: hidden from her
        ticket.assignee_group = Group(name="other", created_at=START)
        other.assignee_agent = None  # to her group: shown to her
        other.assignee_group_id = billing_id
        unassigned.assignee_agent_id = ann_id
    assert numbers(app, ann_view) == ["TKT-000002", "TKT-000001"]
    with app.sessions() as session:
        page = list_tickets(session, ann_view)
        assert (page.total, page.total_exact) == (2, True)


def test_a_total_is_exact_up_to_the_limit_and_a_lower_bound_beyond(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "COUNT_LIMIT", 4)
    tickets(app, 9)
    with app.sessions() as session:
        first = list_tickets(session, TicketFilter(), page=1, limit=2)
        assert (first.total, first.total_exact, first.pages) == (4, False, 3)
        assert [r.number for r in first.rows] == ["TKT-000008", "TKT-000007"]
        further = list_tickets(session, TicketFilter(), page=3, limit=2)  # past the limit
        assert (further.total, further.total_exact, further.pages) == (6, False, 4)
        last = list_tickets(session, TicketFilter(), page=5, limit=2)  # found short: known
        assert (last.total, last.total_exact, last.pages) == (9, True, 5)
        assert [r.number for r in last.rows] == ["TKT-000000"]
        beyond = list_tickets(session, TicketFilter(), page=7, limit=2)
        assert (beyond.rows, beyond.total, beyond.total_exact) == ([], 9, True)
        few = list_tickets(session, TicketFilter(customer="cy@customer.test"), limit=20)
        assert (few.total, few.total_exact, few.pages) == (9, True, 1)
        assert few.as_json()["total_exact"] is True


def test_the_detail_gives_the_most_recent_history_and_says_so(app: App) -> None:
    [ticket_id] = tickets(app, 1)
    with app.sessions.begin() as session:
        session.add_all(
            TicketEvent(
                ticket_id=ticket_id,
                kind=EventKind.TICKET_UPDATED,
                actor_kind=AuthorKind.SYSTEM,
                actor="system",
                after={"step": step},
                created_at=START + timedelta(seconds=step),
            )
            for step in range(queries.HISTORY_LIMIT + 5)
        )
    with app.sessions() as session:
        bounded = ticket_detail(session, "tkt-000000")
        whole = ticket_detail(session, "TKT-000000", history_limit=None)
    assert bounded is not None and whole is not None
    assert bounded.history_truncated and not whole.history_truncated
    steps = [entry.after["step"] for entry in bounded.history]
    assert steps == list(range(5, queries.HISTORY_LIMIT + 5))  # the last ones, oldest first
    assert len(whole.history) == queries.HISTORY_LIMIT + 5
    assert bounded.ticket.customer == "cy@customer.test" and bounded.ticket.assignee == ""
