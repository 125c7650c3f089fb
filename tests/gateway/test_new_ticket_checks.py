"""What a new ticket's first mail is checked for: credentials that warn the agents, and a subject
and text of the configured minimum lengths (else the sender is told why, and nothing is kept)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from helpdesk.app.runtime import App
from tests.desk import Desk
from tests.helpers import cli, tickets
from tests.sink import Sink

CY = "cy@customer.test"
WARNING = "Warning: the first mail seems to hold"


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    with Desk(
        replace(app, settings=app.settings.model_copy(update={"min_subject_chars": 5})), sink
    ) as running:
        yield running


def test_a_first_mail_with_a_password_flags_the_ticket_and_warns_the_agents(
    desk: Desk, app: App
) -> None:
    desk.send(
        CY,
        "support@example.com",
        "I can't get in. My login is cy and pw hunter2.",
        subject="Locked out",
    )
    ticket = desk.ticket()
    assert ticket.tags == ["credentials"]
    alert = desk.inbox("ann@us.test")[-1]
    assert ticket.number in str(alert.message["Subject"])
    assert f"{WARNING} a password." in alert.text()
    assert "hunter2" in alert.text()  # flagged, not masked: the agent may need to see it
    shown = cli(app.settings, "tickets", "show", ticket.number)
    assert "credentials" in shown.split("tags:")[1].splitlines()[0]


def test_a_mail_about_a_password_is_not_flagged(desk: Desk) -> None:
    desk.send(
        CY, "support@example.com", "My password is not working since Monday.", subject="Login"
    )
    assert desk.ticket().tags == []
    assert WARNING not in desk.inbox("ann@us.test")[-1].text()


def test_a_key_in_a_later_reply_does_not_flag_the_ticket(desk: Desk) -> None:
    """The flag is the first mail's: later messages are the agents' to judge."""
    desk.send(CY, "support@example.com", "The deploy fails.", subject="Deploy")
    reply_to = str(desk.inbox(CY)[-1].message["Reply-To"])
    desk.send(CY, reply_to, "Here: -----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...")
    assert desk.ticket().tags == []


def test_a_subject_shorter_than_the_minimum_is_explained_and_opens_nothing(
    desk: Desk, app: App
) -> None:
    desk.send(CY, "support@example.com", "Nothing works at all.", subject="Hi")
    assert tickets(app) == []
    [explained] = desk.inbox(CY)
    assert "the subject has fewer than 5 characters" in explained.text()
    desk.send(CY, "support@example.com", "Nothing works at all.", subject="Help!")
    assert [t.subject for t in tickets(app)] == ["Help!"]
