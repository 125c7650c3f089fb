"""A runaway sender through the real pipeline: new tickets up to the hourly limit, the rest held
(kept, with the reason, unanswered); replies never limited; a replay after the hour opens them."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import ColumnElement, func, select

from gateway.cli import main
from gateway.intake import Arrival, Intake
from helpdesk.app.pipeline.context import Outcome
from helpdesk.app.runtime import App
from helpdesk.domain import tokens
from helpdesk.domain.vocabulary import BACKFILL_SOURCE, MailStatus
from storage.models import InboundMail, Outbox, Ticket
from tests.helpers import cli_env, mail, store_and_drain, store_raw
from workers.processor import drain

SENDER = "runaway@customer.test"
LIMIT = 3


def limited(app: App, limit: int = LIMIT) -> App:
    settings = app.settings.model_copy(update={"max_new_tickets_per_sender_hour": limit})
    return App(settings, app.engine, app.sessions, app.secret)


def new_mail(i: int, sender: str = SENDER) -> bytes:
    return mail(sender, subject=f"Alert {i}", body=f"Disk {i} is full.").as_bytes()


def outcomes(app: App) -> list[tuple[str, str]]:
    with app.sessions() as session:
        rows = session.execute(
            select(InboundMail.outcome, InboundMail.reason).order_by(InboundMail.id)
        )
        return [(outcome, reason) for outcome, reason in rows]


def count(app: App, table: type[object], where: ColumnElement[bool] | None = None) -> int:
    query = select(func.count()).select_from(table)
    with app.sessions() as session:
        return session.scalar(query if where is None else query.where(where)) or 0


def helpdesk(app: App, *args: str) -> str:
    """A ``helpdesk`` command with this test's limit in its environment."""
    env = {**cli_env(app.settings), "HELPDESK_MAX_NEW_TICKETS_PER_SENDER_HOUR": str(LIMIT)}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_past_the_limit_new_mail_is_held_in_one_batch_as_one_by_one(app: App) -> None:
    """The first three mails are stored together and taken in one unit of work (its tickets
    not yet written when the next mail is judged), the next two one at a time."""
    app = limited(app)
    for i in range(3):
        store_raw(app, new_mail(i), sender=SENDER)
    drain(app)
    store_and_drain(app, new_mail(3), sender=SENDER)
    store_and_drain(app, new_mail(4), sender=SENDER)
    found = outcomes(app)
    assert [o for o, _ in found] == ["new_ticket"] * 3 + ["quarantined"] * 2
    assert all(f"{SENDER} opened 3 new tickets in the last hour" in r for _, r in found[3:])
    assert count(app, Ticket) == 3
    assert count(app, Outbox, Outbox.recipient == SENDER) == 3  # the held are not acknowledged
    assert count(app, InboundMail, InboundMail.status == MailStatus.QUARANTINED) == 2


def test_others_and_replies_are_not_limited(app: App) -> None:
    app = limited(app)
    for i in range(LIMIT + 1):
        store_and_drain(app, new_mail(i), sender=SENDER)
    store_and_drain(app, new_mail(9, "calm@customer.test"), sender="calm@customer.test")
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
        assert ticket is not None
    token = tokens.Token(ticket.number, tokens.Party.CUSTOMER, ticket.customer_id)
    address = tokens.reply_address(app.secret, "support@example.com", token)
    reply = mail(SENDER, to=address, subject="Re: Alert 0", body="It is full again.")
    store_and_drain(app, reply.as_bytes(), to=(address,), sender=SENDER)
    found = [o for o, _ in outcomes(app)]
    assert found[LIMIT:] == ["quarantined", "new_ticket", "reply"]


def test_a_held_mail_replayed_after_the_hour_becomes_a_ticket(app: App) -> None:
    app = limited(app)
    for i in range(LIMIT + 1):
        store_and_drain(app, new_mail(i), sender=SENDER)
    output = helpdesk(app, "mail", "list")
    assert output.count("sender limit") == 1 and SENDER in output
    helpdesk(app, "mail", "replay", "--all-quarantined")  # within the hour: held again
    assert [o for o, _ in outcomes(app)][LIMIT:] == [Outcome.QUARANTINED.value]
    with app.sessions.begin() as session:  # the hour has passed
        for ticket in session.scalars(select(Ticket)):
            ticket.created_at -= timedelta(hours=2)
    helpdesk(app, "mail", "replay", "--all-quarantined")
    assert [o for o, _ in outcomes(app)] == [Outcome.NEW_TICKET.value] * (LIMIT + 1)
    assert count(app, Ticket) == LIMIT + 1


def test_an_imported_mailbox_is_not_a_flood(app: App) -> None:
    """``helpdesk imap backfill`` brings in years of one customer's mail at once."""
    app = limited(app)
    intake = Intake(app.engine)
    intake.start()
    try:
        for i in range(LIMIT + 2):
            arrival = Arrival(new_mail(i), SENDER, ("support@example.com",), BACKFILL_SOURCE)
            intake.submit(arrival).result(timeout=30)
    finally:
        intake.stop()
    drain(app)
    assert [o for o, _ in outcomes(app)] == [Outcome.NEW_TICKET.value] * (LIMIT + 2)
