"""``helpdesk imap backfill`` against a real Dovecot: an old folder taken in oldest first,
threaded, telling no one, resumable, leaving the folder as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.imap import ImapPoller
from gateway.imap_backfill import Backfilled, backfill
from gateway.imap_session import ImapOptions, ImapTarget
from gateway.intake import Arrival, Intake
from helpdesk.app import sla
from helpdesk.app import tickets as ticket_ops
from helpdesk.app.pipeline import backfill_note, came
from helpdesk.app.pipeline.context import Envelope
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import BACKFILL_SOURCE, MailStatus, Priority, Status
from storage.models import Message, Ticket, Timer
from tests.dovecot import Dovecot
from tests.gateway.imap_support import (
    append_at,
    customer_mail,
    flags,
    outbox,
    running_dovecot,
    stored,
)
from tests.helpers import cli_env, mail, store_raw, tickets
from workers.processor import drain

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    yield from running_dovecot(tmp_path / "dovecot")


def old_thread(dovecot: Dovecot) -> None:
    """A question, its follow-up and another question, put in the folder out of order: the
    follow-up has the lowest UID but arrived a day after the question it answers."""
    question = customer_mail(1)
    follow_up = mail(
        sender="Customer 1 <customer1@customer.test>",
        subject="Re: Problem number 1",
        body="Any news on this?",
        message_id="<follow-up@customer.test>",
        in_reply_to="<problem-1@customer.test>",
    ).as_bytes()
    append_at(dovecot, "Archive", follow_up, DAY + timedelta(days=1))
    append_at(dovecot, "Archive", question, DAY)
    append_at(dovecot, "Archive", customer_mail(2), DAY + timedelta(days=2))


def run(
    dovecot: Dovecot, intake: Intake, app: App, since: date | None = None, limit: int = 10**8
) -> Backfilled:
    target, options = ImapTarget.from_url(dovecot.url), ImapOptions(max_message_bytes=limit)
    return backfill(target, "Archive", intake, app.engine, options, since)


def test_old_mail_is_threaded_as_it_arrived_and_nobody_is_told(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    old_thread(dovecot)
    before = flags(dovecot, "Archive")
    assert run(dovecot, intake, app) == Backfilled(seen=3, earlier=0, taken=3, too_large=0)
    assert [m.source for m in stored(app)] == [BACKFILL_SOURCE] * 3
    drain(app)
    first, second = tickets(app)
    assert (first.subject, second.subject) == ("Problem number 1", "Problem number 2")
    with app.sessions() as session:
        thread = select(Message.body).where(Message.ticket_id == first.id).order_by(Message.id)
        bodies = list(session.scalars(thread))
    assert len(bodies) == 2 and "Any news" in bodies[1]  # the follow-up, on its question
    assert outbox(app) == []  # no acknowledgement, no agent alert
    assert flags(dovecot, "Archive") == before  # read-only: not even \\Seen
    dovecot.append(customer_mail(3))  # new mail by the poller, for comparison, is answered
    ImapPoller(dovecot.url, intake, app.engine).poll_once()
    drain(app)
    assert any(rcpt == "customer3@customer.test" for _, rcpt in outbox(app))


def test_the_same_words_months_apart_are_two_mails(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    """Stored today, the second would have looked like the first sent twice within minutes."""
    for n, month in ((1, 0), (2, 3)):
        again = mail(
            sender="Customer 1 <customer1@customer.test>",
            subject="Printer jammed",
            body="The printer is jammed again.",
            message_id=f"<jam-{n}@customer.test>",
        ).as_bytes()
        append_at(dovecot, "Archive", again, DAY + timedelta(days=30 * month))
    assert run(dovecot, intake, app).taken == 2
    drain(app)
    assert [t.subject for t in tickets(app)] == ["Printer jammed", "Printer jammed"]


def test_since_leaves_older_mail_out(dovecot: Dovecot, app: App, intake: Intake) -> None:
    old_thread(dovecot)
    since = (DAY + timedelta(days=2)).date()
    assert run(dovecot, intake, app, since=since).taken == 1
    assert [m.from_address for m in stored(app)] == ["customer2@customer.test"]


def test_an_interrupted_backfill_resumes_where_it_stopped(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    for n in range(5):
        append_at(dovecot, "Archive", customer_mail(n), DAY + timedelta(hours=n))
    target, options = ImapTarget.from_url(dovecot.url), ImapOptions(fetch_bytes=1)
    done: list[int] = []

    def interrupted(count: int) -> None:
        done.append(count)
        if len(done) == 2:
            raise KeyboardInterrupt  # Ctrl-C, after the second batch was committed

    with pytest.raises(KeyboardInterrupt):
        backfill(target, "Archive", intake, app.engine, options, progressed=interrupted)
    assert len(stored(app)) == 2
    totals: list[int] = []
    resumed = backfill(target, "Archive", intake, app.engine, options, started=totals.append)
    assert resumed == Backfilled(seen=5, earlier=2, taken=3, too_large=0)
    assert totals == [3]
    froms = [m.from_address for m in stored(app)]
    assert froms == [f"customer{n}@customer.test" for n in range(5)]  # each once, in order


def test_a_mail_too_large_is_quarantined_not_left_out(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    append_at(dovecot, "Archive", mail(subject="Scan", body="x" * 6000).as_bytes(), DAY)
    assert run(dovecot, intake, app, limit=4000).too_large == 1
    drain(app)
    [kept] = stored(app)
    assert kept.status is MailStatus.QUARANTINED and "over the limit of 4000" in kept.reason
    assert outbox(app) == []


def test_the_command_line_backfills_and_a_second_run_finds_it_done(
    dovecot: Dovecot, app: App
) -> None:
    old_thread(dovecot)
    env = {**os.environ, **cli_env(app.settings), "HELPDESK_IMAP_URL": dovecot.url}
    env["HELPDESK_SUPPORT_ADDRESS"] = app.settings.support_address
    command = [sys.executable, "-m", "gateway", "imap", "backfill", "Archive"]
    since = ["--since", date(2026, 1, 1).isoformat()]
    first = subprocess.run(command + since, env=env, capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr.decode()
    assert b"3 mails in Archive: 3 stored now, 0 by an earlier run" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    assert b"3 mails in Archive: 0 stored now, 3 by an earlier run" in again.stdout
    drain(app)
    assert len(tickets(app)) == 2 and outbox(app) == []
    first, second = tickets(app)  # dated when they came (their INTERNALDATE), not at the import
    assert (first.created_at, first.updated_at) == (DAY, DAY + timedelta(days=1))
    assert second.created_at == second.updated_at == DAY + timedelta(days=2)
    assert message_dates(app, first.id) == [DAY, DAY + timedelta(days=1)]  # the follow-up's
    assert message_dates(app, second.id) == [DAY + timedelta(days=2)]
    with app.sessions() as session:
        assert session.scalars(select(Timer)).all() == []  # no SLA timer for old mail
    dues = [(t.first_response_due, t.next_response_due, t.resolution_due) for t in tickets(app)]
    assert dues == [(None, None, None)] * 2  # no targets: they would all be past
    assert all(sla.IMPORTED in t.tags for t in tickets(app))
    with app.sessions.begin() as session:  # a live change of priority brings none either
        ticket = session.get(Ticket, first.id)
        assert ticket is not None
        changes: dict[str, object] = {"priority": Priority.URGENT}
        ticket_ops.update(session, ticket, changes, ticket_ops.Actor.system(), datetime.now(UTC))
    [urgent] = [t for t in tickets(app) if t.id == first.id]
    assert (urgent.priority, urgent.first_response_due, urgent.resolution_due) == (
        Priority.URGENT,
        None,
        None,
    )
    missing = subprocess.run([*command[:-1], "Nowhere"], env=env, capture_output=True, timeout=60)
    assert missing.returncode == 1 and b"Nowhere" in missing.stderr


def message_dates(app: App, ticket_id: int) -> list[datetime]:
    with app.sessions() as session:
        query = select(Message.created_at).where(Message.ticket_id == ticket_id)
        return list(session.scalars(query.order_by(Message.id)))


def test_without_a_plausible_internaldate_the_date_header_dates_the_mail(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    """1970 is what some servers give a mail whose arrival they do not know; a Date header is
    believed only between 1990 and now; else the mail is dated at its import."""
    unknown, later = datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=400)
    sent = "Tue, 14 May 2019 08:30:00 +0200"
    append_at(dovecot, "Archive", customer_mail(1, date=sent), unknown)
    append_at(dovecot, "Archive", customer_mail(2, date=format_datetime(later)), later)
    append_at(dovecot, "Archive", customer_mail(3, date="Mon, 1 Jan 1979 00:00:00 +0000"), later)
    before = datetime.now(UTC).replace(microsecond=0)  # as stored
    assert run(dovecot, intake, app).taken == 3
    drain(app)
    first, *dated_now = tickets(app)
    assert first.created_at == datetime(2019, 5, 14, 6, 30, tzinfo=UTC)
    assert message_dates(app, first.id) == [first.created_at]
    assert all(before <= t.created_at <= datetime.now(UTC) for t in dated_now)
    assert len(dated_now) == 2


def test_the_date_line_counts_only_on_backfilled_mail_and_only_first() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    note = backfill_note(DAY)
    header = mail(date="Tue, 14 May 2019 08:30:00 -0000").as_bytes()

    def dated(raw: bytes, source: str = BACKFILL_SOURCE) -> datetime:
        return came(Envelope(1, raw, "a@customer.test", (), now, source), now)[0]

    assert dated(note + header) == DAY
    assert dated(header) == datetime(2019, 5, 14, 8, 30, tzinfo=UTC)  # -0000: UTC
    assert dated(header + note) == datetime(2019, 5, 14, 8, 30, tzinfo=UTC)  # not first: no
    assert dated(mail(date="someday").as_bytes()) == now
    assert dated(mail().as_bytes()) == now


def store_old_reply(app: App, n: int, when: datetime) -> None:
    """An old reply of the customer's to their first mail, stored as the backfill stores it."""
    old = mail(message_id=f"<old{n}@customer.test>", body=f"Still broken ({n}).")
    old["In-Reply-To"] = "<first@customer.test>"
    raw = backfill_note(when) + old.as_bytes()
    intake = Intake(app.engine)
    intake.start()
    try:
        arrival = Arrival(raw, "alice@customer.test", ("support@example.com",), BACKFILL_SOURCE)
        intake.submit(arrival).result(timeout=30)
    finally:
        intake.stop()
    drain(app)


