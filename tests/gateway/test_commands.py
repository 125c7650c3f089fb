"""Agent commands by mail: all or nothing, feedback with suggestions, lists, blocks, ratings."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import MessageKind, Priority, Status
from storage.models import Agent, Customer, InboundMail, Message
from tests.desk import Desk
from tests.helpers import mail
from tests.sink import Sink

CY = "cy@customer.test"


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    running = Desk(app, sink).start()
    running.send(CY, "support@example.com", "The app crashes on start.", subject="Crash")
    yield running
    running.stop()


def as_ann(desk: Desk, body: str) -> str:
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), body)
    return desk.inbox("ann@us.test")[-1].text()


def messages(app: App) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def test_one_bad_command_applies_nothing_and_says_why(desk: Desk, app: App) -> None:
    before = messages(app)
    answer = as_ann(desk, "#priority high\n#stauts pending\n\nWe are on it.")
    ticket = desk.ticket()
    assert ticket.priority is Priority.MEDIUM and ticket.status is Status.OPEN
    assert messages(app) == before  # not even the reply
    assert "Nothing was applied" in answer and "did you mean #status?" in answer
    assert desk.inbox(CY)[-1].text().count("We are on it") == 0


def test_applied_commands_are_confirmed_with_the_new_state(desk: Desk) -> None:
    answer = as_ann(desk, "#status In Progress\n#priority URGENT\n#tag +vip\n#ref ORD-77")
    ticket = desk.ticket()
    assert (ticket.status, ticket.priority, ticket.tags, ticket.external_ref) == (
        Status.IN_PROGRESS,
        Priority.URGENT,
        ["vip"],
        "ORD-77",
    )
    assert "#priority URGENT" in answer and f"{ticket.number} is now in_progress" in answer
    assert ticket.first_response_due is not None
    assert ticket.first_response_due - ticket.created_at == timedelta(hours=1)


def test_ambiguous_agent_name_lists_both(desk: Desk, app: App) -> None:
    with app.sessions.begin() as session:
        sue = session.scalars(select(Agent).where(Agent.email == "sue@us.test")).one()
        sue.name = "Ann Other"
    desk.send("sue@us.test", desk.agent_token(desk.ticket(), "sue"), "#assign ann")
    answer = desk.inbox("sue@us.test")[-1].text()
    assert "Ann Archer <ann@us.test>" in answer and "Ann Other <sue@us.test>" in answer
    assert desk.ticket().assignee_agent_id is None


def test_list_and_show_by_mail_respect_visibility(desk: Desk, app: App) -> None:
    desk.send("sue@us.test", desk.agent_token(desk.ticket(), "sue"), "#assign ben")
    number = desk.ticket().number
    desk.send("ann@us.test", "support@example.com", "#list\n#show " + number, subject="mine?")
    answer = desk.inbox("ann@us.test")[-1].text()
    assert "No tickets." in answer and "assigned to someone else" in answer
    desk.send("ben@us.test", "support@example.com", f"#list status:in_progress\n#show {number}")
    answer = desk.inbox("ben@us.test")[-1].text()
    assert number in answer and "History:" in answer and "Page 1 of 1 (1 tickets)" in answer


def outcomes(app: App) -> list[tuple[str, str]]:
    with app.sessions() as session:
        rows = session.execute(
            select(InboundMail.status, InboundMail.outcome).order_by(InboundMail.id)
        )
        return [(str(status), outcome) for status, outcome in rows]


def test_answers_are_recorded_as_answered(desk: Desk, app: App) -> None:
    """Issue 11, item 18: a #list, #show or #help mail has no body, and is not rejected for it."""
    desk.send("ann@us.test", "support@example.com", "#list", subject="mine?")
    desk.send("ann@us.test", "support@example.com", "#help", subject="")
    assert outcomes(app)[-2:] == [("processed", "answered")] * 2


def test_an_absurd_page_number_is_answered_not_quarantined(desk: Desk, app: App) -> None:
    """Issue 11, item 12: the database's integer would overflow; the agent hears why."""
    desk.send("ann@us.test", "support@example.com", "#list page:99999999999999999999")
    answer = desk.inbox("ann@us.test")[-1].text()
    assert "page must be a number from 1 to 10000" in answer and "#list page:1" in answer
    assert outcomes(app)[-1][0] == "processed"


def test_help_is_generated_from_the_registry(desk: Desk) -> None:
    desk.send("ann@us.test", "support@example.com", "#help", subject="?")
    answer = desk.inbox("ann@us.test")[-1].text()
    for name in ("#status", "#assign", "#block", "#customer", "#list", "#show", "#help"):
        assert name in answer


def test_block_closes_tickets_and_refuses_later_mail(desk: Desk, app: App) -> None:
    desk.send("sue@us.test", desk.agent_token(desk.ticket(), "sue"), "#block 7d abusive language")
    assert desk.ticket().status is Status.CLOSED
    with app.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.email == CY)).one()
    assert customer.blocked and customer.blocked_until is not None
    desk.gateway._gateway.blocks.refresh(app.engine)
    with desk.gateway.smtp() as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail(CY, ["support@example.com"], mail(sender=CY).as_bytes())
    assert b"abusive language" in refused.value.smtp_error
    desk.send("sue@us.test", desk.agent_token(desk.ticket(), "sue"), "#unblock")
    with app.sessions() as session:
        assert not session.scalars(select(Customer).where(Customer.email == CY)).one().blocked


