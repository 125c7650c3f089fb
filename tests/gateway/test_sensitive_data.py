"""Card numbers and IBANs, by every path a mail's text takes, never reach storage or mail; the raw
mail keeps them, for audit. Each test would have leaked before masking moved to the decoding."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import MessageKind
from storage.base import Base
from storage.models import Customer, InboundRaw, Message
from tests.desk import Desk
from tests.helpers import mail
from tests.sink import Sink

CY = "cy@customer.test"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
MASKED_CARD = "************1111"
MASKED_IBAN = "DE****************3000"
SECRETS = ("4111111111111111", "DE89370400440532013000")
KEPT_AS_SENT = {"inbound_raws", "blobs"}  # the raw mail and attachments: the audit copy


def leaks(app: App, sink: Sink) -> list[str]:
    """Where a secret shows, in any form (spaces or dashes between its characters): each table
    but the raw mail's and each mail sent."""
    found = []
    with app.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in KEPT_AS_SENT:
                text = repr(session.execute(select(table)).all())
                found += [f"table {table.name}" for s in SECRETS if s in _compact(text)]
    for sent in sink.received:
        text = f"{sent.message['Subject']}\n{sent.text()}"
        found += [f"mail to {sent.recipients}" for s in SECRETS if s in _compact(text)]
    return found


def _compact(text: str) -> str:
    return re.sub(r"[\s-]", "", text).upper()


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    with Desk(app, sink) as running:
        running.send(CY, "support@example.com", "The app crashes on start.", subject="Crash")
        yield running


def as_agent(desk: Desk, name: str, body: str) -> None:
    desk.send(f"{name}@us.test", desk.agent_token(desk.ticket(), name), body)


def test_resolve_notes_and_references_never_reach_the_customer_nor_the_database(
    desk: Desk, app: App, sink: Sink
) -> None:
    """``#resolve`` notes are mailed to the customer; ``#ref`` is kept and shown."""
    as_agent(desk, "ann", f"#ref {CARD}")
    as_agent(desk, "ann", f"#resolve Refunded to {IBAN}, card {CARD} cancelled")
    ticket = desk.ticket()
    assert ticket.external_ref == MASKED_CARD
    assert ticket.resolution_notes == f"Refunded to {MASKED_IBAN}, card {MASKED_CARD} cancelled"
    resolved = desk.inbox(CY)[-1].text()
    assert MASKED_IBAN in resolved and MASKED_CARD in resolved
    assert leaks(app, sink) == []
    with app.sessions() as session:  # the raw mail, as it came
        raws = session.scalars(select(InboundRaw.raw)).all()
    assert any(CARD.encode() in raw for raw in raws)


def test_a_block_reason_is_masked_where_it_is_kept_and_where_it_is_said(
    desk: Desk, app: App, sink: Sink
) -> None:
    as_agent(desk, "sue", f"#block 7d stolen card {CARD}")
    with app.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.email == CY)).one()
    assert customer.block_reason == f"stolen card {MASKED_CARD}"
    desk.gateway._gateway.blocks.refresh(app.engine)
    with desk.gateway.smtp() as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail(CY, ["support@example.com"], mail(sender=CY).as_bytes())
    assert MASKED_CARD.encode() in refused.value.smtp_error
    assert leaks(app, sink) == []


def test_an_auto_replys_note_is_masked(desk: Desk, app: App, sink: Sink) -> None:
    """It was stored before the cleaning stage masked anything."""
    reply_to = str(desk.inbox(CY)[-1].message["Reply-To"])
    desk.send(
        CY,
        reply_to,
        f"I am away. For refunds use {IBAN} or card {CARD}.",
        subject=f"Out of office: card {CARD}",
        Auto_Submitted="auto-replied",
    )
    with app.sessions() as session:
        [note] = session.scalars(select(Message.body).where(Message.kind == MessageKind.SYSTEM))
    assert note.startswith("Automatic reply from") and MASKED_IBAN in note and MASKED_CARD in note
    assert leaks(app, sink) == []


def test_refusals_quote_the_subject_masked(desk: Desk, app: App, sink: Sink) -> None:
    """The customer's explanation of a mail that could not become a ticket, and the agent's
    notice of a mail in their name that was not applied, both quote its subject."""
    desk.send("dee@customer.test", "support@example.com", "", subject=f"Card {CARD}")
    [refused] = desk.inbox("dee@customer.test")
    assert f'"Card {MASKED_CARD}"' in refused.text()
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "sue"), "#close", subject=CARD)
    notice = desk.inbox("ann@us.test")[-1]
    assert "was NOT applied" in notice.text() and f"Subject: {MASKED_CARD}" in notice.text()
    assert leaks(app, sink) == []


def test_an_iban_whose_check_passes_is_masked_and_an_order_number_is_not(
    desk: Desk, app: App, sink: Sink
) -> None:
    order = "DE89370400440532013001"  # an IBAN's shape, one digit off: an order number
    desk.send("eve@customer.test", "support@example.com", f"Pay {IBAN}, not order {order}.")
    ticket = desk.ticket()
    assert ticket.description == f"Pay {MASKED_IBAN}, not order {order}."
    alert = desk.inbox("ann@us.test")[-1].text()
    assert ticket.number in alert and MASKED_IBAN in alert and order in alert
    assert leaks(app, sink) == []
