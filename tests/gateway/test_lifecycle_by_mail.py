"""The whole life of a ticket, worked from mail clients only, as a support team lives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from gateway.cli import main
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import Status
from tests.desk import Desk
from tests.sink import Sink

NOTE = "Checked with billing: known rounding bug 4711, refund approved internally."


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    running = Desk(app, sink).start()
    yield running
    running.stop()


def reply_to(desk: Desk, address: str, index: int = -1) -> str:
    return str(desk.inbox(address)[index].message["Reply-To"])


def test_phone_call_to_closed_ticket(
    desk: Desk, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    carol = "carol@customer.test"
    # A customer phones in; Ann opens the ticket for her by mail.
    desk.send(
        "Ann Archer <ann@us.test>",
        "support@example.com",
        "#customer carol@customer.test Carol Customer\n\nCarol called: invoice 114 has the "
        "wrong VAT rate.",
        subject="Wrong VAT on invoice 114",
    )
    ticket = desk.ticket()
    assert (ticket.subject, ticket.status) == ("Wrong VAT on invoice 114", Status.OPEN)
    assert "Applied" in desk.inbox("ann@us.test")[-1].text()
    assert ticket.number in desk.inbox(carol)[0].text()  # her acknowledgement

    # Ben takes it from his new-ticket alert, with an internal note...
    desk.send("ben@us.test", reply_to(desk, "ben@us.test"), f"#assign me\n#internal\n\n{NOTE}")
    assert (desk.ticket().status, desk.ticket().assignee_agent_id) == (
        Status.IN_PROGRESS,
        desk.ids["ben"],
    )
    # ...then answers Carol from the same thread.
    desk.send("ben@us.test", reply_to(desk, "ben@us.test"), "Hello Carol, it is corrected now.")
    assert desk.ticket().status is Status.AWAITING_CUSTOMER

    # Carol answers the reply she got: back to in progress.
    desk.send(carol, reply_to(desk, carol), "Thank you, the new invoice looks right.")
    assert desk.ticket().status is Status.IN_PROGRESS

    # Ben resolves it with notes; Sue, a supervisor, closes it from her alert.
    desk.send("ben@us.test", reply_to(desk, "ben@us.test"), "#resolve Corrected VAT to 19%")
    assert desk.ticket().status is Status.RESOLVED
    assert desk.ticket().resolution_notes == "Corrected VAT to 19%"
    desk.send("sue@us.test", reply_to(desk, "sue@us.test", 0), "#close")
    assert desk.ticket().status is Status.CLOSED

    # Carol's mailbox: exactly what she should see, and nothing internal.
    texts = [m.text() for m in desk.inbox(carol)]
    assert len(texts) == 5
    assert "received your request" in texts[0]
    assert "being worked on by Ben Baker" in texts[1]
    assert "it is corrected now" in texts[2]
    assert "resolved" in texts[3] and "Corrected VAT to 19%" in texts[3]
    assert "is now closed" in texts[4]
    assert all("4711" not in text for text in texts)

    # The history names every step and who took it.
    monkeypatch.setenv("HELPDESK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(settings.var_dir))
    shown = CliRunner().invoke(main, ["tickets", "show", ticket.number]).output
    for step in (
        "ticket_created         ann@us.test",
        "ticket_assigned        ben@us.test  assignee:  -> ben@us.test",
        "ticket_status_changed  ben@us.test  status: open -> in_progress",
        "(internal) Checked with billing",
        "status: in_progress -> awaiting_customer",
        "ticket_commented       carol@customer.test",
        "status: awaiting_customer -> in_progress",
        "ticket_resolved        ben@us.test",
        "ticket_closed          sue@us.test",
    ):
        assert step in shown, step


def test_a_customers_close_on_a_closed_ticket_opens_nothing(desk: Desk) -> None:
    """Issue 11, item 19: ``#close`` is never a reason to open a new ticket."""
    dan = "dan@customer.test"
    desk.send(dan, "support@example.com", "The printer on floor 2 is jammed.", subject="Printer")
    number = desk.ticket().number
    desk.send("ann@us.test", reply_to(desk, "ann@us.test"), "#assign me\n#close")
    assert desk.ticket().status is Status.CLOSED
    desk.send(dan, reply_to(desk, dan, 0), "#close\nThanks, all fine.")
    ticket = desk.ticket()
    assert (ticket.number, ticket.status) == (number, Status.CLOSED)


def test_a_departed_assignees_tickets_are_heard_by_their_group_then_the_supervisors(
    desk: Desk, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11, item 20: ``agent set --active false`` must not leave a customer unheard."""
    monkeypatch.setenv("HELPDESK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(settings.var_dir))
    eve = "eve@customer.test"
    desk.send(eve, "support@example.com", "My invoice shows the wrong address.", subject="Address")
    desk.send("ben@us.test", reply_to(desk, "ben@us.test"), "#assign me")
    left = CliRunner().invoke(main, ["agent", "set", "ben@us.test", "--active", "false"])
    assert left.exit_code == 0 and "inactive" in left.output
    listed = CliRunner().invoke(main, ["agent", "list"]).output
    assert "ben@us.test\tBen Baker\tagent\tinactive\tbilling" in listed
    heard = {a: len(desk.inbox(a)) for a in ("sue@us.test", "ada@us.test", "ann@us.test")}
    desk.send(eve, reply_to(desk, eve), "Any news? It is still the old street.")
    # billing has no other member: the supervisors and admins stand in, the other agents do not
    after = {a: len(desk.inbox(a)) for a in heard}
    assert after == {
        "sue@us.test": heard["sue@us.test"] + 1,
        "ada@us.test": heard["ada@us.test"] + 1,
        "ann@us.test": heard["ann@us.test"],
    }
    joined = CliRunner().invoke(main, ["agent", "set", "ann@us.test", "--group", "billing"])
    assert joined.exit_code == 0
    assert "ann@us.test" in CliRunner().invoke(main, ["group", "members", "billing"]).output
    desk.send(eve, reply_to(desk, eve), "Hello? Anyone?")
    assert len(desk.inbox("ann@us.test")) == heard["ann@us.test"] + 1  # now the group is heard