def test_old_mail_on_a_live_ticket_starts_no_clock_and_a_closed_one_links_an_imported(
    app: App,
) -> None:
    """A backfilled reply leaves a live ticket's response clock alone; one to a closed ticket
    opens a linked ticket, which is imported like any other (no due dates)."""
    store_raw(app, mail(message_id="<first@customer.test>", body="My printer broke.").as_bytes())
    drain(app)
    [live] = tickets(app)
    with app.sessions.begin() as session:  # answered: a customer's reply would start the clock
        ticket = session.get(Ticket, live.id)
        assert ticket is not None and ticket.resolution_due is not None
        ticket.first_responded_at = datetime.now(UTC)
    store_old_reply(app, 1, DAY)
    [after] = tickets(app)
    assert after.next_response_due is None  # before: the old date plus the target, long past
    assert after.updated_at == live.updated_at  # not set back to the old mail's date
    with app.sessions.begin() as session:
        ticket = session.get(Ticket, live.id)
        assert ticket is not None
        ticket.status = Status.CLOSED
    store_old_reply(app, 2, DAY + timedelta(days=1))
    linked = [t for t in tickets(app) if t.id != live.id]
    assert len(linked) == 1 and sla.IMPORTED in linked[0].tags
    assert (linked[0].first_response_due, linked[0].resolution_due) == (None, None)
