"""A reply whose parent is stored but still waiting is held, then joins the parent's ticket."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.app.pipeline.context import Outcome
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.models import InboundMail, Ticket
from tests.helpers import mail, store_raw
from workers.processor import drain, process_mail


def test_a_reply_waits_for_the_mail_it_answers(app: App) -> None:
    store_raw(app, mail(message_id="<parent@customer.test>").as_bytes())
    reply = mail(subject="Re: fire", body="It spreads.", in_reply_to="<parent@customer.test>")
    store_raw(app, reply.as_bytes())
    spool.move(app.engine)  # on SQLite the edge's spool holds them until the processor looks
    with app.sessions() as session:
        _, reply_id = session.scalars(select(InboundMail.id).order_by(InboundMail.id))
    held = process_mail(app, reply_id)  # as a second worker would, before the first commits
    assert held is not None and held.outcome is Outcome.HELD
    with app.sessions() as session:
        stored = session.get(InboundMail, reply_id)
        assert stored is not None and stored.status is MailStatus.RECEIVED
    drain(app)
    with app.sessions() as session:
        [ticket] = session.scalars(select(Ticket))
        mails = session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
        assert [m.ticket_id for m in mails] == [ticket.id, ticket.id]
        assert [m.outcome for m in mails] == ["new_ticket", "reply"]
