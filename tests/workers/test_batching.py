"""A batch of new tickets is one unit of work with a handful of flushes, not one per mail: a
look-up that flushes first (to see what this unit of work added) makes each mail pay for a
flush of everything before it, which once halved the pipeline's rate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from helpdesk.app.runtime import App
from helpdesk.domain.notices import Template
from storage.models import Outbox
from tests.helpers import mail, store_raw
from workers.processor import drain

MAILS = 20


def test_new_tickets_from_new_customers_share_their_flushes(app: App) -> None:
    for n in range(MAILS):
        raw = mail(sender=f"Customer {n} <c{n}@customer.test>", subject=f"Question {n}")
        store_raw(app, raw.as_bytes(), sender=f"c{n}@customer.test")
    flushes = []

    def counted(session: Session, _context: Any) -> None:
        flushes.append(session)

    event.listen(Session, "after_flush", counted)
    try:
        assert drain(app) == MAILS
    finally:
        event.remove(Session, "after_flush", counted)
    with app.sessions() as session:  # each was acknowledged, with its threading headers
        acks = session.query(Outbox).filter(Outbox.template == Template.CUSTOMER_ACK).all()
        assert len(acks) == MAILS and all(row.context.get("thread_index") for row in acks)
    assert len(flushes) <= MAILS // 2