def test_agents_cannot_block(desk: Desk, app: App) -> None:
    answer = as_ann(desk, "#block permanent spam")
    assert "only supervisors may use #block" in answer
    with app.sessions() as session:
        assert not session.scalars(select(Customer).where(Customer.email == CY)).one().blocked


def test_satisfaction_rating_by_reply(desk: Desk) -> None:
    as_ann(desk, "#resolve Restarted the service")
    resolved = desk.inbox(CY)[-1]
    assert "How did we do?" in resolved.text()
    desk.send(CY, str(resolved.message["Reply-To"]), "5")
    ticket = desk.ticket()
    assert ticket.satisfaction == 5 and ticket.status is Status.RESOLVED


def test_customer_reply_on_resolved_ticket_reopens(desk: Desk) -> None:
    as_ann(desk, "#resolve Restarted the service")
    desk.send(CY, str(desk.inbox(CY)[-1].message["Reply-To"]), "It crashes again!")
    assert desk.ticket().status is Status.IN_PROGRESS


def test_support_address_without_commands_gets_guidance(desk: Desk) -> None:
    desk.send("ann@us.test", "support@example.com", "Please call me back", subject="note")
    assert "#customer EMAIL" in desk.inbox("ann@us.test")[-1].text()


def test_an_agents_reply_records_which_agent_wrote_it(desk: Desk, app: App) -> None:
    as_ann(desk, "We are on it.")
    with app.sessions() as session:
        ann = session.scalars(select(Agent).where(Agent.email == "ann@us.test")).one()
        written = session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert written is not None and written.body.startswith("We are on it")
        assert (written.agent_id, written.customer_id) == (ann.id, None)


def test_opening_a_ticket_with_internal_keeps_the_text_and_attachment_from_the_customer(
    desk: Desk, app: App
) -> None:
    """Issue 11, item 2: the note, and the file with it, are for agents only."""
    opening = mail(
        sender="ann@us.test",
        subject="Call about the refund",
        body="#customer carol@customer.test Carol\n#internal\n\nFraud watch list: check ID first.",
    )
    opening.add_attachment(b"passport scan", maintype="image", subtype="png", filename="id.png")
    desk.gateway.send(opening)
    desk.settle()
    ticket = desk.ticket()
    assert "Fraud" not in ticket.description and "on your behalf" in ticket.description
    with app.sessions() as session:
        kinds = [
            m.kind for m in session.scalars(select(Message).where(Message.ticket_id == ticket.id))
        ]
    assert kinds == [MessageKind.INTERNAL]
    [ack] = desk.inbox("carol@customer.test")
    assert "Fraud" not in ack.text()
    assert not any(part.get_filename() for part in ack.message.walk())


def test_command_mails_with_the_same_text_are_not_duplicates(desk: Desk) -> None:
    """Issue 11, item 17: the same short body under other commands is a new instruction."""
    as_ann(desk, "#status pending\nThanks")
    answer = as_ann(desk, "#priority high\nThanks")
    assert desk.ticket().priority is Priority.HIGH and "Applied:" in answer


def test_the_answer_says_nothing_was_applied_when_the_new_ticket_was_not_valid(desk: Desk) -> None:
    """Issue 11, item 17: a #customer mail with no text opens nothing, and says so."""
    before = desk.ticket().number
    desk.send("ann@us.test", "support@example.com", "#customer dan@customer.test", subject="Call")
    answer = desk.inbox("ann@us.test")[-1].text()
    assert "Nothing was applied" in answer and "Applied:" not in answer
    assert "fewer than 1 characters" in answer and desk.ticket().number == before


def test_satisfaction_rating_by_the_mailto_link(desk: Desk) -> None:
    """The resolved mail's HTML links 5..1 as mailto: links; a mail client that follows one sends
    their address, subject and body (or, some, no body)."""
    as_ann(desk, "#resolve Restarted the service")
    [html] = [
        str(p.get_content())
        for p in desk.inbox(CY)[-1].message.walk()
        if p.get_content_type() == "text/html"
    ]
    links = re.findall(r'href="mailto:([^"?]+)\?subject=([^"&]+)&amp;body=(\d)"', html)
    assert [body for _, _, body in links] == ["5", "4", "3", "2", "1"]
    address, subject, body = links[1]
    assert unquote(subject) == f"[{desk.ticket().number}] rating 4"
    desk.send(CY, unquote(address), body, subject=unquote(subject))
    assert desk.ticket().satisfaction == 4
    address, subject, _ = links[4]
    desk.send(CY, unquote(address), "", subject=unquote(subject))  # a client that drops the body
    ticket = desk.ticket()
    assert ticket.satisfaction == 1 and ticket.status is Status.RESOLVED
